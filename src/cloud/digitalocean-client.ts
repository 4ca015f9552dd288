// dots-wrapper with what it lacks: retries with backoff on 429, 5xx and network errors that honour
// DigitalOcean's retry-after and ratelimit-reset, a pause when the hourly quota is spent, and errors
// turned into CloudErrors worded for a person. Logs never carry the token or request bodies.
import { createApiClient } from "dots-wrapper";
import pRetry from "p-retry";
import type { Logger } from "../shared/logger.js";
import { abortableSleep } from "../shared/abortable-sleep.js";
import {
  CloudError,
  detailsOf,
  isAmbiguous,
  isAxiosLike,
  isRetryable,
  retryHintMs,
  toCloudError,
  waitHintFromHeaders,
} from "./digitalocean-errors.js";

export type DotsApi = ReturnType<typeof createApiClient>;

export interface RetryPolicy {
  /** Further attempts after the first (default 5). */
  retries: number;
  /** First backoff delay when DigitalOcean gives no hint (default 1 s); doubles each time, with jitter. */
  minDelayMs: number;
  maxDelayMs: number;
  /** Longest wait a retry-after/ratelimit-reset hint may impose before we give up instead (default 120 s). */
  maxHintWaitMs: number;
  /** How long one attempt may wait for its answer before it counts as unanswered and is retried (default 30 s). */
  attemptTimeoutMs: number;
  /**
   * How long DigitalOcean may take to show a new droplet in list calls (digitalocean/api-v2#202; default 10 s). A
   * create whose answer was lost is repeated only after looking for its droplet this long.
   */
  listLagMs: number;
}

export interface DigitalOceanClientOptions {
  token: string;
  /** Base URL including /v2, e.g. https://api.digitalocean.com/v2. */
  apiUrl: string;
  logger: Logger;
  retry?: Partial<RetryPolicy>;
}

export interface CallOptions<T> {
  /** False for calls that must not be repeated blindly. Default true. */
  retry?: boolean;
  /**
   * For non-idempotent calls (create): after a failure that may have taken effect (5xx, no answer), called
   * before the next attempt; a value it returns is taken as the result instead of repeating the call.
   */
  recover?: () => Promise<T | undefined>;
  signal?: AbortSignal;
}

interface ResponseLike<T> {
  data: T;
  headers: object;
}

export interface DigitalOceanClient {
  readonly apiUrl: string;
  readonly policy: Readonly<RetryPolicy>;
  /** Runs one API call through the retry policy; `operation` words the error ("creating the droplet"). */
  call<T>(operation: string, fn: (api: DotsApi) => Promise<ResponseLike<T>>, opts?: CallOptions<T>): Promise<T>;
}

const DEFAULT_RETRY: RetryPolicy = {
  retries: 5,
  minDelayMs: 1000,
  maxDelayMs: 30_000,
  maxHintWaitMs: 120_000,
  attemptTimeoutMs: 30_000,
  listLagMs: 10_000,
};

// eslint-disable-next-line max-lines-per-function -- a closure module: short functions sharing one API client and its rate-limit state
export function createDigitalOceanClient(opts: DigitalOceanClientOptions): DigitalOceanClient {
  const apiUrl = opts.apiUrl.replace(/\/+$/, "");
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...opts.retry };
  const api = createApiClient({ token: opts.token, endpoint: apiUrl, requestTimeoutInMs: policy.attemptTimeoutMs });
  const log = opts.logger.child({ component: "digitalocean" });
  // When a response says the hourly quota is spent, later calls wait for ratelimit-reset instead of collecting 429s.
  let pausedUntil = 0;

  const noteQuota = (headers: object) => {
    const hint = waitHintFromHeaders(headers as Record<string, unknown>, Date.now(), false);
    pausedUntil = hint === null ? 0 : Date.now() + hint;
  };

  const backoffMs = (retryNumber: number) => {
    const base = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** (retryNumber - 1));
    return Math.round(base * (0.75 + Math.random() * 0.5));
  };

  async function call<T>(
    operation: string,
    fn: (api: DotsApi) => Promise<ResponseLike<T>>,
    callOpts: CallOptions<T> = {},
  ): Promise<T> {
    let attempts = 0;
    let maybeApplied = false;
    const attempt = async (): Promise<T> => {
      if (maybeApplied && callOpts.recover) {
        const found = await callOpts.recover();
        if (found !== undefined) {
          log.info({ operation }, "an earlier attempt had succeeded after all; using its result");
          return found;
        }
      }
      const wait = pausedUntil - Date.now();
      if (wait > policy.maxHintWaitMs) {
        throw new CloudError(
          `DigitalOcean's hourly request quota for this token is spent until ${new Date(pausedUntil).toISOString()}, ` +
            `so ${operation} was not attempted; try again then, and check nothing else uses the same DO_TOKEN.`,
          "rate_limited",
          { operation },
        );
      }
      if (wait > 0) {
        log.warn({ operation, waitMs: wait }, "DigitalOcean hourly request quota spent; waiting for ratelimit-reset");
        await abortableSleep(wait, callOpts.signal);
      }
      attempts++;
      try {
        const res = await fn(api);
        noteQuota(res.headers);
        return res.data;
      } catch (err) {
        if (isAxiosLike(err) && err.response?.headers) noteQuota(err.response.headers);
        maybeApplied = maybeApplied || isAmbiguous(err);
        throw err;
      }
    };
    try {
      return await pRetry(attempt, {
        retries: callOpts.retry === false ? 0 : policy.retries,
        minTimeout: 0, // the waiting happens in onFailedAttempt, where DigitalOcean's hints are known
        factor: 1,
        signal: callOpts.signal,
        shouldRetry: ({ error }) => isRetryable(error),
        onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
          if (!isRetryable(error) || retriesLeft === 0 || callOpts.retry === false) return;
          const hint = retryHintMs(error);
          if (hint !== null && hint > policy.maxHintWaitMs) {
            const resetAt = new Date(Date.now() + hint).toISOString();
            throw new CloudError(
              `DigitalOcean's rate limit stopped ${operation}: it asks to wait until ${resetAt}; ` +
                "try again then, and check nothing else uses the same DO_TOKEN.",
              "rate_limited",
              detailsOf(error, operation),
            );
          }
          const waitMs = hint ?? backoffMs(attemptNumber);
          const d = detailsOf(error, operation);
          log.warn(
            { operation, status: d.status, doId: d.doId, requestId: d.requestId, networkCode: d.networkCode, attempt: attemptNumber, waitMs },
            "DigitalOcean call failed; retrying",
          );
          await abortableSleep(waitMs, callOpts.signal);
        },
      });
    } catch (err) {
      if (callOpts.signal?.aborted) throw callOpts.signal.reason;
      const cloudErr = toCloudError(err, operation, apiUrl, attempts, policy.attemptTimeoutMs);
      // A 404 is often the answer hoped for (a destroyed droplet is gone); callers decide whether it is a problem.
      log[cloudErr.kind === "not_found" ? "debug" : "warn"](
        { operation, kind: cloudErr.kind, status: cloudErr.details.status, doId: cloudErr.details.doId, attempts },
        "DigitalOcean call failed",
      );
      throw cloudErr;
    }
  }

  return { apiUrl, policy, call };
}

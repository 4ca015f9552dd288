// Turns what dots-wrapper throws (AxiosError with DigitalOcean's {id, message, request_id} body in
// err.response.data) into a CloudError whose message a person can act on, and reads the retry hints
// (retry-after, ratelimit-reset) that DigitalOcean sends with a 429.

export type CloudErrorKind =
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "rate_limited"
  | "unprocessable"
  | "conflict"
  | "server"
  | "network"
  | "timeout"
  | "invalid_response";

/** What we keep of a failed HTTP exchange: never the request config, which carries the token. */
export interface CloudErrorDetails {
  operation: string;
  status?: number;
  /** DigitalOcean's error id, e.g. "unprocessable_entity". */
  doId?: string;
  doMessage?: string;
  requestId?: string;
  /** The rest of the error body (e.g. available_regions on a capacity 422). */
  body?: Record<string, unknown>;
  networkCode?: string;
}

export class CloudError extends Error {
  override readonly name = "CloudError";
  constructor(
    message: string,
    readonly kind: CloudErrorKind,
    readonly details: CloudErrorDetails,
  ) {
    super(message);
  }
}

interface AxiosLikeError {
  isAxiosError: true;
  code?: string;
  message: string;
  response?: { status: number; data?: unknown; headers?: Record<string, unknown> };
}

export function isAxiosLike(err: unknown): err is AxiosLikeError {
  return typeof err === "object" && err !== null && (err as { isAxiosError?: unknown }).isAxiosError === true;
}

/** 429, 5xx and failures to get any answer are worth another try; everything else will fail the same way. */
export function isRetryable(err: unknown): boolean {
  if (!isAxiosLike(err)) return false;
  const status = err.response?.status;
  if (status === undefined) return true;
  return status === 429 || status >= 500;
}

/** A failure after which the request may or may not have taken effect (the create may have happened). */
export function isAmbiguous(err: unknown): boolean {
  if (!isAxiosLike(err)) return false;
  const status = err.response?.status;
  return status === undefined || status >= 500;
}

/**
 * How long DigitalOcean asked us to wait, in ms: `retry-after` (seconds or an HTTP date) on a 429, else
 * `ratelimit-reset` (epoch seconds) when `ratelimit-remaining` is 0. Null when there is no hint.
 */
export function retryHintMs(err: unknown, now = Date.now()): number | null {
  if (!isAxiosLike(err) || err.response?.status !== 429) return null;
  return waitHintFromHeaders(err.response.headers ?? {}, now, true);
}

export function waitHintFromHeaders(headers: Record<string, unknown>, now: number, limited: boolean): number | null {
  const h = (name: string) => {
    const v = headers[name] ?? headers[name.toLowerCase()];
    return typeof v === "string" || typeof v === "number" ? String(v) : undefined;
  };
  const retryAfter = h("retry-after");
  if (limited && retryAfter !== undefined) {
    if (/^\d+(\.\d+)?$/.test(retryAfter.trim())) return Math.round(Number(retryAfter) * 1000);
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const remaining = h("ratelimit-remaining");
  const reset = h("ratelimit-reset");
  if (remaining !== undefined && Number(remaining) <= 0 && reset !== undefined && /^\d+$/.test(reset)) {
    return Math.max(0, Number(reset) * 1000 - now);
  }
  return null;
}

export function detailsOf(err: unknown, operation: string): CloudErrorDetails {
  if (!isAxiosLike(err)) return { operation };
  const data = err.response?.data;
  const body = data && typeof data === "object" && !Array.isArray(data) ? (data as Record<string, unknown>) : undefined;
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  return {
    operation,
    status: err.response?.status,
    doId: str(body?.id),
    doMessage: str(body?.message),
    requestId: str(body?.request_id) ?? str(err.response?.headers?.["x-request-id"]),
    body,
    networkCode: err.response ? undefined : err.code,
  };
}

/** A CloudError for any failure of `operation` ("creating the droplet", "listing sizes", ...). */
export function toCloudError(err: unknown, operation: string, apiUrl: string, attempts = 1, timeoutMs?: number): CloudError {
  if (err instanceof CloudError) return err;
  if (!isAxiosLike(err)) {
    return new CloudError(`DigitalOcean call failed while ${operation}: ${(err as Error)?.message ?? String(err)}`, "invalid_response", {
      operation,
    });
  }
  const d = detailsOf(err, operation);
  const ref = d.requestId ? ` (request id ${d.requestId})` : "";
  const tried = attempts > 1 ? ` after ${attempts} attempts` : "";
  const said = d.doMessage ? `: ${d.doMessage}` : "";
  if (d.status === undefined) {
    const timeout = err.code === "ECONNABORTED" || err.code === "ETIMEDOUT";
    if (timeout && timeoutMs !== undefined) {
      return new CloudError(
        `DigitalOcean did not answer within ${formatSeconds(timeoutMs)} while ${operation}${tried}: it may be having ` +
          "trouble (status.digitalocean.com shows incidents), or this machine's network is slow; try again in a few minutes.",
        "timeout",
        d,
      );
    }
    return new CloudError(
      `Could not reach DigitalOcean at ${apiUrl} while ${operation}${tried} (${err.code ?? err.message}): ` +
        "check this machine's network and DO_API_URL.",
      timeout ? "timeout" : "network",
      d,
    );
  }
  const s = d.status;
  if (s === 401) {
    return new CloudError(
      `DigitalOcean rejected the API token while ${operation} (401${said}): put a valid personal access token ` +
        "with read and write scope in DO_TOKEN (cloud.digitalocean.com → API → Tokens).",
      "unauthorized",
      d,
    );
  }
  if (s === 403) {
    return new CloudError(
      `DigitalOcean refused ${operation} (403${said}): the token in DO_TOKEN lacks the scope for it; ` +
        "create one with read and write scope.",
      "forbidden",
      d,
    );
  }
  if (s === 404) return new CloudError(`DigitalOcean has no such resource (404) while ${operation}${ref}.`, "not_found", d);
  if (s === 429) {
    return new CloudError(
      `DigitalOcean's rate limit stopped ${operation}${tried}${ref}: it allows 250 requests a minute and 5,000 an ` +
        "hour per token; wait a few minutes, and check nothing else uses the same DO_TOKEN.",
      "rate_limited",
      d,
    );
  }
  if (s === 422) return new CloudError(`DigitalOcean refused ${operation}${said}${ref}.`, "unprocessable", d);
  // E.g. deleting a volume that is still attached: "A volume that's attached to a Droplet cannot be deleted."
  if (s === 409) return new CloudError(`DigitalOcean refused ${operation} for now (409${said})${ref}.`, "conflict", d);
  if (s >= 500) {
    return new CloudError(
      `DigitalOcean had a server error (${s}${said}) while ${operation}${tried}${ref}: try again in a few minutes ` +
        "(status.digitalocean.com shows incidents).",
      "server",
      d,
    );
  }
  return new CloudError(`DigitalOcean answered ${s}${said} while ${operation}${ref}.`, "invalid_response", d);
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

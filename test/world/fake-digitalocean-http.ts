// HTTP plumbing for the fake DigitalOcean API: error bodies, pagination, rate-limit bookkeeping and
// injectable faults, each shaped as in the OpenAPI spec (shared/do-openapi.yaml: components/schemas/error,
// pagination, meta, headers ratelimit-*).
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

/** A fault served instead of (or before) the real answer of an endpoint. */
export type FakeFault =
  | { status: 429; retryAfterSeconds?: number; quotaResetSeconds?: number; message?: string }
  | { status: 500 | 502 | 503 | 504; message?: string; applied?: boolean }
  | { status: 422; message?: string; id?: string; availableRegions?: string[] }
  | { delayMs: number; lost?: boolean }
  | { heldUntil: Promise<unknown> }
  | { disconnect: true; applied?: boolean };
// `applied: true` handles the request first (a droplet does get created) and only then fails or hangs up:
// the answer is lost, not the effect, as when a gateway times out behind a working backend.
// `delayMs` holds the answer that long and then handles the request, as a slow backend does (a client that gave up
// meanwhile never hears that its droplet was created); with `lost: true` it then hangs up without handling it.
// `heldUntil` holds the request until the promise settles and then handles it: a create the backend carries out only
// when the test says so (after the client gave up on it, after its job failed), whatever the machine's speed.
// `quotaResetSeconds` on a 429 says the hourly quota is spent: ratelimit-remaining 0 and ratelimit-reset that far ahead.

/** What a fault predicate sees of a request. */
export interface FaultRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The parsed JSON body of a POST or PUT. */
  body: unknown;
}

export type FaultPattern = string | RegExp | ((req: FaultRequest) => boolean);

export interface FaultRule {
  /**
   * "GET /v2/droplets/*" (one `*` per path segment, method optional), a RegExp on "GET /v2/droplets/123", or a
   * predicate on the request (to aim at one job's droplet among many: its id, its create's name, its tag's list).
   */
  pattern: FaultPattern;
  fault: FakeFault;
  /** How many more requests it hits. */
  remaining: number;
  /** How many requests it has hit so far. */
  hits: number;
}

export function faultMatcher(pattern: FaultPattern): (req: FaultRequest) => boolean {
  if (typeof pattern === "function") return pattern;
  if (pattern instanceof RegExp) return ({ method, path }) => pattern.test(`${method} ${path}`);
  const m = /^(GET|POST|PUT|PATCH|DELETE|HEAD)\s+(.*)$/i.exec(pattern.trim());
  const wantMethod = m ? m[1]!.toUpperCase() : null;
  const glob = (m ? m[2]! : pattern).trim().replace(/\/+$/, "");
  const re = new RegExp(
    "^" + glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]+") + "/?$",
  );
  return ({ method, path }) => (wantMethod === null || wantMethod === method) && re.test(path);
}

export interface RateLimitOptions {
  perHour: number;
  perMinute: number;
}

/** DigitalOcean's two sliding windows: 5,000 requests an hour and 250 a minute per token. */
export class RateLimiter {
  private readonly stamps: number[] = [];
  constructor(private readonly limits: RateLimitOptions) {}

  /** Records a request; returns the seconds to wait if it is over a limit (and does not count it). */
  take(now = Date.now()): { retryAfterSeconds: number } | null {
    while (this.stamps.length > 0 && this.stamps[0]! <= now - 3_600_000) this.stamps.shift();
    const lastMinute = this.stamps.filter((t) => t > now - 60_000);
    if (lastMinute.length >= this.limits.perMinute) {
      return { retryAfterSeconds: Math.max(1, Math.ceil((lastMinute[0]! + 60_000 - now) / 1000)) };
    }
    if (this.stamps.length >= this.limits.perHour) {
      return { retryAfterSeconds: Math.max(1, Math.ceil((this.stamps[0]! + 3_600_000 - now) / 1000)) };
    }
    this.stamps.push(now);
    return null;
  }

  headers(now = Date.now()): Record<string, string> {
    const oldest = this.stamps[0] ?? now;
    return {
      "ratelimit-limit": String(this.limits.perHour),
      "ratelimit-remaining": String(Math.max(0, this.limits.perHour - this.stamps.length)),
      // Epoch seconds when the oldest counted request leaves the hourly window.
      "ratelimit-reset": String(Math.ceil((oldest + 3_600_000) / 1000)),
    };
  }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const notFound = () => new ApiError(404, "not_found", "The resource you were accessing could not be found.");
export const unprocessable = (message: string, extra: Record<string, unknown> = {}) =>
  new ApiError(422, "unprocessable_entity", message, extra);

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const requestId = randomUUID();
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "x-request-id": requestId,
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError, headers: Record<string, string>): void {
  const requestId = randomUUID();
  res.writeHead(err.status, {
    "content-type": "application/json; charset=utf-8",
    "x-request-id": requestId,
    ...headers,
    ...err.headers,
  });
  res.end(JSON.stringify({ id: err.id, message: err.message, request_id: requestId, ...err.extra }));
}

export async function readJsonBody(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw new ApiError(413, "request_entity_too_large", "The request body is too large.");
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, "bad_request", "The request body is not valid JSON.");
  }
}

/**
 * One page of a list, with `links.pages` (first/prev/next/last as absolute URLs keeping the other query
 * parameters) and `meta.total`, as DigitalOcean returns them. per_page defaults to 20 and is capped at 200.
 */
export function paginate<T>(
  key: string,
  items: T[],
  url: URL,
  publicBase: string,
): Record<string, unknown> {
  const perPage = clampInt(url.searchParams.get("per_page"), 20, 1, 200);
  const page = clampInt(url.searchParams.get("page"), 1, 1, Number.MAX_SAFE_INTEGER);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const link = (p: number) => {
    const u = new URL(publicBase + url.pathname.replace(/^\/v2/, ""));
    for (const [k, v] of url.searchParams) if (k !== "page" && k !== "per_page") u.searchParams.set(k, v);
    u.searchParams.set("page", String(p));
    u.searchParams.set("per_page", String(perPage));
    return u.toString();
  };
  const pages: Record<string, string> = {};
  if (page > 1) {
    pages.first = link(1);
    pages.prev = link(Math.min(page - 1, last));
  }
  if (page < last) {
    pages.last = link(last);
    pages.next = link(page + 1);
  }
  return {
    [key]: items.slice((page - 1) * perPage, page * perPage),
    links: Object.keys(pages).length > 0 ? { pages } : {},
    meta: { total: items.length },
  };
}

function clampInt(raw: string | null, fallback: number, min: number, max: number): number {
  if (raw === null || !/^\d+$/.test(raw)) return fallback;
  return Math.min(max, Math.max(min, Number(raw)));
}

/** The answer an injected fault gives, as an ApiError (or null for faults that only delay or cut). */
export function faultError(fault: FakeFault): ApiError | null {
  if ("delayMs" in fault || "disconnect" in fault || "heldUntil" in fault) return null;
  if (fault.status === 429) {
    const headers: Record<string, string> = {};
    if (fault.retryAfterSeconds !== undefined) headers["retry-after"] = String(fault.retryAfterSeconds);
    if (fault.quotaResetSeconds !== undefined) {
      headers["ratelimit-remaining"] = "0";
      headers["ratelimit-reset"] = String(Math.ceil(Date.now() / 1000 + fault.quotaResetSeconds));
    }
    return new ApiError(429, "too_many_requests", fault.message ?? "API rate limit exceeded.", {}, headers);
  }
  if (fault.status === 422) {
    const extra = fault.availableRegions ? { available_regions: fault.availableRegions } : {};
    return new ApiError(422, fault.id ?? "unprocessable_entity", fault.message ?? "Size is not available in this region.", extra);
  }
  return new ApiError(fault.status, "server_error", fault.message ?? "Unexpected server-side error");
}

// The download server: a job's files at signed, expiring URLs (Range, HEAD, conditional GET via `send`), an index page, /healthz.
import http from "node:http";
import type { AddressInfo } from "node:net";
import send from "send";
import type { Logger } from "../shared/logger.js";
import { attachmentDisposition } from "./content-disposition.js";
import { listJobFiles, resolveJobFile } from "./job-files.js";
import { renderJobIndexPage } from "./job-index-page.js";
import { createLinkSigner, isSafeSegment, JOB_ID_PATTERN, linkPath, relPathSegments, type LinkSigner } from "./link-signer.js";

export interface DownloadServerOptions {
  /** Absolute directory; a job's files live under <filesRoot>/<jobId>/. */
  filesRoot: string;
  /** Where users reach this server, e.g. https://files.example.com (a reverse proxy must strip any path prefix). */
  publicBaseUrl: string;
  signingKey: string;
  linkTtlMs: number;
  logger: Logger;
  now?: () => number;
}

export interface JobLinks {
  index: string;
  files: { path: string; url: string }[];
  expiresAt: Date;
}

export interface DownloadServer {
  listen(host: string, port: number): Promise<{ port: number }>;
  close(): Promise<void>;
  /** Signed links for a job's index page and files (relative '/'-separated paths), all expiring together. */
  signJobLinks(jobId: string | number, relPaths: string[]): JobLinks;
}

interface Ctx {
  opts: DownloadServerOptions;
  signer: LinkSigner;
  now: () => number;
  baseUrl: string;
  /** The public base URL's path (e.g. "/files"), accepted in front of every route in case a proxy keeps it. */
  basePath: string;
}

export function createDownloadServer(opts: DownloadServerOptions): DownloadServer {
  const now = opts.now ?? Date.now;
  const baseUrl = opts.publicBaseUrl.replace(/\/+$/, "");
  const basePath = new URL(baseUrl).pathname.replace(/\/+$/, "");
  const ctx: Ctx = { opts, signer: createLinkSigner(opts.signingKey), now, baseUrl, basePath };
  const server = http.createServer((req, res) => {
    handle(ctx, req, res).catch((err: unknown) => {
      opts.logger.error({ err, path: pathOnly(req.url) }, "download server failed to answer a request");
      if (!res.headersSent) reply(res, 500, "Internal error.");
      else res.destroy();
    });
  });
  return {
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          const actual = (server.address() as AddressInfo).port;
          opts.logger.info({ host, port: actual }, "download server listening");
          resolve({ port: actual });
        });
      }),
    close: () =>
      new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    signJobLinks: (jobId, relPaths) => signJobLinks(ctx, String(jobId), relPaths),
  };
}

function signJobLinks(ctx: Ctx, jobId: string, relPaths: string[]): JobLinks {
  if (!JOB_ID_PATTERN.test(jobId)) throw new Error(`cannot sign links for job id ${JSON.stringify(jobId)}: use letters, digits, '-' or '_'`);
  const expiresAtSec = Math.floor((ctx.now() + ctx.opts.linkTtlMs) / 1000);
  const files = relPaths.map((p) => {
    if (relPathSegments(p) === null) throw new Error(`cannot sign a link for ${JSON.stringify(p)}: not a plain relative path inside the job`);
    return { path: p, url: signedUrl(ctx, jobId, p, expiresAtSec) };
  });
  return { index: signedUrl(ctx, jobId, "", expiresAtSec), files, expiresAt: new Date(expiresAtSec * 1000) };
}

function signedUrl(ctx: Ctx, jobId: string, relPath: string, expiresAtSec: number): string {
  const sig = ctx.signer.sign(jobId, relPath, expiresAtSec);
  return `${ctx.baseUrl}${linkPath(jobId, relPath)}?e=${expiresAtSec}&s=${sig}`;
}

/** The request path without its query string, which holds the signature and must never be logged. */
function pathOnly(url: string | undefined): string {
  return (url ?? "/").split("?")[0] ?? "/";
}

async function handle(ctx: Ctx, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const fullPath = pathOnly(req.url);
  const rawPath = ctx.basePath !== "" && fullPath.startsWith(ctx.basePath + "/") ? fullPath.slice(ctx.basePath.length) : fullPath;
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    return reply(res, 405, "Only GET and HEAD are supported.");
  }
  if (rawPath === "/healthz") return reply(res, 200, "ok");
  // The raw path is split before decoding, so an encoded '/' or '..' can never become a separator.
  const parts = rawPath.split("/");
  if (parts[1] !== "d" || parts.length < 4) return reply(res, 404, "Not found.");
  const decoded = parts.slice(2).map(safeDecode);
  const [jobId, ...segments] = decoded;
  if (jobId === undefined || jobId === null || !JOB_ID_PATTERN.test(jobId)) return refuse(ctx, res, 404, "bad job id", rawPath);
  const isIndex = segments.length === 1 && segments[0] === "";
  if (!isIndex && !segments.every((s): s is string => s !== null && isSafeSegment(s))) {
    return refuse(ctx, res, 403, "unsafe path", rawPath);
  }
  const relPath = isIndex ? "" : (segments as string[]).join("/");
  const query = new URLSearchParams((req.url ?? "").slice(fullPath.length + 1));
  const expiresAtSec = Number(query.get("e") ?? "NaN");
  const verdict = ctx.signer.check(jobId, relPath, expiresAtSec, query.get("s") ?? "", ctx.now());
  if (verdict === "bad-signature") return refuse(ctx, res, 403, "bad signature", rawPath);
  if (verdict === "expired") return refuse(ctx, res, 410, "expired", rawPath);
  if (isIndex) return serveIndex(ctx, res, req.method === "HEAD", jobId, expiresAtSec);
  return serveFile(ctx, req, res, jobId, segments as string[]);
}

function safeDecode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

const REFUSALS: Record<number, string> = {
  403: "This download link is not valid. Ask the bot for a fresh link.",
  404: "Not found.",
  410: "This download link has expired. Ask the bot for a fresh link.",
};

function refuse(ctx: Ctx, res: http.ServerResponse, status: number, reason: string, rawPath: string): void {
  ctx.opts.logger.info({ status, reason, path: rawPath }, "download refused");
  reply(res, status, REFUSALS[status] ?? "Refused.");
}

function reply(res: http.ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = `${message}\n`;
  res.writeHead(status, {
    ...headers,
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
  });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

async function serveIndex(ctx: Ctx, res: http.ServerResponse, head: boolean, jobId: string, expiresAtSec: number): Promise<void> {
  const files = await listJobFiles(ctx.opts.filesRoot, jobId);
  if (files === null) return refuse(ctx, res, 404, "no such job", `/d/${jobId}/`);
  // The page's links share the index link's expiry: opening the index never extends access.
  const entries = files.map((f) => ({ ...f, url: signedUrl(ctx, jobId, f.relPath, expiresAtSec) }));
  const body = renderJobIndexPage({ jobId, entries, expiresAt: new Date(expiresAtSec * 1000) });
  res.writeHead(200, {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "Cache-Control": "no-store",
  });
  res.end(head ? undefined : body);
}

async function serveFile(ctx: Ctx, req: http.IncomingMessage, res: http.ServerResponse, jobId: string, segments: string[]): Promise<void> {
  const relPath = segments.join("/");
  const found = await resolveJobFile(ctx.opts.filesRoot, jobId, segments);
  if (!found.ok) return refuse(ctx, res, found.reason === "symlink" ? 403 : 404, found.reason, `/d/${jobId}/${relPath}`);
  const fileName = segments[segments.length - 1] ?? "download";
  // `send` decodes its path, so it gets the segments re-encoded and the real job directory as root.
  const stream = send(req, "/" + segments.map(encodeURIComponent).join("/"), {
    root: found.jobDir,
    dotfiles: "allow",
    index: false,
    etag: true,
    lastModified: true,
    cacheControl: false,
  });
  stream.on("headers", (r: http.ServerResponse) => {
    r.setHeader("Content-Disposition", attachmentDisposition(fileName));
    r.setHeader("Cache-Control", "private, no-transform");
  });
  stream.on("directory", () => refuse(ctx, res, 404, "directory", relPath));
  stream.on("error", (err: { status?: number; headers?: Record<string, string> }) => {
    const status = err.status ?? 500;
    if (res.headersSent) return void res.destroy();
    const message = status === 416 ? "Requested range not satisfiable." : status === 412 ? "Precondition failed." : "Not found.";
    reply(res, status, message, err.headers ?? {});
  });
  stream.on("end", () => ctx.opts.logger.debug({ jobId, path: relPath, status: res.statusCode }, "file served"));
  stream.pipe(res);
}

// The sandbox's web page and its small HTTP API, on 127.0.0.1: the page acts as one Telegram user of the fake
// Telegram (send text, attach a file, press a button) and watches the chat and the world over server-sent events.
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import contentDisposition from "content-disposition";
import type { App } from "../../../src/app/start-app.js";
import type { FakeTelegram, FakeUser } from "../fake-telegram.js";
import type { SampleFile, SampleTorrent } from "./sandbox-samples.js";
import { messageView, worldView, type DropletHistory, type MessageView } from "./sandbox-views.js";

const PAGE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "page");
const PAGE_FILES: Record<string, [file: string, type: string]> = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/sandbox.js": ["sandbox.js", "text/javascript; charset=utf-8"],
  "/sandbox.css": ["sandbox.css", "text/css; charset=utf-8"],
};
/** Telegram lets users send bigger files, but a bot downloads at most 20 MB: 50 MiB leaves room to try that refusal. */
const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;
const WORLD_EVERY_MS = 1000;

export interface SandboxServerDeps {
  telegram: FakeTelegram;
  /** The user the page speaks for (the bot's owner). */
  user: FakeUser;
  app: App;
  droplets: DropletHistory;
  torrents: SampleTorrent[];
  playbooks: SampleFile[];
}

export interface SandboxServer {
  url: string;
  stop(): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** What the request handlers share: the world, the documents the page uploaded, the open event streams. */
interface ServerState {
  deps: SandboxServerDeps;
  uploads: Map<number, NonNullable<MessageView["document"]>>;
  /** Each open event stream's close function. */
  streams: Set<() => void>;
  port: number;
}

export async function startSandboxServer(deps: SandboxServerDeps, opts: { port?: number } = {}): Promise<SandboxServer> {
  const state: ServerState = { deps, uploads: new Map(), streams: new Set(), port: 0 };
  const server = http.createServer((req, res) => {
    route(state, req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (!res.headersSent) sendJson(res, status, { error: (err as Error).message });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  state.port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${state.port}/`,
    async stop() {
      for (const close of [...state.streams]) close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function route(state: ServerState, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const { deps, port } = state;
  // Only this machine's own names: a web page elsewhere cannot reach the sandbox through DNS rebinding.
  if (req.headers.host !== `127.0.0.1:${port}` && req.headers.host !== `localhost:${port}`) throw new HttpError(403, "wrong Host header");
  const url = new URL(req.url ?? "/", "http://sandbox");
  const page = PAGE_FILES[url.pathname];
  if (req.method === "GET" && page) return sendBytes(res, fs.readFileSync(path.join(PAGE_DIR, page[0])), page[1]);
  if (req.method === "GET" && url.pathname === "/api/events") return openEvents(state, req, res);
  if (req.method === "GET") return getFile(deps, url.pathname, res);
  if (req.method !== "POST") throw new HttpError(405, "method not allowed");
  // A JSON body or the x-file-name header makes another site's request a CORS preflight, which is never granted.
  if (url.pathname === "/api/upload") return upload(state, req, res);
  const body = await readJson(req);
  if (url.pathname === "/api/send") {
    const text = typeof body.text === "string" ? body.text : "";
    if (text.trim() === "" || text.length > 4096) throw new HttpError(400, "a message is 1 to 4096 characters");
    deps.telegram.sendText(deps.user, text);
    return sendJson(res, 200, { ok: true });
  }
  if (url.pathname === "/api/press") {
    const messageId = Number(body.messageId);
    if (!Number.isInteger(messageId) || typeof body.data !== "string") throw new HttpError(400, "expected {messageId, data}");
    try {
      deps.telegram.pressButton(deps.user, { chat_id: deps.user.id, message_id: messageId }, body.data);
    } catch (err) {
      throw new HttpError(409, (err as Error).message); // the message no longer shows that button
    }
    return sendJson(res, 200, { ok: true });
  }
  throw new HttpError(404, "not found");
}

async function upload(state: ServerState, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const raw = req.headers["x-file-name"];
  const fileName = typeof raw === "string" ? decodeURIComponent(raw) : "";
  if (fileName === "" || fileName.length > 255) throw new HttpError(400, "x-file-name header missing");
  const bytes = await readBody(req, MAX_UPLOAD_BYTES);
  const mimeType = req.headers["content-type"] || "application/octet-stream";
  const message = state.deps.telegram.sendDocument(state.deps.user, { fileName, mimeType, bytes });
  // The fake keeps a user's document only as an update for the bot; the page shows it from here.
  const document = message.document as { file_id: string };
  state.uploads.set(message.message_id as number, { name: fileName, size: bytes.length, url: `/api/files/${encodeURIComponent(document.file_id)}` });
  sendJson(res, 200, { ok: true });
}

function getFile(deps: SandboxServerDeps, pathname: string, res: http.ServerResponse): void {
  const doc = /^\/api\/files\/([^/]+)$/.exec(pathname);
  const torrent = /^\/api\/samples\/torrents\/(\d+)$/.exec(pathname);
  const playbook = /^\/api\/samples\/playbooks\/(\d+)$/.exec(pathname);
  if (doc) {
    const f = deps.telegram.file(decodeURIComponent(doc[1]!));
    if (f) return sendBytes(res, f.bytes, f.mime_type ?? "application/octet-stream", f.file_name ?? "file");
  } else if (torrent) {
    const t = deps.torrents[Number(torrent[1])]?.torrent;
    if (t) return sendBytes(res, t.torrentFile, "application/x-bittorrent", `${t.name}.torrent`);
  } else if (playbook) {
    const p = deps.playbooks[Number(playbook[1])];
    if (p) return sendBytes(res, p.bytes, p.mimeType, p.fileName);
  }
  throw new HttpError(404, "not found");
}

/** Server-sent events: every chat message once and again whenever it changes, button popups, the world each second. */
function openEvents(state: ServerState, req: http.IncomingMessage, res: http.ServerResponse): void {
  const { deps } = state;
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
  const send = (event: string, json: string) => res.write(`event: ${event}\ndata: ${json}\n\n`);
  send("samples", JSON.stringify(samplesView(deps)));
  const sent = new Map<number, string>();
  let popupsSent = deps.telegram.answeredCallbacks.length;
  const flushChat = () => {
    for (const m of deps.telegram.messages(deps.user.id, { includeUser: true })) {
      const json = JSON.stringify(messageView(m, state.uploads.get(m.message_id)));
      if (sent.get(m.message_id) !== json) send("message", json);
      sent.set(m.message_id, json);
    }
    for (const a of deps.telegram.answeredCallbacks.slice(popupsSent)) if (a.text) send("popup", JSON.stringify({ text: a.text, alert: Boolean(a.show_alert) }));
    popupsSent = deps.telegram.answeredCallbacks.length;
  };
  const sendWorld = () => send("world", JSON.stringify(worldView(deps.app, deps.droplets)));
  // Changes come in bursts (a call, its answer): one flush per burst.
  let scheduled: NodeJS.Timeout | null = null;
  const unsubscribe = deps.telegram.onChange(() => void (scheduled ??= setTimeout(() => ((scheduled = null), flushChat()), 25)));
  const timer = setInterval(sendWorld, WORLD_EVERY_MS);
  flushChat();
  sendWorld();
  const close = () => {
    unsubscribe();
    clearInterval(timer);
    if (scheduled) clearTimeout(scheduled);
    state.streams.delete(close);
    res.end();
  };
  state.streams.add(close);
  req.on("close", close);
}

function samplesView(deps: SandboxServerDeps) {
  return {
    torrents: deps.torrents.map((s, i) => ({
      name: s.torrent.name,
      size: s.torrent.totalSize,
      files: s.torrent.files.length,
      seeded: s.seeded,
      note: s.note,
      magnet: s.torrent.magnet,
      // For a single file: what `sha256sum` of the downloaded file should print.
      sha256: s.torrent.files.length === 1 ? s.torrent.files[0]!.sha256 : null,
      torrentUrl: `/api/samples/torrents/${i}`,
    })),
    playbooks: deps.playbooks.map((p, i) => ({ name: p.fileName, size: p.bytes.length, note: p.note, url: `/api/samples/playbooks/${i}`, mimeType: p.mimeType })),
  };
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
}

function sendBytes(res: http.ServerResponse, bytes: Buffer, type: string, attachmentName?: string): void {
  res.writeHead(200, {
    "content-type": type,
    "content-length": bytes.length,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    ...(attachmentName ? { "content-disposition": contentDisposition(attachmentName) } : {}),
  });
  res.end(bytes);
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Past the limit the rest is read and dropped, so the client gets the 413 rather than a reset connection.
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on("end", () => (size > limit ? reject(new HttpError(413, `files up to ${limit / 1024 / 1024} MiB`)) : resolve(Buffer.concat(chunks))));
    req.on("error", reject);
  });
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/.test(req.headers["content-type"] ?? "")) throw new HttpError(415, "expected application/json");
  try {
    const v = JSON.parse((await readBody(req, 64 * 1024)).toString("utf8")) as unknown;
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* answered below */
  }
  throw new HttpError(400, "expected a JSON object");
}

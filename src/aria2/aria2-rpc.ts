// aria2's JSON-RPC over HTTP with node:http. The http.Agent is injectable so that the job engine can carry
// the requests through an SSH port forward (ssh2 forwardOut) to the droplet's localhost.
import http from "node:http";

export interface Aria2RpcOptions {
  /** Host and port as seen through the agent (for a tunnelled agent, the droplet's 127.0.0.1:rpcPort). */
  host?: string;
  port: number;
  secret: string;
  agent?: http.Agent;
  /** Per-call timeout; default 10 s. */
  timeoutMs?: number;
}

/** aria2 answered with a JSON-RPC error (e.g. "GID … is not found"). */
export class Aria2RpcError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    readonly rpcMessage: string,
  ) {
    super(`aria2 ${method} failed: ${rpcMessage}`);
    this.name = "Aria2RpcError";
  }
}

/** aria2 could not be reached at all (not started yet, crashed, tunnel down). */
export class Aria2UnreachableError extends Error {
  constructor(
    readonly method: string,
    cause: Error,
  ) {
    super(`aria2 did not answer ${method}: ${cause.message}`, { cause });
    this.name = "Aria2UnreachableError";
  }
}

let nextId = 1;

/** One JSON-RPC call; the secret is sent as the "token:" parameter and never appears in errors. */
export function callAria2<T>(o: Aria2RpcOptions, method: string, params: unknown[] = []): Promise<T> {
  const body = JSON.stringify({ jsonrpc: "2.0", id: String(nextId++), method, params: [`token:${o.secret}`, ...params] });
  return new Promise<T>((resolve, reject) => {
    const req = http.request(
      {
        host: o.host ?? "127.0.0.1",
        port: o.port,
        path: "/jsonrpc",
        method: "POST",
        agent: o.agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        timeout: o.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (e) => reject(new Aria2UnreachableError(method, e)));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let msg: { result?: T; error?: { code: number; message: string } };
          try {
            msg = JSON.parse(text) as typeof msg;
          } catch {
            return reject(new Aria2UnreachableError(method, new Error(`HTTP ${res.statusCode}, not JSON-RPC`)));
          }
          if (msg.error) return reject(new Aria2RpcError(method, msg.error.code, msg.error.message));
          resolve(msg.result as T);
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${o.timeoutMs ?? 10_000} ms`)));
    req.on("error", (e) => reject(new Aria2UnreachableError(method, e)));
    req.end(body);
  });
}

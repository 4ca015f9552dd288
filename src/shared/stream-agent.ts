// An http.Agent whose connections are streams opened on demand, e.g. SSH port forwards (ssh2 forwardOut) to a
// service listening on a remote loopback, such as aria2's JSON-RPC on a droplet.
import http from "node:http";
import type { Duplex } from "node:stream";

/**
 * An http.Agent whose every connection is a stream from `open`. The stream is handed over through
 * createConnection's callback and undefined is returned: returning it synchronously is impossible for an async
 * tunnel, and returning anything else makes Node use that value at once.
 */
export function streamAgent(open: () => Promise<Duplex>): http.Agent {
  const agent = new http.Agent({ keepAlive: false });
  (agent as unknown as { createConnection: unknown }).createConnection = (
    _opts: unknown,
    callback: (err: Error | null, socket?: Duplex) => void,
  ) => {
    open().then(
      (stream) => callback(null, asSocket(stream)),
      (err: Error) => callback(err),
    );
    return undefined;
  };
  return agent;
}

/**
 * An ssh2 channel is a Duplex, not a net.Socket: http.Agent calls setTimeout/setNoDelay/setKeepAlive on it
 * (e.g. for a request timeout). Give it those, with setTimeout meaning "idle for ms", as on a socket.
 */
function asSocket(stream: Duplex): Duplex {
  const s = stream as Duplex & {
    setTimeout?: (ms: number, cb?: () => void) => Duplex;
    setNoDelay?: () => Duplex;
    setKeepAlive?: () => Duplex;
  };
  if (typeof s.setTimeout === "function") return s;
  let timer: NodeJS.Timeout | undefined;
  let idleMs = 0;
  const arm = () => {
    clearTimeout(timer);
    if (idleMs > 0) timer = setTimeout(() => s.emit("timeout"), idleMs);
  };
  s.on("data", arm);
  s.once("close", () => clearTimeout(timer));
  s.setTimeout = (ms: number, cb?: () => void) => {
    idleMs = ms;
    if (cb) s.once("timeout", cb);
    arm();
    return s;
  };
  s.setNoDelay = () => s;
  s.setKeepAlive = () => s;
  return s;
}

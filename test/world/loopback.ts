// Picks loopback addresses for test hosts so that parallel test files never collide (127.0.0.0/8 only).
import { randomInt } from "node:crypto";
import net from "node:net";

/** A random 127.x.y.z address (x ≥ 10, leaving 127.0.0.0/16 alone) on which `port` is free. */
export async function freeLoopbackAddress(port = 22): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const addr = `127.${randomInt(10, 250)}.${randomInt(0, 256)}.${randomInt(2, 254)}`;
    if (await canBind(addr, port)) return addr;
  }
  throw new Error("no free loopback address found");
}

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

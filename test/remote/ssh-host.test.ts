// SshHost against a real sshd: quoting, pinned host keys, the bot's key, SFTP with resume, tunnels.
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSsh, remoteCommand, type SshHost } from "../../src/remote/ssh-host.js";
import { generateEd25519 } from "../../src/shared/ssh-keys.js";
import { loadOrCreateBotKey } from "../../src/remote/bot-key.js";
import { run } from "../../src/hosts/host.js";
import { freeLoopbackAddress } from "../world/loopback.js";
import { startSshFixture, type SshFixture } from "./ssh-fixture.js";
import { HOSTILE } from "./hostile-strings.js";

let f: SshFixture;
let host: SshHost;

beforeAll(async () => {
  f = await startSshFixture();
  host = await f.connect();
});
afterAll(async () => {
  await f?.stop();
});

describe("SshHost exec", () => {
  it("quotes every argument: hostile strings arrive intact and nothing runs", async () => {
    const r = await run(host, ["printf", "%s\\0", ...HOSTILE]);
    expect(r.stdout.split("\0").slice(0, -1)).toEqual(HOSTILE);
    const env = await run(host, ["sh", "-c", 'printf %s "$V"'], { env: { V: HOSTILE[0]! } });
    expect(env.stdout).toBe(HOSTILE[0]);
    expect((await host.exec(["test", "-e", "/tmp/dropship-pwned"])).code).toBe(1);
    expect(remoteCommand(["echo", "$(id)"])).toContain("\\$\\(id\\)");
  });

  it("returns exit codes, stderr (without the PID line), stdin and cwd", async () => {
    const r = await host.exec(["sh", "-c", "cat; pwd; echo oops >&2; exit 4"], { stdin: "data\n", cwd: "/tmp" });
    expect(r).toEqual({ code: 4, signal: null, stdout: "data\n/tmp\n", stderr: "oops\n" });
  });

  it("kills the remote command (and its children) on timeout", async () => {
    const t0 = Date.now();
    const r = await host.exec(["sh", "-c", "sleep 31 & sleep 32"], { timeoutMs: 300 });
    expect(r.code).toBeNull();
    expect(Date.now() - t0).toBeLessThan(3000);
    const left = await host.exec(["sh", "-c", "ps -eo args | grep -c '^sleep 3[12]' || true"]);
    expect(left.stdout.trim()).toBe("0");
  });

  it("writes and reads files over SFTP on the host's own filesystem", async () => {
    await host.writeFile("/tmp/note.txt", "über\n", 0o600);
    expect((await host.readFile("/tmp/note.txt")).toString()).toBe("über\n");
    expect(fs.statSync(path.join(f.world.tmp, "note.txt")).mode & 0o777).toBe(0o600);
    await expect(host.readFile("/tmp/nope")).rejects.toThrow(/cannot read \/tmp\/nope on .*: no such file/);
  });
});

describe("connecting", () => {
  it("refuses a host whose key is not the pinned one", async () => {
    const other = generateEd25519("impostor");
    const err = await connectSsh({ host: f.world.address, username: "root", privateKey: f.botKey.privateKey, hostKey: other.public }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(new RegExp(`the host key of ${f.world.address.replace(/\./g, "\\.")} changed — refusing to connect`));
  });

  it("accepts the pinned key given as a bare base64 blob", async () => {
    const h = await connectSsh({ host: f.world.address, username: "root", privateKey: f.botKey.privateKey, hostKey: f.hostPublicKey.split(" ")[1]! });
    expect((await run(h, ["echo", "ok"])).stdout).toBe("ok\n");
    await h.close();
  });

  it("pins on first use and keeps the key for reconnects", async () => {
    const seen: string[] = [];
    const h = await connectSsh({
      host: f.world.address,
      username: "root",
      privateKey: f.botKey.privateKey,
      hostKey: { pinOnFirstUse: (k) => seen.push(k.line) },
    });
    expect(seen).toEqual([f.hostPublicKey.split(" ").slice(0, 2).join(" ")]);
    expect(h.hostKey).toBe(f.hostPublicKey.split(" ")[1]);
    f.world.killSessions();
    await new Promise((r) => setTimeout(r, 200));
    expect((await run(h, ["echo", "again"])).stdout).toBe("again\n"); // reconnected, still verified
    expect(seen).toHaveLength(1);
    await h.close();
    host = await f.connect(); // the shared connection was dropped too
  });

  it("tells which public key to authorise when the bot's key is refused", async () => {
    const stranger = loadOrCreateBotKey(path.join(f.tempDir, "stranger-key"));
    const err = await connectSsh({ host: f.world.address, username: "root", privateKey: stranger.privateKey, hostKey: f.hostPublicKey }).catch((e: Error) => e);
    expect((err as Error).message).toContain(`the bot's key is not authorised on root@${f.world.address}: add this public key to ~root/.ssh/authorized_keys: ${stranger.publicKey}`);
  });

  it("says when nothing listens", async () => {
    const addr = await freeLoopbackAddress(22);
    await expect(connectSsh({ host: addr, username: "root", privateKey: f.botKey.privateKey, hostKey: f.hostPublicKey })).rejects.toThrow(/connection refused — is sshd running there\?/);
  });
});

describe("loadOrCreateBotKey", () => {
  it("creates an ed25519 OpenSSH key pair with mode 0600 once, then loads the same one", () => {
    const dir = path.join(f.tempDir, "key-twice");
    const a = loadOrCreateBotKey(dir);
    const b = loadOrCreateBotKey(dir);
    expect(a.publicKey).toBe(b.publicKey);
    expect(a.publicKey).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]+=* dropship$/);
    expect(a.privateKey).toContain("BEGIN OPENSSH PRIVATE KEY");
    for (const file of ["id_ed25519", "id_ed25519.pub"]) expect(fs.statSync(path.join(dir, file)).mode & 0o777).toBe(0o600);
  });
});

describe("SFTP downloads", () => {
  const size = 20 * 1024 * 1024;
  let remoteSha = "";
  beforeAll(async () => {
    await run(host, ["sh", "-c", `head -c ${size} /dev/urandom > /tmp/big.bin`]);
    remoteSha = createHash("sha256").update(fs.readFileSync(path.join(f.world.tmp, "big.bin"))).digest("hex");
  });

  it("downloads 20 MB and verifies it", async () => {
    const local = path.join(f.tempDir, "dl", "big.bin");
    let last = 0;
    const r = await host.download("/tmp/big.bin", local, { onProgress: (p) => (last = p.bytes) });
    expect(r).toEqual({ bytes: size, sha256: remoteSha, resumes: 0 });
    expect(last).toBe(size);
  });

  it("resumes from the partial file after the connection drops mid-transfer", async () => {
    const local = path.join(f.tempDir, "dl", "resumed.bin");
    let killedAt = 0;
    const r = await host.download("/tmp/big.bin", local, {
      onProgress: (p) => {
        if (killedAt === 0 && p.bytes > 4 * 1024 * 1024) {
          killedAt = p.bytes;
          f.world.killSessions();
        }
      },
    });
    expect(killedAt).toBeGreaterThan(0);
    expect(r.resumes).toBeGreaterThanOrEqual(1);
    expect(r).toMatchObject({ bytes: size, sha256: remoteSha });
  });

  it("fails clearly for a missing file, without retrying forever", async () => {
    await expect(host.download("/tmp/missing.bin", path.join(f.tempDir, "dl", "m"))).rejects.toThrow(/no such file/);
  });

  it("lists files recursively with sizes", async () => {
    await run(host, ["sh", "-c", "mkdir -p '/tmp/tree/a b' && printf 123 > '/tmp/tree/a b/x.txt' && printf 1 > /tmp/tree/y"]);
    expect(await host.listFiles("/tmp/tree")).toEqual([
      { path: "a b/x.txt", size: 3 },
      { path: "y", size: 1 },
    ]);
  });
});

describe("tunnels", () => {
  it("reaches an HTTP server started on the host, through forwardOut and an http.Agent", async () => {
    const port = await freePort();
    await host.writeFile("/tmp/hello.txt", "hello from the host\n");
    const ac = new AbortController();
    const server = host.exec(["python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", "/tmp", String(port)], { signal: ac.signal });
    server.catch(() => {});
    try {
      const agent = host.httpAgentFor("127.0.0.1", port);
      let body = "";
      for (let i = 0; i < 50 && !body; i++) {
        body = await get(`http://127.0.0.1:${port}/hello.txt`, agent).catch(async () => (await new Promise((r) => setTimeout(r, 100)), ""));
      }
      expect(body).toBe("hello from the host\n");
      const stream = await host.forwardOut("127.0.0.1", port);
      stream.end("GET /hello.txt HTTP/1.0\r\n\r\n");
      const raw = await new Promise<string>((resolve) => {
        let s = "";
        stream.on("data", (d: Buffer) => (s += d.toString())).on("close", () => resolve(s));
      });
      expect(raw).toMatch(/^HTTP\/1\.0 200/);
      expect(raw.endsWith("hello from the host\n")).toBe(true);
    } finally {
      ac.abort();
      await expect(server).rejects.toThrow();
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function get(url: string, agent: http.Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        let s = "";
        res.on("data", (d: Buffer) => (s += d.toString())).on("end", () => (res.statusCode === 200 ? resolve(s) : reject(new Error(String(res.statusCode)))));
      })
      .on("error", reject);
  });
}

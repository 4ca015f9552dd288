// The host registry against real sshd hosts: pin on first use, pinned connections, a changed key refused,
// a refused bot key stores nothing; and the user@address[:port] parser.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostRegistry, HostRegistryError, hostAddressText, parseHostAddress } from "../../src/hosts/host-registry.js";
import { loadOrCreateBotKey } from "../../src/remote/bot-key.js";
import { SshConnectError, sshHostConnector } from "../../src/remote/ssh-host.js";
import { fingerprintOf, generateEd25519 } from "../../src/shared/ssh-keys.js";
import { openDatabase, type Db } from "../../src/storage/database.js";
import { freeLoopbackAddress } from "../world/loopback.js";
import { startSshHost, type SshHost } from "../world/sshd-host.js";

let dir: string;
let db: Db;
let registry: HostRegistry;
const started: SshHost[] = [];
const botKey = () => loadOrCreateBotKey(path.join(dir, "keys"));

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-hosts-"));
  db = openDatabase(path.join(dir, "db.sqlite"));
  registry = new HostRegistry({ db, connect: sshHostConnector(botKey().privateKey, 5000), now: () => 1_700_000_000_000 });
});

afterAll(async () => {
  for (const h of started) await h.stop().catch(() => undefined);
  db?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function sshd(address: string, name: string, authorised: boolean) {
  const key = generateEd25519(name);
  const h = await startSshHost({ address, dir: path.join(dir, name), hostPrivateKey: key.private, authorizedKeys: authorised ? [botKey().publicKey] : [] });
  started.push(h);
  return { h, fingerprint: fingerprintOf(Buffer.from(key.public.split(" ")[1]!, "base64")), blob: key.public.split(" ")[1]! };
}

describe("parseHostAddress", () => {
  it("reads user@host, a port, and bracketed IPv6", () => {
    expect(parseHostAddress("root@203.0.113.5")).toEqual({ username: "root", address: "203.0.113.5", port: 22 });
    expect(parseHostAddress("deploy@web.example.com:2222")).toEqual({ username: "deploy", address: "web.example.com", port: 2222 });
    expect(parseHostAddress("root@[2001:db8::1]:22")).toEqual({ username: "root", address: "2001:db8::1", port: 22 });
    expect(hostAddressText({ username: "root", address: "2001:db8::1", port: 2222 })).toBe("root@[2001:db8::1]:2222");
  });

  it("refuses what is not user@address[:port], saying what it expects", () => {
    for (const bad of ["203.0.113.5", "root@", "root@host:0", "root@host:99999", "ro ot@host", "-oProxyCommand=x@host", "root@-host"]) {
      expect(() => parseHostAddress(bad), bad).toThrow(HostRegistryError);
    }
    expect(() => parseHostAddress("host")).toThrow(/expected user@address\[:port\]/);
  });
});

describe("HostRegistry", () => {
  it("pins the key offered on first use, connects with it, and refuses a changed key", async () => {
    const address = await freeLoopbackAddress(22);
    const first = await sshd(address, "first", true);
    const added = await registry.add("web1", { username: "root", address, port: 22 }, 42);
    expect(added).toMatchObject({ name: "web1", address, port: 22, username: "root", hostKey: first.blob, fingerprint: first.fingerprint, addedBy: 42 });
    expect(registry.list().map((h) => h.name)).toEqual(["web1"]);

    const conn = await registry.connect("web1");
    expect((await conn.exec(["echo", "ok"])).stdout).toBe("ok\n");
    await conn.close();

    await expect(registry.add("web1", { username: "root", address, port: 22 }, 42)).rejects.toThrow(/already a host called web1/);

    await first.h.stop();
    const impostor = await sshd(address, "impostor", true);
    const err = await registry.connect("web1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshConnectError);
    expect((err as SshConnectError).kind).toBe("host-key-changed");
    expect((err as Error).message).toContain(impostor.fingerprint);
    expect(registry.get("web1")!.hostKey).toBe(first.blob);

    expect(registry.remove("web1")).toBe(true);
    expect(registry.remove("web1")).toBe(false);
    await expect(registry.connect("web1")).rejects.toThrow(/no host called web1/);
  });

  it("stores nothing when the host does not accept the bot's key, and says which key to add", async () => {
    const address = await freeLoopbackAddress(22);
    await sshd(address, "closed", false);
    const err = await registry.add("closed", { username: "root", address, port: 22 }, 42).catch((e: unknown) => e);
    expect((err as SshConnectError).kind).toBe("not-authorised");
    expect((err as Error).message).toContain(botKey().publicKey.split(" ")[1]);
    expect(registry.get("closed")).toBeUndefined();
  });

  it("refuses names that could not be typed back", async () => {
    await expect(registry.add("bad name", { username: "root", address: "127.0.0.1", port: 22 }, 1)).rejects.toThrow(/not a usable host name/);
  });
});

// The fake DigitalOcean API on its own, over real HTTP with fetch and real SSH with ssh2:
// auth, pagination, validation, faults, and droplets that are real hosts.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeDigitalOcean, type FakeDigitalOcean } from "../world/fake-digitalocean.js";
import { portOpen } from "../world/sshd-host.js";
import { buildUserData, generateHostKeyPair, pinnedHostVerifier } from "../../src/cloud/cloud-init.js";
import { publicKeyBlob } from "../../src/cloud/ssh-key-fingerprint.js";
import { livePidsWithMarker, sshConnect, sshExec } from "./ssh-test-client.js";
import { generateEd25519OpenSsh } from "../../src/shared/ed25519-openssh.js";

const TOKEN = "dop_v1_fake_test_token_0123456789abcdef";
let dir: string;
let fake: FakeDigitalOcean;

async function api(method: string, p: string, body?: unknown, token = TOKEN) {
  const res = await fetch(fake.url + p, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-do-"));
  // This file checks the API's answers step by step, so lists and destroys take effect at once here; the
  // lags (on by default) have their own tests below and are exercised end to end by the e2e tests.
  fake = await startFakeDigitalOcean({ token: TOKEN, dir, activeDelayMs: 300, listLagMs: 0, destroyDelayMs: 0 });
});

afterAll(async () => {
  await fake?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("fake DigitalOcean API: HTTP surface", () => {
  it("refuses a missing or wrong token with DigitalOcean's error body and rate-limit headers", async () => {
    for (const token of ["", "wrong"]) {
      const r = await api("GET", "/account", undefined, token);
      expect(r.status).toBe(401);
      expect(r.json).toMatchObject({ id: "unauthorized", message: "Unable to authenticate you." });
      expect(typeof r.json.request_id).toBe("string");
      expect(r.headers.get("ratelimit-limit")).toBe("5000");
    }
    const ok = await api("GET", "/account");
    expect(ok.status).toBe(200);
    expect(ok.json.account.status).toBe("active");
    expect(Number(ok.headers.get("ratelimit-remaining"))).toBeLessThan(5000);
    expect(Number(ok.headers.get("ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000);
  });

  it("paginates sizes with links.pages and meta.total as the spec shows", async () => {
    const first = await api("GET", "/sizes?per_page=10");
    const total: number = first.json.meta.total;
    expect(total).toBeGreaterThan(40);
    expect(first.json.sizes).toHaveLength(10);
    expect(first.json.links.pages.first).toBeUndefined();
    expect(first.json.links.pages.last).toBe(`${fake.url}/sizes?page=${Math.ceil(total / 10)}&per_page=10`);
    const slugs: string[] = [];
    let next: string | undefined = `${fake.url}/sizes?per_page=10`;
    let pages = 0;
    while (next) {
      const r = await api("GET", next.slice(fake.url.length));
      slugs.push(...r.json.sizes.map((s: { slug: string }) => s.slug));
      if (pages > 0) expect(r.json.links.pages.prev).toBeDefined();
      next = r.json.links.pages?.next;
      pages++;
    }
    expect(pages).toBe(Math.ceil(total / 10));
    expect(new Set(slugs).size).toBe(total);
    const tiny = (await api("GET", "/sizes?per_page=200")).json.sizes.find((s: { slug: string }) => s.slug === "s-1vcpu-512mb-10gb");
    expect(tiny).toMatchObject({ price_hourly: 0.00595, price_monthly: 4, available: true });
    expect(tiny.regions).not.toContain("fra1");
    expect((await api("GET", "/sizes")).json.sizes).toHaveLength(20); // default per_page
    expect((await api("GET", "/sizes?per_page=1000")).json.sizes).toHaveLength(total); // capped at 200
    const regions = await api("GET", "/regions");
    expect(regions.json.regions.find((r: { slug: string }) => r.slug === "fra1").sizes).toContain("s-1vcpu-1gb");
  });

  it("validates droplet creates and answers 422 unprocessable_entity", async () => {
    const good = { name: "ok-1", region: "fra1", size: "s-1vcpu-1gb", image: "debian-12-x64", tags: ["dropship"] };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...good, name: "bad_name!" }, /hostname characters/],
      [{ ...good, tags: ["has space"] }, /Tag names/],
      [{ ...good, size: "s-99vcpu" }, /invalid size/],
      [{ ...good, size: "s-1vcpu-512mb-10gb" }, /Size is not available in this region/],
      [{ ...good, region: "nyc2" }, /Region is not available/],
      [{ ...good, image: "windows-95" }, /invalid image/],
      [{ ...good, user_data: "#cloud-config\n" + "x".repeat(64 * 1024) }, /user_data is too long/],
      [{ ...good, ssh_keys: [12345] }, /invalid ssh key/],
    ];
    for (const [body, message] of cases) {
      const r = await api("POST", "/droplets", body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(422);
      expect(r.json.id).toBe("unprocessable_entity");
      expect(r.json.message).toMatch(message);
    }
    expect(fake.droplets()).toHaveLength(0);
  });

  it("serves injected faults the given number of times, per endpoint", async () => {
    fake.injectFault("GET /v2/sizes", { status: 429, retryAfterSeconds: 3 }, 2);
    fake.injectFault("/v2/regions", { status: 500 });
    for (let i = 0; i < 2; i++) {
      const r = await api("GET", "/sizes");
      expect(r.status).toBe(429);
      expect(r.headers.get("retry-after")).toBe("3");
      expect(r.json.id).toBe("too_many_requests");
    }
    expect((await api("GET", "/sizes")).status).toBe(200);
    expect((await api("GET", "/regions")).json.id).toBe("server_error");
    expect((await api("GET", "/regions")).status).toBe(200);
    fake.injectFault("GET /v2/droplets/*", { delayMs: 300 });
    const t0 = Date.now();
    expect((await api("GET", "/droplets/1")).status).toBe(404);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    fake.injectFault(/^GET \/v2\/account$/, { disconnect: true });
    await expect(api("GET", "/account")).rejects.toThrow();
    fake.injectFault("POST /v2/droplets", { status: 422, availableRegions: ["ams3", "nyc1"] });
    const r = await api("POST", "/droplets", { name: "x", size: "s-1vcpu-1gb", image: "debian-12-x64", region: "fra1" });
    expect(r.json).toMatchObject({ id: "unprocessable_entity", available_regions: ["ams3", "nyc1"] });
  });

  it("aims faults with predicates, holds or drops slow answers, says when the quota is spent, and keeps a history", async () => {
    const create = (name: string) => api("POST", "/droplets", { name, region: "ams3", size: "s-1vcpu-512mb-10gb", image: "debian-12-x64", tags: ["hist"] });
    // A predicate sees the parsed body: only the create named "aimed" fails.
    const aimed = fake.injectFault((r) => r.method === "POST" && (r.body as { name?: string }).name === "aimed", { status: 503 });
    const other = await create("other");
    expect(other.status).toBe(202);
    expect((await create("aimed")).status).toBe(503);
    expect(aimed.hits).toBe(1);
    // A held create is carried out only when released, long after its client gave up.
    let release!: () => void;
    fake.injectFault("POST /v2/droplets", { heldUntil: new Promise<void>((r) => (release = r)) });
    const abandoned = new AbortController();
    const held = fetch(fake.url + "/droplets", {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "held", region: "ams3", size: "s-1vcpu-512mb-10gb", image: "debian-12-x64", tags: ["hist"] }),
      signal: abandoned.signal,
    }).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 200));
    abandoned.abort();
    expect(await held).toBeInstanceOf(Error);
    expect(fake.history().map((h) => h.name)).not.toContain("held");
    release();
    await waitFor("the held create", async () => fake.history().find((h) => h.name === "held"));
    // A lost answer: nothing is done, the connection is dropped after the delay.
    fake.injectFault("DELETE /v2/droplets/*", { delayMs: 100, lost: true });
    await expect(api("DELETE", `/droplets/${other.json.droplet.id}`)).rejects.toThrow();
    expect(fake.droplet(other.json.droplet.id)!.destroyed).toBe(false);
    // The hourly quota spent: remaining 0, and when it resets.
    fake.injectFault("GET /v2/account", { status: 429, quotaResetSeconds: 30 });
    const quota = await api("GET", "/account");
    expect(quota.headers.get("ratelimit-remaining")).toBe("0");
    expect(Number(quota.headers.get("ratelimit-reset")) * 1000 - Date.now()).toBeGreaterThan(25_000);
    // The history keeps destroyed (and forgotten) droplets with when they went.
    for (const h of fake.history().filter((x) => x.destroyedAt === null && x.tags.includes("hist"))) await api("DELETE", `/droplets/${h.id}`);
    const hist = fake.history().filter((h) => h.tags.includes("hist"));
    expect(hist.map((h) => h.name).sort()).toEqual(["held", "other"]);
    for (const h of hist) expect(h.destroyedAt!.getTime()).toBeGreaterThanOrEqual(h.createdAt.getTime());
    expect(fake.requests.at(-1)).toMatchObject({ method: "DELETE", status: 204, ms: expect.any(Number) });
  });

  it("enforces its own rate limit with 429 and retry-after", async () => {
    const limited = await startFakeDigitalOcean({ token: TOKEN, dir, rateLimit: { perHour: 100, perMinute: 3 } });
    try {
      const call = () => fetch(limited.url + "/account", { headers: { authorization: `Bearer ${TOKEN}` } });
      const remaining = [];
      for (let i = 0; i < 3; i++) remaining.push((await call()).headers.get("ratelimit-remaining"));
      expect(remaining).toEqual(["99", "98", "97"]);
      const over = await call();
      expect(over.status).toBe(429);
      expect(Number(over.headers.get("retry-after"))).toBeGreaterThanOrEqual(59);
    } finally {
      await limited.stop();
    }
  });
});

describe("fake DigitalOcean API: droplets are real hosts", () => {
  const client = generateEd25519OpenSsh("bot");
  const other = generateEd25519OpenSsh("cloud-init user");
  const hostKey = generateHostKeyPair();

  it("creates a droplet that turns active, then serves SSH with the host key from user_data", async () => {
    const key = await api("POST", "/account/keys", { name: "dropship", public_key: client.publicKey });
    expect(key.status).toBe(201);
    expect(key.json.ssh_key.fingerprint).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    expect((await api("POST", "/account/keys", { name: "again", public_key: client.publicKey })).status).toBe(422);
    const userData = buildUserData({ hostKey, authorizedKeys: [other.publicKey], packages: ["aria2"] });
    const created = await api("POST", "/droplets", {
      name: "dropship-job-1",
      region: "fra1",
      size: "s-1vcpu-1gb",
      image: "debian-12-x64",
      tags: ["dropship", "dropship-job-1"],
      ssh_keys: [key.json.ssh_key.fingerprint],
      user_data: userData,
    });
    expect(created.status).toBe(202);
    expect(created.json.droplet).toMatchObject({ status: "new", networks: { v4: [] }, size_slug: "s-1vcpu-1gb" });
    expect(created.json.links.actions[0]).toMatchObject({ rel: "create" });
    const id: number = created.json.droplet.id;
    const ip = fake.droplet(id)!.ip;
    expect(await portOpen(ip, 22)).toBe(false); // no sshd before the droplet is active

    const active = await waitFor("active", async () => {
      const r = await api("GET", `/droplets/${id}`);
      return r.json.droplet.status === "active" ? r.json.droplet : undefined;
    });
    expect(active.networks.v4.find((n: { type: string }) => n.type === "public").ip_address).toBe(ip);
    const action = await api("GET", `/actions/${created.json.links.actions[0].id}`);
    expect(action.json.action).toMatchObject({ status: "completed", type: "create", resource_id: id });
    await fake.whenSshReady(id);

    // The account key (by fingerprint) and the cloud-init key both log in; the host key is the one we generated.
    for (const k of [client.privateKey, other.privateKey]) {
      const c = await sshConnect(ip, k, pinnedHostVerifier(hostKey.publicKey));
      expect(c.presentedHostKey.equals(publicKeyBlob(hostKey.publicKey))).toBe(true);
      expect((await sshExec(c.client, "id -u")).stdout.trim()).toBe("0");
      c.client.end();
    }
    const stranger = generateEd25519OpenSsh();
    await expect(sshConnect(ip, stranger.privateKey)).rejects.toThrow(/authentication methods failed/);
    const wrongPin = generateHostKeyPair();
    await expect(sshConnect(ip, client.privateKey, pinnedHostVerifier(wrongPin.publicKey))).rejects.toThrow(/verification failed/);
  });

  it("destroying a droplet closes its port, kills what was started over SSH, and it vanishes", async () => {
    const [d] = fake.droplets().filter((x) => !x.destroyed);
    expect(d).toBeDefined();
    const marker = `${3000 + Math.floor(Math.random() * 1000)}.${Date.now() % 100000}`;
    const c = await sshConnect(d!.ip, client.privateKey);
    await sshExec(c.client, `setsid nohup sleep ${marker} </dev/null >/dev/null 2>&1 &`);
    c.client.end();
    await waitFor("sleep to run", async () => (livePidsWithMarker(`sleep ${marker}`).length > 0 ? true : undefined));

    expect((await api("DELETE", `/droplets/${d!.id}`)).status).toBe(204);
    expect(await portOpen(d!.ip, 22)).toBe(false);
    await waitFor("sleep to die", async () => (livePidsWithMarker(`sleep ${marker}`).length === 0 ? true : undefined));
    expect((await api("GET", `/droplets/${d!.id}`)).status).toBe(404);
    expect((await api("GET", "/droplets?tag_name=dropship")).json.droplets).toHaveLength(0);
  });

  it("boots a droplet whose user_data is not cloud-config, with its own host key and the account key", async () => {
    const fp = fake.sshKeys()[0]!.fingerprint;
    const r = await api("POST", "/droplets", {
      name: "script",
      region: "fra1",
      size: "s-1vcpu-1gb",
      image: "debian-12-x64",
      ssh_keys: [fp],
      user_data: "#!/bin/sh\necho hi\n",
    });
    const d = await fake.whenSshReady(r.json.droplet.id);
    expect(d.cloudInit.problem).toMatch(/not #cloud-config/);
    const c = await sshConnect(d.ip, client.privateKey, pinnedHostVerifier(d.hostPublicKey));
    c.client.end();
    expect((await api("DELETE", `/droplets/${d.id}`)).status).toBe(204);
  });

  it("runs cloud-init's packages on the droplet: aria2 absent until installed, apt locked meanwhile", async () => {
    const userData = buildUserData({ hostKey: generateHostKeyPair(), authorizedKeys: [client.publicKey], packages: ["aria2"] });
    const r = await api("POST", "/droplets", { name: "ci", region: "fra1", size: "s-1vcpu-1gb", image: "debian-12-x64", user_data: userData });
    const d = await fake.whenSshReady(r.json.droplet.id);
    const c = await sshConnect(d.ip, client.privateKey);
    try {
      const run = (cmd: string) => sshExec(c.client, cmd);
      expect((await run("command -v aria2c")).code).not.toBe(0);
      expect((await run("cloud-init status")).stdout).toContain("status: running");
      const locked = await run("apt-get install -y aria2");
      expect(locked.code).toBe(100);
      expect(locked.stderr).toMatch(/Could not get lock \/var\/lib\/dpkg\/lock-frontend/);
      const waited = await run("cloud-init status --wait");
      expect(waited.code).toBe(0);
      expect(waited.stdout).toContain("status: done");
      expect((await run("aria2c --version")).stdout).toMatch(/^aria2 version/);
      // Package state is the droplet's own; what is not in the image or pool cannot be found.
      const unknown = await run("apt-get -o DPkg::Lock::Timeout=5 install -y no-such-package");
      expect(unknown.stderr).toContain("Unable to locate package no-such-package");
      // The droplet's 127.0.0.1 is its own: a listener there is not reachable from here, on either address.
      await run("setsid nohup python3 -m http.server --bind 127.0.0.1 8765 </dev/null >/dev/null 2>&1 &");
      expect((await run("for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/8765) 2>/dev/null && exit 0; sleep 0.1; done; exit 1")).code).toBe(0);
      expect(await portOpen("127.0.0.1", 8765)).toBe(false);
      expect(await portOpen(d.ip, 8765)).toBe(false);
    } finally {
      c.client.end();
    }
    expect((await api("DELETE", `/droplets/${d.id}`)).status).toBe(204);
    expect(fs.existsSync(d.netns.nsPath)).toBe(false);
  });

  it("lists by tag and destroys by tag, leaving other droplets alone", async () => {
    const make = async (name: string, tags: string[]) =>
      (await api("POST", "/droplets", { name, region: "ams3", size: "s-1vcpu-512mb-10gb", image: "debian-12-x64", tags }))
        .json.droplet.id as number;
    const a = await make("a", ["dropship", "dropship-job-7"]);
    const b = await make("b", ["dropship", "dropship-job-7"]);
    const keep = await make("keep", ["other"]);
    const tagged = await api("GET", "/droplets?tag_name=dropship-job-7&per_page=1");
    expect(tagged.json.meta.total).toBe(2);
    expect(tagged.json.links.pages.next).toContain("tag_name=dropship-job-7");
    await fake.whenSshReady(a);
    expect((await api("DELETE", "/droplets?tag_name=dropship-job-7")).status).toBe(204);
    expect((await api("GET", "/droplets?tag_name=dropship-job-7")).json.droplets).toHaveLength(0);
    expect(fake.droplet(a)).toBeUndefined();
    expect(fake.droplet(b)).toBeUndefined();
    expect((await api("GET", `/droplets/${keep}`)).status).toBe(200);
    await api("DELETE", `/droplets/${keep}`);
  });

  it("can hide a just-created droplet from lists for a moment (digitalocean/api-v2#202)", async () => {
    const lagging = await startFakeDigitalOcean({ token: TOKEN, dir, listLagMs: 400, activeDelayMs: 50 });
    try {
      const r = await fetch(lagging.url + "/droplets", {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "lag", region: "fra1", size: "s-1vcpu-1gb", image: "debian-12-x64", tags: ["lag"] }),
      });
      const id = ((await r.json()) as { droplet: { id: number } }).droplet.id;
      const list = async () =>
        ((await (await fetch(lagging.url + "/droplets?tag_name=lag", { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
          droplets: unknown[];
        }).droplets.length;
      expect(await list()).toBe(0);
      const byId = await fetch(`${lagging.url}/droplets/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(byId.status).toBe(200);
      await new Promise((res) => setTimeout(res, 450));
      expect(await list()).toBe(1);
    } finally {
      await lagging.stop();
    }
    expect(lagging.droplets()).toHaveLength(0);
  });
});

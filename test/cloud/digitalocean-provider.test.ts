// The production DigitalOcean adapter (dots-wrapper + retries + CloudProvider) against the fake API over
// real HTTP, with droplets that are real SSH hosts.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/shared/logger.js";
import { createDigitalOceanClient } from "../../src/cloud/digitalocean-client.js";
import { createDigitalOceanProvider } from "../../src/cloud/digitalocean-provider.js";
import { CloudError } from "../../src/cloud/digitalocean-errors.js";
import { createPollPacer, type PollPacer } from "../../src/cloud/status-polls.js";
import { abortableSleep } from "../../src/shared/abortable-sleep.js";
import type { CloudProvider } from "../../src/cloud/cloud-provider.js";
import { buildUserData, generateHostKeyPair, pinnedHostVerifier } from "../../src/cloud/cloud-init.js";
import { findOrphanDroplets, reapOrphanDroplets } from "../../src/jobs/torrent/orphan-droplets.js";
import { startFakeDigitalOcean, type FakeDigitalOcean } from "../world/fake-digitalocean.js";
import { defaultSizes } from "../world/fake-digitalocean-catalog.js";
import { portOpen } from "../world/sshd-host.js";
import { sshConnect, sshExec } from "./ssh-test-client.js";
import { generateEd25519OpenSsh } from "../../src/shared/ed25519-openssh.js";

const TOKEN = "dop_v1_provider_test_0123456789abcdef0123";
const botKey = generateEd25519OpenSsh("dropship-bot");
let dir: string;
let fake: FakeDigitalOcean;
let logLines: string[] = [];

function makeProvider(over: { token?: string; url?: string; retries?: number; attemptTimeoutMs?: number; pollPacer?: PollPacer } = {}): CloudProvider {
  const logger = createLogger({ level: "debug", destination: { write: (l: string) => void logLines.push(l) } });
  const client = createDigitalOceanClient({
    token: over.token ?? TOKEN,
    apiUrl: over.url ?? fake.url,
    logger,
    retry: { retries: over.retries ?? 4, minDelayMs: 50, maxDelayMs: 200, maxHintWaitMs: 5000, attemptTimeoutMs: over.attemptTimeoutMs ?? 5000 },
  });
  return createDigitalOceanProvider({ client, logger, pollInitialMs: 50, pollMaxMs: 200, destroyTimeoutMs: 5000, createLookupMs: 800, pollPacer: over.pollPacer });
}

const countRequests = (method: string, p: string | RegExp) =>
  fake.requests.filter((r) => r.method === method && (typeof p === "string" ? r.path === p : p.test(r.path))).length;

function dropletRequest(job: number, over: Partial<Parameters<CloudProvider["createDroplet"]>[0]> = {}) {
  const hostKey = generateHostKeyPair();
  return {
    hostKey,
    req: {
      name: `dropship-job-${job}`,
      region: "fra1",
      size: "s-1vcpu-1gb",
      image: "debian-12-x64",
      tags: ["dropship", `dropship-job-${job}`],
      sshKeyIds: [],
      userData: buildUserData({ hostKey, authorizedKeys: [botKey.publicKey], packages: ["aria2"] }),
      ...over,
    },
  };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "do-provider-"));
  // Lists and destroys take effect at once here, so each test sees only its own step; the lags (the fake's
  // defaults) have their own tests below ("finds the lost create even while…", "waits for a destroy that…").
  fake = await startFakeDigitalOcean({ token: TOKEN, dir, activeDelayMs: 300, listLagMs: 0, destroyDelayMs: 0 });
});

afterEach(() => {
  fake.clearFaults();
  // Whatever happened, the token must not have reached a log line.
  expect(logLines.join("\n")).not.toContain(TOKEN);
});

afterAll(async () => {
  await fake?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("DigitalOcean client: retries and errors", () => {
  it("retries a 429 after the retry-after it was given, then succeeds", async () => {
    logLines = [];
    const cloud = makeProvider();
    fake.injectFault("GET /v2/sizes", { status: 429, retryAfterSeconds: 1 });
    const t0 = Date.now();
    const sizes = await cloud.listSizes();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(sizes.length).toBe(defaultSizes().length);
    expect(countRequests("GET", "/v2/sizes")).toBeGreaterThanOrEqual(2);
    expect(logLines.some((l) => l.includes("retrying") && l.includes('"status":429') && l.includes('"waitMs":1000'))).toBe(true);
  });

  it("retries 500s and dropped connections with backoff", async () => {
    logLines = [];
    const cloud = makeProvider();
    fake.injectFault("GET /v2/account/keys/*", { status: 500 }, 2);
    fake.injectFault("POST /v2/account/keys", { disconnect: true, applied: true });
    const before = countRequests("POST", "/v2/account/keys");
    const id = await cloud.ensureSshKey("dropship", botKey.publicKey);
    expect(id).toBeGreaterThan(0);
    // The first POST stored the key but its answer was lost; the retry got "already in use" and the lookup found it.
    expect(fake.sshKeys().filter((k) => k.id === id)).toHaveLength(1);
    expect(countRequests("POST", "/v2/account/keys") - before).toBe(2);
    expect(fake.requests.filter((r) => r.path.startsWith("/v2/account/keys/")).map((r) => r.status)).toEqual([500, 500, 404, 200]);
  });

  it("gives up after its retries with a message naming the problem", async () => {
    logLines = [];
    const cloud = makeProvider({ retries: 2 });
    fake.injectFault("GET /v2/droplets/*", { status: 503 }, 10);
    const err = await cloud.getDroplet(123).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CloudError);
    expect((err as CloudError).kind).toBe("server");
    expect((err as Error).message).toMatch(/server error \(503: Unexpected server-side error\) while reading droplet 123 after 3 attempts/);
  });

  it("says what to do about a bad token and an unreachable API", async () => {
    logLines = [];
    const bad = await makeProvider({ token: "dop_v1_wrong_token_value" }).listSizes().catch((e: Error) => e);
    expect((bad as CloudError).kind).toBe("unauthorized");
    expect((bad as Error).message).toMatch(/DO_TOKEN/);
    const down = await makeProvider({ url: "http://127.0.0.1:9/v2", retries: 1 }).listSizes().catch((e: Error) => e);
    expect((down as CloudError).kind).toBe("network");
    expect((down as Error).message).toMatch(/Could not reach DigitalOcean at http:\/\/127\.0\.0\.1:9\/v2.*DO_API_URL/);
  });

  it("stops asking once the hourly quota is spent, saying until when", async () => {
    const tight = await startFakeDigitalOcean({ token: TOKEN, dir, rateLimit: { perHour: 2, perMinute: 100 } });
    try {
      logLines = [];
      const cloud = makeProvider({ url: tight.url });
      expect(await cloud.describeAccount()).toMatchObject({ status: "active", dropletLimit: 25 });
      await cloud.getDroplet(1); // 404 → null; the response says 0 requests remain this hour
      const err = await cloud.listSizes().catch((e: Error) => e);
      expect((err as CloudError).kind).toBe("rate_limited");
      expect((err as Error).message).toMatch(/hourly request quota for this token is spent until \d{4}-.*listing droplet sizes was not attempted/);
      expect(tight.requests).toHaveLength(2);
    } finally {
      await tight.stop();
    }
  });

  it("abandons an attempt that gets no answer in attemptTimeoutMs, retries it, and says how long it waited", async () => {
    logLines = [];
    const cloud = makeProvider({ retries: 1, attemptTimeoutMs: 500 });
    fake.injectFault("GET /v2/droplets/*", { delayMs: 1500 }, 2);
    const err = await cloud.getDroplet(123).catch((e: unknown) => e);
    expect((err as CloudError).kind).toBe("timeout");
    expect((err as Error).message).toMatch(/did not answer within 0\.5 s while reading droplet 123 after 2 attempts/);
    expect(logLines.some((l) => l.includes("retrying") && l.includes('"networkCode":"ECONNABORTED"'))).toBe(true);
  });

  it("gives up at once when a 429 asks for a longer wait than it may take", async () => {
    logLines = [];
    fake.injectFault("GET /v2/account", { status: 429, retryAfterSeconds: 3600 });
    const err = await makeProvider().describeAccount().catch((e: Error) => e);
    expect((err as CloudError).kind).toBe("rate_limited");
    expect((err as Error).message).toMatch(/asks to wait until \d{4}-/);
  });
});

describe("DigitalOcean provider", () => {
  it("caches sizes for its TTL and shares one fetch between concurrent callers", async () => {
    logLines = [];
    const cloud = makeProvider();
    const before = countRequests("GET", "/v2/sizes");
    const [a, b] = await Promise.all([cloud.listSizes(), cloud.listSizes()]);
    expect(a).toBe(b);
    await cloud.getSize("s-1vcpu-1gb");
    expect(countRequests("GET", "/v2/sizes") - before).toBe(1);
    expect(await cloud.getSize("s-1vcpu-512mb-10gb")).toMatchObject({ priceHourly: 0.00595, priceMonthly: 4, transferTb: 0.5 });
    expect(await cloud.getSize("nope")).toBeNull();
    await cloud.listSizes({ refresh: true });
    expect(countRequests("GET", "/v2/sizes") - before).toBe(2);
  });

  it("follows pagination to the last size", async () => {
    const many = Array.from({ length: 450 }, (_, i) => ({ ...defaultSizes()[1]!, slug: `x-${i}` }));
    const big = await startFakeDigitalOcean({ token: TOKEN, dir, sizes: many });
    try {
      logLines = [];
      const sizes = await makeProvider({ url: big.url }).listSizes();
      expect(sizes.map((s) => s.slug)).toEqual(many.map((s) => s.slug));
      expect(big.requests.filter((r) => r.path === "/v2/sizes").map((r) => r.query.page)).toEqual(["1", "2", "3"]);
    } finally {
      await big.stop();
    }
  });

  it("registers the SSH key once and finds it again by fingerprint", async () => {
    logLines = [];
    const key = generateEd25519OpenSsh("idempotent");
    const first = await makeProvider().ensureSshKey("dropship", key.publicKey);
    const posts = countRequests("POST", "/v2/account/keys");
    expect(await makeProvider().ensureSshKey("dropship", key.publicKey)).toBe(first); // a fresh process: lookup, no POST
    expect(countRequests("POST", "/v2/account/keys")).toBe(posts);
    expect(fake.sshKeys().filter((k) => k.id === first)).toHaveLength(1);
  });

  it("turns a 422 for a size not offered in the region into advice", async () => {
    logLines = [];
    const cloud = makeProvider();
    const { req } = dropletRequest(90, { size: "s-1vcpu-512mb-10gb" });
    const err = await cloud.createDroplet(req).catch((e: Error) => e);
    expect((err as CloudError).kind).toBe("unprocessable");
    expect((err as Error).message).toBe(
      "DigitalOcean refused the droplet: the size s-1vcpu-512mb-10gb is not offered in fra1 — try DO_SIZE=s-1vcpu-1gb " +
        "($0.00893/h) or DO_REGION=ams3 (s-1vcpu-512mb-10gb is offered in ams3, atl1, blr1, nyc1, sfo3, sgp1, syd1).",
    );
    expect(await cloud.sizeProblem("s-1vcpu-512mb-10gb", "ams3")).toBeNull();
    expect(await cloud.sizeProblem("s-1vcpu-512mb-10gb", "fra1")).toMatch(/not offered in fra1/);
    // A capacity 422 that names regions with room: those are the ones suggested.
    fake.injectFault("POST /v2/droplets", { status: 422, availableRegions: ["lon1", "tor1"] });
    const cap = await cloud.createDroplet(dropletRequest(91).req).catch((e: Error) => e);
    expect((cap as Error).message).toMatch(/s-1vcpu-1gb is not offered in fra1 — try .*DO_REGION=lon1 \(s-1vcpu-1gb is offered in lon1, tor1\)/);
    expect(fake.droplets().filter((d) => !d.destroyed)).toHaveLength(0);
  });

  it("advises on unknown sizes, retired sizes and closed regions", async () => {
    logLines = [];
    const cloud = makeProvider();
    const unknown = await cloud.createDroplet(dropletRequest(92, { size: "s-64vcpu-1tb" }).req).catch((e: Error) => e);
    expect((unknown as Error).message).toBe(
      "DigitalOcean refused the droplet: the size s-64vcpu-1tb does not exist — try DO_SIZE=s-1vcpu-1gb ($0.00893/h), " +
        "DO_SIZE=s-1vcpu-1gb-amd ($0.01042/h), DO_SIZE=s-1vcpu-1gb-intel ($0.01042/h).",
    );
    expect(await cloud.sizeProblem("s-3vcpu-1gb", "fra1")).toBe(
      "the size s-3vcpu-1gb is no longer sold — try DO_SIZE=s-4vcpu-8gb ($0.07143/h)",
    );
    const closed = await cloud.createDroplet(dropletRequest(93, { region: "nyc2" }).req).catch((e: Error) => e);
    expect((closed as Error).message).toMatch(/^DigitalOcean refused the droplet: the size s-1vcpu-1gb is not offered in nyc2 — try DO_REGION=ams3 /);
    const badName = await cloud.createDroplet(dropletRequest(94, { name: "no_underscores" }).req).catch((e: Error) => e);
    expect((badName as Error).message).toMatch(/^DigitalOcean refused the droplet: Name Only valid hostname characters/);
  });

  it("creates, waits until active, reaches the droplet over pinned SSH, destroys it and confirms it gone", async () => {
    logLines = [];
    const cloud = makeProvider();
    const keyId = await cloud.ensureSshKey("dropship", botKey.publicKey);
    const { req, hostKey } = dropletRequest(1, { sshKeyIds: [keyId] });
    const created = await cloud.createDroplet(req);
    expect(created).toMatchObject({ status: "new", publicIpv4: null, tags: ["dropship", "dropship-job-1"], region: "fra1", afterLostAnswer: false });
    const { ip, droplet } = await cloud.waitUntilActive(created.id, { timeoutMs: 10_000 });
    expect(droplet.status).toBe("active");
    await fake.whenSshReady(created.id);
    const c = await sshConnect(ip, botKey.privateKey, pinnedHostVerifier(hostKey.publicKey));
    expect((await sshExec(c.client, "echo hi")).stdout).toBe("hi\n");
    c.client.end();
    expect((await cloud.listDropletsByTag("dropship-job-1")).map((d) => d.id)).toEqual([created.id]);

    await cloud.destroyDroplet(created.id);
    expect(await cloud.getDroplet(created.id)).toBeNull();
    expect(await portOpen(ip, 22)).toBe(false);
    await cloud.destroyDroplet(created.id); // already gone is fine
  });

  it("waits for a destroy that takes a while to show", async () => {
    const slow = await startFakeDigitalOcean({ token: TOKEN, dir, activeDelayMs: 50, destroyDelayMs: 400 });
    try {
      logLines = [];
      const cloud = makeProvider({ url: slow.url });
      const d = await cloud.createDroplet(dropletRequest(2).req);
      const t0 = Date.now();
      await cloud.destroyDroplet(d.id);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
      expect(slow.droplets()).toHaveLength(0);
    } finally {
      await slow.stop();
    }
  });

  it("does not create a second droplet when the answer to the first create was lost", async () => {
    logLines = [];
    const cloud = makeProvider();
    fake.injectFault("POST /v2/droplets", { status: 502, applied: true });
    const d = await cloud.createDroplet(dropletRequest(3).req);
    const mine = fake.droplets().filter((x) => x.tags.includes("dropship-job-3"));
    expect(mine.map((x) => x.id)).toEqual([d.id]);
    // The caller hears that an answer was lost: a droplet an attempt made could still turn up later.
    expect(d.afterLostAnswer).toBe(true);
    expect(logLines.some((l) => l.includes("succeeded after all"))).toBe(true);
    expect(await cloud.destroyByTag("dropship-job-3")).toEqual([d.id]);

    // A 500 that did not create anything: after looking, the create is sent again and succeeds once.
    fake.injectFault("POST /v2/droplets", { status: 500 });
    const posts = countRequests("POST", "/v2/droplets");
    const again = await cloud.createDroplet(dropletRequest(6).req);
    expect(countRequests("POST", "/v2/droplets") - posts).toBe(2);
    expect(fake.droplets().filter((x) => x.tags.includes("dropship-job-6")).map((x) => x.id)).toEqual([again.id]);
    await cloud.destroyDroplet(again.id);
  });

  it("finds the lost create even while new droplets are missing from lists", async () => {
    const lagging = await startFakeDigitalOcean({ token: TOKEN, dir, activeDelayMs: 50, listLagMs: 400 });
    try {
      logLines = [];
      const cloud = makeProvider({ url: lagging.url });
      lagging.injectFault("POST /v2/droplets", { status: 504, applied: true });
      const d = await cloud.createDroplet(dropletRequest(5).req);
      expect(lagging.droplets().map((x) => x.id)).toEqual([d.id]);
      expect(lagging.requests.filter((r) => r.method === "POST").length).toBe(1);
      await cloud.destroyDroplet(d.id);
    } finally {
      await lagging.stop();
    }
  });

  it("lists a tag until the lag has passed when asked to settle, so a droplet made a moment ago shows", async () => {
    const lagging = await startFakeDigitalOcean({ token: TOKEN, dir, activeDelayMs: 50, listLagMs: 1500 });
    try {
      const logger = createLogger({ level: "silent" });
      const client = createDigitalOceanClient({ token: TOKEN, apiUrl: lagging.url, logger, retry: { listLagMs: 2500, minDelayMs: 50 } });
      const cloud = createDigitalOceanProvider({ client, logger, pollInitialMs: 50, pollMaxMs: 200 });
      const d = await cloud.createDroplet(dropletRequest(7).req);
      const since = new Date();
      expect(await cloud.listDropletsByTag("dropship-job-7")).toEqual([]);
      expect((await cloud.listDropletsByTag("dropship-job-7", { settleSince: since })).map((x) => x.id)).toEqual([d.id]);
      await cloud.destroyDroplet(d.id);
    } finally {
      await lagging.stop();
    }
  });

  it("fails a create whose lost answer cannot be checked, saying so, without creating again", async () => {
    logLines = [];
    const cloud = makeProvider({ retries: 1 });
    fake.injectFault("POST /v2/droplets", { disconnect: true, applied: true });
    fake.injectFault("GET /v2/droplets", { status: 503 }, 2);
    const posts = countRequests("POST", "/v2/droplets");
    const err = await cloud.createDroplet(dropletRequest(8).req).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      /^The answer to creating the droplet was lost, and checking whether it was created failed: DigitalOcean had a server error \(503.*while listing droplets tagged dropship-job-8 after 2 attempts/,
    );
    expect(countRequests("POST", "/v2/droplets") - posts).toBe(1);
    expect(await cloud.destroyByTag("dropship-job-8")).toHaveLength(1);
  });

  it("times out waiting with an actionable message, and stops waiting when aborted", async () => {
    // No list lag: destroyByTag right after the create must see the droplet (the lag has its own test above).
    const sluggish = await startFakeDigitalOcean({ token: TOKEN, dir, activeDelayMs: 60_000, listLagMs: 0 });
    try {
      logLines = [];
      const cloud = makeProvider({ url: sluggish.url });
      const d = await cloud.createDroplet(dropletRequest(4).req);
      const err = await cloud.waitUntilActive(d.id, { timeoutMs: 300 }).catch((e: Error) => e);
      expect((err as CloudError).kind).toBe("timeout");
      expect((err as Error).message).toMatch(/did not become active within 0 s \(last status: new\).*DO_BOOT_TIMEOUT_SECONDS/);
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error("job cancelled")), 100);
      await expect(cloud.waitUntilActive(d.id, { timeoutMs: 10_000, signal: ac.signal })).rejects.toThrow("job cancelled");
      expect(await cloud.destroyByTag("dropship")).toEqual([d.id]);
    } finally {
      await sluggish.stop();
    }
  });

  it("notices a boot within one 500 ms poll of it becoming active", async () => {
    const booting = await startFakeDigitalOcean({ token: TOKEN, dir, activeDelayMs: 1500, listLagMs: 0, destroyDelayMs: 0 });
    try {
      logLines = [];
      const waits: number[] = [];
      const pollPacer = createPollPacer({ sleep: (ms, signal) => (waits.push(ms), abortableSleep(ms, signal)) });
      const cloud = makeProvider({ url: booting.url, pollPacer });
      const d = await cloud.createDroplet(dropletRequest(20).req);
      const { droplet } = await cloud.waitUntilActive(d.id, { timeoutMs: 20_000 });
      expect(droplet.status).toBe("active");
      const polls = booting.requests.filter((r) => r.method === "GET" && r.path === `/v2/droplets/${d.id}`);
      // It polled while the droplet was new (it returns at the first "active"), each poll at most 500 ms after the one
      // before: the boot was seen within 500 ms (and one request) of happening. The old schedule waited 2 s, then 3 s.
      expect(polls.length).toBeGreaterThanOrEqual(3);
      expect(waits).toHaveLength(polls.length);
      expect(waits[0]).toBe(0);
      expect(Math.max(...waits)).toBeLessThanOrEqual(500);
    } finally {
      await booting.stop();
    }
  });

  it("keeps the polls of three boots at once (MAX_DROPLETS=3) within one budget of 120 a minute", async () => {
    const booting = await startFakeDigitalOcean({ token: TOKEN, dir, activeDelayMs: 4000, listLagMs: 0, destroyDelayMs: 0 });
    try {
      logLines = [];
      const cloud = makeProvider({ url: booting.url }); // the production budget
      const created = await Promise.all([21, 22, 23].map((job) => cloud.createDroplet(dropletRequest(job).req)));
      const active = await Promise.all(created.map((d) => cloud.waitUntilActive(d.id, { timeoutMs: 30_000 })));
      expect(active.map((a) => a.droplet.status)).toEqual(["active", "active", "active"]);
      const polls = booting.requests
        .filter((r) => r.method === "GET" && /^\/v2\/droplets\/\d+$/.test(r.path))
        .map((r) => r.at)
        .sort((a, b) => a - b);
      // The three share turns 500 ms apart; each on its own 500 ms schedule they would make three times as many polls.
      // (Later than its turn is possible on a busy machine, earlier is not: this can only fail if the budget is not shared.)
      const spanMs = polls.at(-1)! - polls[0]!;
      expect(polls.length).toBeGreaterThanOrEqual(3 * 2);
      expect(polls.length).toBeLessThanOrEqual(Math.floor(spanMs / 500) + 3);
      expect(booting.requests.filter((r) => r.status === 429)).toEqual([]);
    } finally {
      await booting.stop();
    }
  });

  it("reaps orphans: droplets with the tag that no job knows", async () => {
    logLines = [];
    const cloud = makeProvider();
    const known = await cloud.createDroplet(dropletRequest(10).req);
    const orphan = await cloud.createDroplet(dropletRequest(11).req);
    const query = { tag: "dropship", isKnown: (d: { id: number }) => d.id === known.id, minAgeMs: 0 };
    expect((await findOrphanDroplets(cloud, query)).map((d) => d.id)).toEqual([orphan.id]);
    const logger = createLogger({ level: "silent" });
    expect(await reapOrphanDroplets(cloud, { ...query, logger })).toEqual({ destroyed: [orphan.id], failed: [] });
    expect(fake.droplet(orphan.id)).toBeUndefined();
    expect(await cloud.destroyByTag("dropship")).toEqual([known.id]);
  });

  it("leaves droplets younger than minAgeMs to the job that is creating them", async () => {
    const at = (iso: string) => ({ id: Date.parse(iso), name: iso, status: "active" as const, publicIpv4: null, tags: ["dropship"], sizeSlug: "s", region: "r", createdAt: new Date(iso) });
    const listed = [at("2026-03-01T10:00:00Z"), at("2026-03-01T10:09:00Z"), at("2026-03-01T10:09:59Z")];
    const stub = { listDropletsByTag: async (tag: string) => (tag === "dropship" ? listed : []) };
    const now = () => Date.parse("2026-03-01T10:10:00Z");
    const orphans = await findOrphanDroplets(stub, { tag: "dropship", isKnown: () => false, minAgeMs: 60_000, now });
    expect(orphans.map((d) => d.name)).toEqual(["2026-03-01T10:00:00Z", "2026-03-01T10:09:00Z"]);
  });
});

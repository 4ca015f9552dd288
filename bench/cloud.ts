// Cloud adapter benchmark against the fake DigitalOcean API: droplet create → SSH ready and destroy → gone
// through the real provider, beside starting the same sshd directly (the floor the fake imposes); and
// listing every size through the adapter beside a plain fetch loop over the same pages. Each round runs ours then
// the plain side, so both see the same machine load; the figures are medians and the ratio of the medians.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildUserData, generateHostKeyPair } from "../src/cloud/cloud-init.js";
import { createDigitalOceanClient } from "../src/cloud/digitalocean-client.js";
import { createDigitalOceanProvider } from "../src/cloud/digitalocean-provider.js";
import { createPollPacer } from "../src/cloud/status-polls.js";
import { generateEd25519OpenSsh } from "../src/shared/ed25519-openssh.js";
import { createLogger } from "../src/shared/logger.js";
import { startFakeDigitalOcean } from "../test/world/fake-digitalocean.js";
import { defaultSizes } from "../test/world/fake-digitalocean-catalog.js";
import { dropletImagePrepare } from "../test/world/fake-droplet-image.js";
import { portOpen, startSshHost } from "../test/world/sshd-host.js";
import type { BenchResult } from "./types.js";
import { comparison, median } from "./stats.js";

const TOKEN = "dop_v1_bench_cloud_token_0123456789abcdef";
const DROPLET_ROUNDS = 5;
const LIST_ROUNDS = 30;

export async function run(): Promise<BenchResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-cloud-"));
  const sizes = Array.from({ length: 450 }, (_, i) => ({ ...defaultSizes()[1]!, slug: `bench-${i}` }));
  sizes[0] = defaultSizes()[1]!; // s-1vcpu-1gb, for the droplets
  // DigitalOcean's 250 requests/minute would answer 429 to part of the 200-odd calls below: the adapter would wait
  // out the retries and the plain loop fail. This measures the calls, not the rate limit.
  const rateLimit = { perHour: 100_000, perMinute: 10_000 };
  // No simulated boot, sshd start, cloud-init packages or destroy lag (the fake's realistic defaults sleep up to
  // ~4 s): the figures are the adapter's calls and polling over a droplet that is there at once, against making
  // the same droplet (namespace on the world's bridge + the image's sshd) directly.
  const fake = await startFakeDigitalOcean({
    token: TOKEN,
    dir: path.join(dir, "do"),
    activeDelayMs: 0,
    sshDelayMs: 0,
    destroyDelayMs: 0,
    cloudInitPackagesMs: 0,
    sizes,
    rateLimit,
  });
  try {
    const logger = createLogger({ level: "silent" });
    const client = createDigitalOceanClient({ token: TOKEN, apiUrl: fake.url, logger });
    // Polls as fast as the calls go, with the shared budget out of the way (like the raised rate limit above).
    const cloud = createDigitalOceanProvider({
      client,
      logger,
      pollInitialMs: 10,
      pollMaxMs: 50,
      bootPolls: { fastMs: 10, maxMs: 50 },
      pollPacer: createPollPacer({ perMinute: 600_000 }),
    });
    const bot = generateEd25519OpenSsh("bench");

    const ours = { ready: [] as number[], gone: [] as number[] };
    const plain = { ready: [] as number[], gone: [] as number[] };
    for (let i = 0; i < DROPLET_ROUNDS; i++) {
      const hostKey = generateHostKeyPair();
      let t0 = performance.now();
      const d = await cloud.createDroplet({
        name: `bench-${i}`,
        region: "fra1",
        size: "s-1vcpu-1gb",
        image: "debian-12-x64",
        tags: ["dropship", `dropship-bench-${i}`],
        sshKeyIds: [],
        userData: buildUserData({ hostKey, authorizedKeys: [bot.publicKey] }),
      });
      const { ip } = await cloud.waitUntilActive(d.id, { timeoutMs: 10_000 });
      while (!(await portOpen(ip, 22))) await new Promise((r) => setTimeout(r, 5));
      ours.ready.push(performance.now() - t0);
      t0 = performance.now();
      await cloud.destroyDroplet(d.id);
      ours.gone.push(performance.now() - t0);

      // The same droplet made directly: a namespace on the world's bridge and the image's sshd in it.
      t0 = performance.now();
      const ns = await fake.net.addDroplet();
      const host = await startSshHost({
        address: ns.address,
        dir: path.join(dir, `plain-${i}`),
        hostPrivateKey: hostKey.privateKey,
        authorizedKeys: [bot.publicKey],
        netnsPath: ns.nsPath,
        prepare: dropletImagePrepare(),
      });
      plain.ready.push(performance.now() - t0);
      t0 = performance.now();
      await host.stop();
      await ns.remove();
      plain.gone.push(performance.now() - t0);
    }

    const listOurs: number[] = [];
    const listPlain: number[] = [];
    for (let i = 0; i < LIST_ROUNDS; i++) {
      let t0 = performance.now();
      const got = await cloud.listSizes({ refresh: true });
      listOurs.push(performance.now() - t0);
      t0 = performance.now();
      const n = await plainListSizes(fake.url);
      listPlain.push(performance.now() - t0);
      if (got.length !== sizes.length || n !== sizes.length) throw new Error(`listed ${got.length}/${n} of ${sizes.length} sizes`);
    }

    return [
      ...figure("cloud: droplet create → SSH port open (fake DO, 0 ms boot)", ours.ready, plain.ready, "plain startSshHost"),
      ...figure("cloud: droplet destroy → confirmed gone (fake DO)", ours.gone, plain.gone, "plain SshHost.stop"),
      ...figure("cloud: list 450 sizes, 3 pages (adapter)", listOurs, listPlain, "plain fetch loop"),
    ];
  } finally {
    await fake.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function plainListSizes(base: string): Promise<number> {
  let n = 0;
  let next: string | undefined = `${base}/sizes?page=1&per_page=200`;
  while (next) {
    const res = await fetch(next, { headers: { authorization: `Bearer ${TOKEN}` } });
    if (!res.ok) throw new Error(`plain fetch loop: GET ${next} answered ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { sizes: unknown[]; links: { pages?: { next?: string } } };
    n += body.sizes.length;
    next = body.links.pages?.next;
  }
  return n;
}

/** Our median, and (as a second figure) the ratio of our median to the plain tool's median, alternating in the same run. */
function figure(name: string, ours: number[], plain: number[], plainName: string): BenchResult[] {
  const c = comparison(ours, plain);
  const detail = { ...c, plainIs: plainName, rounds: `${ours.length} each, alternating (ours, plain, …)` };
  return [
    { name, value: Math.round(median(ours) * 10) / 10, unit: "ms (median)", lowerIsBetter: true, detail },
    { name: `${name} ÷ ${plainName}`, value: Math.round(c.ratio * 100) / 100, unit: "x", lowerIsBetter: true, detail },
  ];
}

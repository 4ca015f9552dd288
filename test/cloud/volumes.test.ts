// Block storage volumes: the fake's endpoints (shared/do-openapi.yaml) over real HTTP, its droplets' scaled disks, and
// the production adapter (dots-wrapper + retries) creating, attaching and deleting volumes a droplet really mounts.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/shared/logger.js";
import { createDigitalOceanClient } from "../../src/cloud/digitalocean-client.js";
import { createDigitalOceanProvider } from "../../src/cloud/digitalocean-provider.js";
import type { CloudProvider } from "../../src/cloud/cloud-provider.js";
import { buildUserData, generateHostKeyPair } from "../../src/cloud/cloud-init.js";
import { startFakeDigitalOcean, volumeDevicePath, type FakeDigitalOcean } from "../world/fake-digitalocean.js";
import { sshConnect, sshExec } from "./ssh-test-client.js";
import { generateEd25519OpenSsh } from "../../src/shared/ed25519-openssh.js";

const TOKEN = "dop_v1_volume_test_0123456789abcdef012345";
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const botKey = generateEd25519OpenSsh("dropship-bot");
let dir: string;
let fake: FakeDigitalOcean;
let cloud: CloudProvider;

async function api(method: string, p: string, body?: unknown) {
  const res = await fetch(fake.url + p, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** A droplet of `job` with the bot's key, booted and answering SSH; returns its id and an SSH exec. */
async function bootDroplet(job: number) {
  const hostKey = generateHostKeyPair();
  const created = await cloud.createDroplet({
    name: `dropship-job-${job}`,
    region: "fra1",
    size: "s-1vcpu-1gb",
    image: "debian-12-x64",
    tags: ["dropship", `dropship-job-${job}`],
    sshKeyIds: [],
    userData: buildUserData({ hostKey, authorizedKeys: [botKey.publicKey], packages: [] }),
  });
  const { ip } = await cloud.waitUntilActive(created.id, { timeoutMs: 10_000 });
  await fake.whenSshReady(created.id);
  const { client } = await sshConnect(ip, botKey.privateKey);
  return { id: created.id, client, sh: (cmd: string) => sshExec(client, cmd) };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "do-volumes-"));
  // A droplet's 25 GiB disk is 25 MiB here (1 MiB per GiB), so filling it takes a moment.
  fake = await startFakeDigitalOcean({ token: TOKEN, dir, activeDelayMs: 200, sshDelayMs: 200, listLagMs: 0, destroyDelayMs: 0, diskBytesPerGib: MIB });
  const logger = createLogger({ level: "silent" });
  const client = createDigitalOceanClient({ token: TOKEN, apiUrl: fake.url, logger, retry: { retries: 3, minDelayMs: 50, maxDelayMs: 200, attemptTimeoutMs: 5000 } });
  cloud = createDigitalOceanProvider({ client, logger, pollInitialMs: 50, pollMaxMs: 200, destroyTimeoutMs: 5000, createLookupMs: 300 });
});

afterEach(() => fake.clearFaults());

afterAll(async () => {
  await fake?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("fake DigitalOcean: volume endpoints", () => {
  it("validates creates as the spec states them and keeps names unique per region", async () => {
    const good = { name: "vol-a", region: "fra1", size_gigabytes: 1, filesystem_type: "ext4", tags: ["dropship", "dropship-job-1"] };
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ ...good, name: "Vol_A" }, /lowercase/],
      [{ ...good, name: "1vol" }, /begin with a letter/],
      [{ ...good, size_gigabytes: 0 }, /from 1 to 16384/],
      [{ ...good, size_gigabytes: 16_385 }, /from 1 to 16384/],
      [{ ...good, region: "xx1" }, /invalid region/],
      [{ ...good, region: "nyc2" }, /not available in nyc2/],
      [{ ...good, tags: ["no spaces"] }, /Tag names/],
    ];
    for (const [body, message] of bad) {
      const r = await api("POST", "/volumes", body);
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.json).toMatchObject({ id: "unprocessable_entity" });
      expect(r.json.message).toMatch(message);
    }
    const created = await api("POST", "/volumes", good);
    expect(created.status).toBe(201);
    expect(created.json.volume).toMatchObject({ name: "vol-a", size_gigabytes: 1, droplet_ids: [], filesystem_type: "ext4", region: { slug: "fra1" }, tags: good.tags });
    expect((await api("POST", "/volumes", good)).status).toBe(409);
    expect((await api("POST", "/volumes", { ...good, region: "ams3" })).status).toBe(201);
    const byName = await api("GET", "/volumes?name=vol-a&region=fra1");
    expect(byName.json.volumes.map((v: { id: string }) => v.id)).toEqual([created.json.volume.id]);
    expect(byName.json.meta.total).toBe(1);
    // Sparse: a 1 GiB volume takes what mkfs wrote, not a GiB of this machine's disk.
    const file = fake.volumes().find((v) => v.id === created.json.volume.id)!.file;
    expect(fs.statSync(file).size).toBe(GIB);
    expect(fs.statSync(file).blocks * 512).toBeLessThan(80 * MIB);
    for (const v of (await api("GET", "/volumes")).json.volumes) expect((await api("DELETE", `/volumes/${v.id}`)).status).toBe(204);
    expect((await api("GET", `/volumes/${created.json.volume.id}`)).status).toBe(404);
    expect(fs.existsSync(file)).toBe(false);
  });

  it("gives a droplet a disk of its size scaled down, which fills up with ENOSPC", async () => {
    const d = await bootDroplet(2);
    try {
      const df = await d.sh("df -B1 --output=size,avail /root | tail -1");
      const [size, avail] = df.stdout.trim().split(/\s+/).map(Number);
      expect(size).toBe(25 * MIB);
      expect(avail).toBeGreaterThan(24 * MIB);
      const full = await d.sh("head -c 30M /dev/zero > /root/fill.bin; echo rc=$?; stat -c %s /root/fill.bin");
      expect(full.stderr).toMatch(/No space left on device/);
      expect(Number(full.stdout.trim().split("\n").at(-1))).toBeLessThanOrEqual(25 * MIB);
      // Its own: this machine's view of the droplet's directory holds none of it.
      expect(fs.existsSync(path.join(fake.droplet(d.id)!.dir, "host", "root", "fill.bin"))).toBe(false);
      expect(fs.statSync(path.join(fake.droplet(d.id)!.host!.rootfs()!, "root", "fill.bin")).size).toBeGreaterThan(20 * MIB);
    } finally {
      d.client.end();
      await cloud.destroyDroplet(d.id);
    }
  });
});

describe("volumes through the DigitalOcean adapter", () => {
  it("creates, attaches (the droplet mounts it at DigitalOcean's device path), refuses to delete it attached, and deletes it once its droplet is gone", async () => {
    const d = await bootDroplet(3);
    const tags = ["dropship", "dropship-job-3"];
    const volume = await cloud.createVolume({ name: "dropship-job-3-abc", region: "fra1", sizeGib: 2, tags });
    expect(volume).toMatchObject({ name: "dropship-job-3-abc", sizeGib: 2, region: "fra1", dropletIds: [], tags });
    await cloud.attachVolume(volume.id, d.id, "fra1", { timeoutMs: 10_000 });
    await cloud.attachVolume(volume.id, d.id, "fra1", { timeoutMs: 10_000 }); // already attached: nothing to do
    const dev = volumeDevicePath("dropship-job-3-abc");
    const mounted = await d.sh(`mkdir -p /root/vol && mount -o defaults,nofail,discard,noatime ${dev} /root/vol && df -B1 --output=size,avail /root/vol | tail -1 && head -c 40M /dev/zero > /root/vol/big.bin && stat -c %s /root/vol/big.bin`);
    expect(mounted.code, mounted.stderr).toBe(0);
    const [size, avail] = mounted.stdout.trim().split("\n")[0]!.split(/\s+/).map(Number);
    // ext4 on 2 GiB: journal, inode tables and the 5% kept for root leave ~89% (measured).
    expect(size).toBeGreaterThan(1.8 * GIB);
    expect(avail).toBeGreaterThan(1.7 * GIB);
    expect(mounted.stdout.trim().split("\n")[1]).toBe(String(40 * MIB)); // more than the droplet's 25 MiB disk holds
    expect((await cloud.listVolumesByTag("dropship-job-3")).map((v) => v.dropletIds)).toEqual([[d.id]]);
    // Attached: DigitalOcean refuses the delete (409), and the adapter gives up after its timeout.
    const raw = await api("DELETE", `/volumes/${volume.id}`);
    expect(raw.status).toBe(409);
    expect(raw.json.message).toMatch(/attached to a Droplet cannot be deleted/);
    await expect(cloud.deleteVolume(volume.id, { timeoutMs: 300 })).rejects.toMatchObject({ kind: "conflict" });
    d.client.end();
    await cloud.destroyDroplet(d.id);
    // The droplet is gone but lets go of the volume only a second later: the delete waits that out.
    const t0 = Date.now();
    await cloud.deleteVolume(volume.id);
    expect(Date.now() - t0).toBeGreaterThan(200);
    expect(fake.volumes()).toHaveLength(0);
    await cloud.deleteVolume(volume.id); // already gone: fine
    expect(fake.volumeHistory().find((h) => h.id === volume.id)?.deletedAt).toBeInstanceOf(Date);
  });

  it("creates a volume once although the answer to the create was lost", async () => {
    fake.injectFault("POST /v2/volumes", { status: 500, applied: true });
    const before = fake.volumeHistory().length;
    const volume = await cloud.createVolume({ name: "dropship-job-4-lost", region: "fra1", sizeGib: 1, tags: ["dropship", "dropship-job-4"] });
    expect(fake.volumeHistory().length - before).toBe(1);
    expect(fake.volumes().map((v) => v.id)).toEqual([volume.id]);
    // A second create of the same request (a restarted bot) takes the volume it made; someone else's name is refused.
    expect((await cloud.createVolume({ name: "dropship-job-4-lost", region: "fra1", sizeGib: 1, tags: ["dropship", "dropship-job-4"] })).id).toBe(volume.id);
    await expect(cloud.createVolume({ name: "dropship-job-4-lost", region: "fra1", sizeGib: 1, tags: ["dropship", "dropship-job-5"] })).rejects.toThrow(
      /already has a volume called dropship-job-4-lost in fra1 that Dropship did not make/,
    );
    await cloud.deleteVolume(volume.id);
  });
});

// Issue 12's fault suite, the SSH half: at each step of a torrent job that uses SSH, every SSH connection to its
// droplet is cut (the droplet's sshd keeps listening, as after a network blip). Each job must still end done with the
// seed's exact bytes and no droplet left: the job reconnects with the pinned host key and carries on from its
// recorded state (aria2 reattached, pulls resumed, Ansible's own connections retried).
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TORRENT_FLOW, type TorrentState } from "../../src/jobs/torrent/torrent-states.js";
import type { DeliveredFile } from "../../src/jobs/torrent/torrent-job.js";
import { ALICE, buttonData, isCard, lastMessageId, nextBotMessage, startWorld, type World } from "./harness.js";

let world: World;

beforeAll(async () => {
  world = await startWorld();
  // Every case runs at once, in one bot.
  await world.startApp({ MAX_DROPLETS: "10", MAX_DROPLETS_PER_USER: "10" });
}, 180_000);

afterAll(async () => {
  await world?.stop();
});

/** The states at which the job is using SSH, and what it is doing then. */
const CUT_AT: { state: TorrentState; doing: string }[] = [
  { state: "droplet_active", doing: "connecting" },
  { state: "ssh_ready", doing: "provisioning (Ansible's connections)" },
  { state: "downloading", doing: "aria2 over the tunnel" },
  { state: "transferring", doing: "the SFTP pull" },
];

/** Polls `check` every 10 ms (job states change without a chat message). */
async function pollUntil<T>(check: () => T | undefined | null | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const index = (s: string) => (TORRENT_FLOW as readonly string[]).indexOf(s);

interface Outcome {
  cutAt: TorrentState;
  doing: string;
  cutWhen: string;
  state: string;
  error: string | null;
  verified: boolean;
  dropletsLeft: number;
}

async function runCase(c: (typeof CUT_AT)[number]): Promise<Outcome> {
  const name = `cut-${c.state}.bin`;
  // A few seconds of download, so each step lasts long enough to be cut.
  const t = await world.swarm.addTorrent({ name, files: [{ path: name, size: 12 * 1024 * 1024 }], uploadLimitBytesPerSecond: 3 * 1024 * 1024 });
  const before = lastMessageId(world, ALICE.id);
  world.telegram.sendText(ALICE, t.magnet);
  const card = await nextBotMessage(world, ALICE.id, before, (m) => isCard(m) && m.text.includes(name), 30_000);
  const jobId = Number(buttonData(card, /Start/).split(":").pop());
  world.telegram.pressButton(ALICE, card, buttonData(card, /Start/));
  const app = world.app!;
  const tag = `dropship-job-${jobId}`;
  const cutWhen = await pollUntil(() => {
    const j = app.jobs.get(jobId)!;
    if (["done", "failed", "cancelled"].includes(j.state)) return j.state;
    if (index(j.state) < index(c.state)) return null;
    const droplet = world.digitalOcean.droplets().find((d) => !d.destroyed && d.tags.includes(tag));
    droplet?.host?.killSessions();
    return j.state;
  }, 120_000, `job ${jobId} to reach ${c.state}`);
  const end = await pollUntil(() => {
    const j = app.jobs.get(jobId)!;
    return ["done", "failed", "cancelled"].includes(j.state) ? j : null;
  }, 180_000, `job ${jobId} to end`);
  const files = (end.data as { files?: DeliveredFile[] }).files ?? [];
  const local = path.join(app.config.downloads.dir, String(jobId), name);
  const verified = files.length === 1 && fs.existsSync(local) && createHash("sha256").update(fs.readFileSync(local)).digest("hex") === t.files[0]!.sha256;
  await pollUntil(() => world.digitalOcean.droplets().every((d) => d.destroyed || !d.tags.includes(tag)), 30_000, "its droplet gone").catch(() => undefined);
  const dropletsLeft = world.digitalOcean.droplets().filter((d) => !d.destroyed && d.tags.includes(tag)).length;
  return { cutAt: c.state, doing: c.doing, cutWhen, state: end.state, error: end.error, verified, dropletsLeft };
}

describe("SSH connections cut at each step of a torrent job", () => {
  it("every job reconnects and ends done with verified files, leaving no droplet", async () => {
    const outcomes = await Promise.all(CUT_AT.map((c) => runCase(c)));
    const correct = outcomes.filter((o) => o.state === "done" && o.verified && o.dropletsLeft === 0);
    console.table(outcomes);
    console.log(`SSH faults injected: ${outcomes.length}, jobs ended correctly: ${correct.length}`);
    for (const o of outcomes) {
      const what = `cut at ${o.cutAt} (${o.doing}; the job was ${o.cutWhen}): ${o.state} ${o.error ?? ""}`;
      expect(o.state, what).toBe("done");
      expect(o.verified, what).toBe(true);
      expect(o.dropletsLeft, what).toBe(0);
    }
    // The reconnects really happened (one per cut that hit a live connection of the job's own).
    expect(world.logLines.some((l) => l.includes("the SSH connection dropped; reconnecting and carrying on") || l.includes("transfer resumed after dropped connections"))).toBe(true);
  }, 400_000);
});

// Issue 12's crash table: the real bot process (`npm start`, one node process in its own group) is SIGKILLed the
// moment a torrent job reaches each state, then started again on the same data. From droplet_active on, every job
// must end done with the seed's exact bytes; before that, done or failed with the owner told. Never a droplet left,
// always the cost booked. Then the same with SIGTERM: ON_SHUTDOWN=detach (exit ≤ 5 s, the job resumes and completes)
// and ON_SHUTDOWN=destroy (exit ≤ 5 s, droplet gone). One more row kills it while downloading a two-file torrent once
// its first file was pulled early: the resumed job keeps that file (recorded with when it was verified) and pulls only
// the other. Prints the table.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TORRENT_FLOW, type TorrentState } from "../../src/jobs/torrent/torrent-states.js";
import { startFakeTelegram, type FakeTelegram } from "../world/fake-telegram.js";
import type { SwarmTorrent } from "../world/swarm.js";
import { BotProcesses, expectGone, killGroup, readBotDb, waitForOutput, type BotProcess } from "./bot-process.js";
import { startFakeDigitalOcean } from "../world/fake-digitalocean.js";
import { ALICE, BOT_TOKEN, DO_TOKEN, buttonData, isCard, startWorld, type World } from "./harness.js";
import { DROPLET_SWARM_ARIA2_OPTIONS } from "../world/swarm.js";
import type { TorrentJobData } from "../../src/jobs/torrent/torrent-job.js";

const MIB = 1024 * 1024;
const FILE_SIZE = 16 * MIB;
// Slow enough that downloading lasts a few seconds; every other state lasts as long as the world makes it.
const SEED_RATE = 6 * 1024 * 1024;
const FINAL = new Set(["done", "failed", "cancelled"]);
const ROWS_AT_ONCE = 3;

type How = "none" | "SIGKILL" | "SIGTERM detach" | "SIGTERM destroy";

interface Row {
  how: How;
  target: TorrentState | null;
  /** Killed while downloading the two-file torrent, once its first file was pulled early. */
  afterEarlyPull?: true;
  /** Files verified before the kill (path → verifiedAt), and whether the resumed job kept each as it was. */
  pulledAtKill?: Record<string, number>;
  earlyPullsKept?: boolean;
  stateAtKill?: string;
  outcome?: string;
  error?: string | null;
  dropletsLeft?: number;
  totalSeconds?: number;
  exitMs?: number;
  filesVerified?: boolean;
  costBooked?: number;
  /** Droplets DigitalOcean created for the job, destroyed ones included. */
  dropletsCreated?: number;
  ownerTold?: boolean;
}

const bots = new BotProcesses();
let world: World;
let torrent: SwarmTorrent;
/** A small file aria2 finishes early (the first MiB of each file comes first) and a big one the seeder makes last. */
let twoFiles: SwarmTorrent;

beforeAll(async () => {
  world = await startWorld();
  torrent = await world.swarm.addTorrent({
    name: "restart.bin",
    files: [{ path: "restart.bin", size: FILE_SIZE }],
    uploadLimitBytesPerSecond: SEED_RATE,
  });
  twoFiles = await world.swarm.addTorrent({
    name: "restart two",
    files: [
      { path: "01 small.bin", size: 512 * 1024 },
      { path: "02 big.bin", size: 24 * MIB },
    ],
    uploadLimitBytesPerSecond: 2 * MIB,
  });
}, 180_000);

afterAll(async () => {
  await bots.cleanUp();
  await world?.stop();
});

const flowIndex = (s: string) => (TORRENT_FLOW as readonly string[]).indexOf(s);

const jobState = (dataDir: string, jobId: number) =>
  readBotDb(dataDir, (db) => db.prepare<[number], { state: string; error: string | null; data: string }>("SELECT state, error, data FROM jobs WHERE id = ?").get(jobId)!);

async function pollUntil<T>(what: string, check: () => T | undefined | null | false, timeoutMs: number, everyMs = 5): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function runRow(row: Row, label: string): Promise<void> {
  // Each row is its own deployment: its own Telegram bot and its own DigitalOcean account. (Two bots on one account
  // would reap each other's droplets: the start-up sweep owns every droplet tagged "dropship".)
  const telegram: FakeTelegram = await startFakeTelegram({ token: BOT_TOKEN });
  // Droplets the fake created, by name: its list forgets a destroyed droplet a second after the destroy.
  const created: string[] = [];
  const digitalOcean = await startFakeDigitalOcean({
    token: DO_TOKEN,
    dir: path.join(world.dir, `droplets-${label}`),
    net: world.net,
    activeDelayMs: 500,
    log: (line) => void (/^droplet \d+ \((\S+)\) created/.exec(line)?.slice(1).forEach((name) => created.push(name))),
  });
  let bot: BotProcess | undefined;
  try {
    const onShutdown = row.how === "SIGTERM destroy" ? "destroy" : "detach";
    const env = await world.env({
      DATA_DIR: path.join(world.dir, `data-${label}`),
      TELEGRAM_API_ROOT: telegram.apiRoot,
      DO_API_URL: digitalOcean.url,
      ON_SHUTDOWN: onShutdown,
      LOG_LEVEL: "info",
      ...(row.afterEarlyPull ? { ARIA2_EXTRA_OPTIONS: [...DROPLET_SWARM_ARIA2_OPTIONS, "--bt-prioritize-piece=head=1M"].join(" ") } : {}),
    });
    const rowTorrent = row.afterEarlyPull ? twoFiles : torrent;
    const dataDir = env.DATA_DIR!;
    bot = bots.start(env);
    await waitForOutput(bot, /Dropship started/);
    if (row.afterEarlyPull) {
      // Both files, without the file picker's pause after the metadata: the owner says so on /settings.
      telegram.sendText(ALICE, "/settings");
      const settings = await telegram.waitFor(() => telegram.messages(ALICE.id).find((m) => m.text.includes("Your settings")), 30_000, "the settings");
      const pressed = telegram.pressButton(ALICE, settings, buttonData(settings, /Fetch all/));
      await telegram.waitFor(() => telegram.answeredCallbacks.some((a) => a.callback_query_id === pressed), 15_000, "the settings saved");
    }
    telegram.sendText(ALICE, rowTorrent.magnet);
    const card = await telegram.waitFor(() => telegram.messages(ALICE.id).find(isCard), 30_000, "the card");
    const jobId = Number(buttonData(card, /Start/).split(":").pop());
    const started = Date.now();
    telegram.pressButton(ALICE, card, buttonData(card, /Start/));
    const tag = `dropship-job-${jobId}`;
    const live = () => digitalOcean.droplets().filter((d) => !d.destroyed && d.tags.includes(tag));

    if (row.how !== "none") {
      const target = row.target!;
      await pollUntil(`job ${jobId} to reach ${target}${row.afterEarlyPull ? " with a file pulled" : ""}`, () => {
        const { state, data } = jobState(dataDir, jobId);
        if (row.afterEarlyPull) return FINAL.has(state) || (state === target && ((JSON.parse(data) as TorrentJobData).pulled ?? []).length > 0);
        return FINAL.has(state) || flowIndex(state) >= flowIndex(target);
      }, 120_000);
      if (row.how === "SIGKILL") {
        killGroup(bot, "SIGKILL");
        await bot.exited;
      } else {
        const t0 = Date.now();
        process.kill(bot.pid, "SIGTERM"); // to the bot only, as a supervisor would
        await bot.exited;
        row.exitMs = Date.now() - t0;
      }
      expectGone(bot);
      const atKill = jobState(dataDir, jobId);
      row.stateAtKill = atKill.state;
      row.pulledAtKill = Object.fromEntries(((JSON.parse(atKill.data) as TorrentJobData).pulled ?? []).map((f) => [f.path, f.verifiedAt]));
      if (row.how === "SIGTERM destroy") {
        // The droplet is gone by the time the process is (DigitalOcean has the delete; the ledger says destroyed).
        row.dropletsLeft = live().length;
      }
      bot = bots.start(env);
      await waitForOutput(bot, /Dropship started/);
    }
    const end = await pollUntil(`job ${jobId} to end`, () => {
      const j = jobState(dataDir, jobId);
      return FINAL.has(j.state) ? j : null;
    }, 180_000, 100);
    row.totalSeconds = (Date.now() - started) / 1000;
    row.outcome = end.state;
    row.error = end.error;
    // The owner hears how it ended: the card (or a reply to it) says so.
    await telegram.waitFor(() => telegram.messages(ALICE.id).some((m) => m.message_id >= card.message_id && /^(✅|❌|🛑)/u.test(m.text)), 30_000, "the outcome in chat");
    row.ownerTold = true;
    // Let the restarted bot finish its start-up sweep, then stop it.
    await pollUntil("no live droplet for the job", () => live().length === 0, 60_000, 100).catch(() => undefined);
    process.kill(bot.pid, "SIGTERM");
    await bot.exited;
    row.dropletsLeft ??= live().length;
    // From the fake's request log (a destroyed droplet drops out of its list): each row has an account of its own.
    row.dropletsCreated = digitalOcean.requests.filter((r) => r.method === "POST" && /\/droplets$/.test(r.path) && r.status < 300).length;
    if (row.how === "SIGTERM destroy") row.dropletsLeft = Math.max(row.dropletsLeft, live().length);
    const data = JSON.parse(end.data) as TorrentJobData;
    if (end.state === "done") {
      row.filesVerified = (data.files ?? []).length === rowTorrent.files.length && (data.files ?? []).every((f) => {
        const local = path.join(dataDir, "downloads", String(jobId), ...f.path.split("/"));
        const want = rowTorrent.files.find((t) => path.posix.basename(t.path) === path.posix.basename(f.path))?.sha256;
        return fs.existsSync(local) && createHash("sha256").update(fs.readFileSync(local)).digest("hex") === want;
      });
    }
    // A file verified before the kill is kept as it was (same verifiedAt), not pulled a second time.
    const kept = new Map((data.pulled ?? []).map((f) => [f.path, f.verifiedAt]));
    row.earlyPullsKept = Object.entries(row.pulledAtKill ?? {}).every(([p, at]) => kept.get(p) === at);
    readBotDb(dataDir, (db) => {
      row.costBooked = db.prepare<[number], { usd: number | null }>("SELECT SUM(usd) AS usd FROM spend WHERE job_id = ? AND kind = 'actual'").get(jobId)!.usd ?? 0;
      const unsettled = db.prepare<[number], { n: number }>("SELECT COUNT(*) AS n FROM droplets WHERE job_id = ? AND state != 'destroyed'").get(jobId)!.n;
      expect(unsettled, `ledger rows of job ${jobId} not settled`).toBe(0);
    });
  } catch (err) {
    // What the bot was doing says why a row timed out (it runs as a process of its own: its log is its output).
    throw new Error(`${(err as Error).message}\n--- the bot's last output ---\n${bot?.out().slice(-3000) ?? "(not started)"}`, { cause: err });
  } finally {
    await telegram.stop();
    await digitalOcean.stop();
  }
}

const rows: Row[] = [
  { how: "none", target: null },
  // Early, so that its longer download overlaps the other rows.
  { how: "SIGKILL", target: "downloading", afterEarlyPull: true },
  ...(["droplet_requested", "droplet_active", "ssh_ready", "provisioned", "downloading", "downloaded", "transferring", "transferred", "droplet_destroyed"] as const).map(
    (target): Row => ({ how: "SIGKILL", target }),
  ),
  { how: "SIGTERM detach", target: "downloading" },
  { how: "SIGTERM destroy", target: "downloading" },
];

describe("the bot killed at every state of a torrent job, then started again", () => {
  it("loses no verified work, leaves no droplet and books every cost", async () => {
    const queue = rows.map((row, i) => ({ row, label: `${i}-${row.how.replace(/\W+/g, "-")}-${row.target ?? "baseline"}` }));
    const failures: string[] = [];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        await runRow(next.row, next.label).catch((err: unknown) => failures.push(`${next!.label}: ${(err as Error).message}`));
      }
    };
    await Promise.all(Array.from({ length: ROWS_AT_ONCE }, worker));
    const baseline = rows[0]!.totalSeconds ?? 0;
    const table = rows.map((r) => ({
      kill: r.how === "none" ? "(no kill)" : `${r.how} at ${r.target}${r.afterEarlyPull ? " (a file pulled early)" : ""}`,
      "state at kill": r.stateAtKill ?? "",
      outcome: r.outcome ?? "?",
      "files verified": r.filesVerified ?? false,
      "early pulls kept": Object.keys(r.pulledAtKill ?? {}).length > 0 ? (r.earlyPullsKept ?? false) : "",
      "droplets made": r.dropletsCreated ?? "?",
      "droplets left": r.dropletsLeft ?? "?",
      "cost booked $": (r.costBooked ?? 0).toFixed(4),
      "seconds lost": r.totalSeconds === undefined ? "?" : Math.max(0, r.totalSeconds - baseline).toFixed(1),
      "exit ms": r.exitMs ?? "",
      error: (r.error ?? "").slice(0, 90),
    }));
    console.log("restart table:");
    console.table(table);
    expect(failures).toEqual([]);
    for (const r of rows) {
      const name = `${r.how} at ${r.target}${r.afterEarlyPull ? " after an early pull" : ""} (state at kill ${r.stateAtKill}; error ${r.error})`;
      expect(r.dropletsLeft, name).toBe(0);
      expect(r.ownerTold, name).toBe(true);
      if (r.outcome === "done") expect(r.earlyPullsKept, name).toBe(true);
      if (r.afterEarlyPull) expect(Object.keys(r.pulledAtKill ?? {}), name).toEqual(["restart two/01 small.bin"]);
      // Never a second droplet for one job; a cost booked exactly when DigitalOcean made one.
      expect(r.dropletsCreated, name).toBeLessThanOrEqual(1);
      // Booked once: each droplet here lives under an hour, so DigitalOcean's minimum of $0.01 (a resume at
      // droplet_destroyed once booked it twice).
      if (r.dropletsCreated === 1) expect(r.costBooked, name).toBeCloseTo(0.01, 6);
      else expect(r.costBooked, name).toBe(0);
      if (r.how === "SIGTERM destroy") {
        expect(r.exitMs, name).toBeLessThanOrEqual(5000);
        expect(r.outcome, name).toBe("failed");
        continue;
      }
      if (r.how === "SIGTERM detach") expect(r.exitMs, name).toBeLessThanOrEqual(5000);
      const reachedActive = r.stateAtKill === undefined || FINAL.has(r.stateAtKill) || flowIndex(r.stateAtKill) >= flowIndex("droplet_active");
      if (reachedActive) {
        expect(r.outcome, name).toBe("done");
        expect(r.filesVerified, name).toBe(true);
      } else {
        expect(["done", "failed"], name).toContain(r.outcome);
        if (r.outcome === "done") expect(r.filesVerified, name).toBe(true);
      }
    }
  }, 600_000);
});

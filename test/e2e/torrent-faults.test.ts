// End to end, DigitalOcean misbehaving: faults injected at every call a torrent job makes — sizes, the account key
// (lookup and registration), create, reading the droplet while it boots, list-by-tag, delete, reading it while it goes —
// each as a 429 with rate-limit headers, a 500, a timeout and a dropped connection. Faults the client's retries cover
// must leave the job done with verified files; faults beyond them must fail it with a reason a person can act on.
// Either way no droplet is left at DigitalOcean (a duplicate from a create whose answer was lost included) and every
// droplet's cost is in the ledger.
//
// The jobs run concurrently in one world. A job that ends done costs ~10 s of CPU (Ansible), so those take a fault at
// each of their calls (four of them share the twenty call × kind pairs), and the cheap ones, which fail before
// provisioning, take faults beyond the retries. The sizes and the key id are fetched once per process and cached: the
// first job of a second app of its own (its own fake Telegram and DigitalOcean, on the same network and swarm) takes
// the four kinds in a row at each of those calls, while the main app's jobs start at once.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { startApp, type App } from "../../src/app/start-app.js";
import { createLogger } from "../../src/shared/logger.js";
import { jobTag } from "../../src/jobs/torrent/droplet-ledger.js";
import type { DeliveredFile } from "../../src/jobs/torrent/torrent-job.js";
import { ALICE, BOB, BOT_TOKEN, DO_TOKEN, SIGNING_KEY, buttonData, isCard, startWorld, type World } from "./harness.js";
import { startFakeTelegram, type FakeTelegram, type FakeUser, type SentMessage } from "../world/fake-telegram.js";
import { startFakeDigitalOcean, type FakeDigitalOcean, type FakeFault, type FaultRequest, type FaultRule } from "../world/fake-digitalocean.js";
import type { SwarmTorrent } from "../world/swarm.js";

/**
 * The apps' DigitalOcean client here: short waits, so that faults cost seconds, yet long enough for a busy machine.
 * The cold app retries five times (its calls take four faults in a row), the main app three.
 */
const COLD_RETRIES = 5;
const RETRIES = 3;
const ATTEMPTS = RETRIES + 1;
const ATTEMPT_TIMEOUT_MS = 12_000;
/** The fake lists a new droplet after 1 s; the apps look for a lost create this long. */
const LIST_LAG_MS = 3000;
/** A timeout: the answer comes later than the client waits (the request is still handled, as a slow backend does). */
const SLOW_MS = ATTEMPT_TIMEOUT_MS + 1000;
/** DigitalOcean bills at least $0.01 per droplet; every droplet here lives less than an hour. */
const MIN_CHARGE = 0.01;

type Kind = "429" | "500" | "timeout" | "disconnect";
const KINDS: Kind[] = ["429", "500", "timeout", "disconnect"];
/** Served once: the client's retries cover it. */
const ONCE: Record<Kind, FakeFault> = {
  "429": { status: 429, retryAfterSeconds: 1 },
  "500": { status: 500 },
  timeout: { delayMs: SLOW_MS },
  disconnect: { disconnect: true },
};
/** Served on every attempt: beyond the client's retries. A timeout here is never handled (an outage, not slowness). */
const ALWAYS: Record<Kind, FakeFault> = { ...ONCE, timeout: { delayMs: SLOW_MS, lost: true } };
/** What the job's error says after ALWAYS[kind] on `operation`. */
const SAYS: Record<Kind, (operation: string) => string> = {
  "429": (op) => `rate limit stopped ${op} after ${ATTEMPTS} attempts.*DO_TOKEN`,
  "500": (op) => `server error \\(500: Unexpected server-side error\\) while ${op} after ${ATTEMPTS} attempts`,
  timeout: (op) => `did not answer within ${ATTEMPT_TIMEOUT_MS / 1000} s while ${op} after ${ATTEMPTS} attempts`,
  disconnect: (op) => `Could not reach DigitalOcean at http://127\\.0\\.0\\.1:\\d+/v2 while ${op} after ${ATTEMPTS} attempts`,
};
/**
 * The reason for ALWAYS[kind] on `operation`, or the timeout's: a busy machine can stall this process (the fakes run
 * in it) past the client's timeout, and then the last attempt times out before its fault's answer is read. Either way
 * the reason names the operation and what to do.
 */
const REASON = (kind: Kind, op: string) => `(?:${SAYS[kind](op)}|${SAYS.timeout(op)})`;

type Call = "sizes" | "key lookup" | "key registration" | "create" | "read while booting" | "list by tag" | "delete" | "read while going";

interface Injected {
  call: Call;
  fault: string;
  times: number;
  rule: FaultRule;
}

/** An app with its own fake Telegram and DigitalOcean. */
interface Cell {
  telegram: FakeTelegram;
  digitalOcean: FakeDigitalOcean;
  app: App;
}

interface Case {
  title: string;
  cell: "main" | "cold";
  user: FakeUser;
  /**
   * How the job must end; `droplets`: how many DigitalOcean made for it — at least (a create that a busy machine's
   * event loop let time out can land after the look for it, making a duplicate, which must be handled all the same),
   * or exactly when 0.
   */
  expect: { state: "done" | "failed"; error?: RegExp; warning?: RegExp; droplets: number };
  /** Faults aimed at this job's own calls, in the order they are served. */
  faults: [Call, FakeFault, number][];
  jobId?: number;
  injected: Injected[];
  problems: string[];
  checked: boolean;
}

const USERS: FakeUser[] = [ALICE, BOB, ...[1, 2, 3, 4, 5, 6].map((i) => ({ id: 3000 + i, first_name: `Tester${i}` }))];
let world: World;
let main: Cell;
let cold: Cell;
let torrent: SwarmTorrent;
const cases: Case[] = [];
const cellOf = (c: Case) => (c.cell === "main" ? main : cold);

async function startCellApp(telegram: FakeTelegram, digitalOcean: FakeDigitalOcean, dataDir: string, retries: number): Promise<App> {
  const config = loadConfig(
    await world.env({
      TELEGRAM_API_ROOT: telegram.apiRoot,
      DO_API_URL: digitalOcean.url,
      DATA_DIR: dataDir,
      ALLOWED_USER_IDS: USERS.slice(1).map((u) => u.id).join(","),
      MAX_DROPLETS: "40",
      MAX_DROPLETS_PER_USER: "40",
      BUDGET_MONTHLY_USD: "1000",
      // A busy machine starts a droplet's sshd slowly; the boot timeout is not under test here.
      DO_BOOT_TIMEOUT_SECONDS: "180",
    }),
  );
  const logger = createLogger({ level: "debug", secrets: [BOT_TOKEN, DO_TOKEN, SIGNING_KEY], destination: { write: (l: string) => void world.logLines.push(l) } });
  return startApp(config, {
    logger,
    cloudRetry: { retries, minDelayMs: 100, maxDelayMs: 400, maxHintWaitMs: 10_000, attemptTimeoutMs: ATTEMPT_TIMEOUT_MS, listLagMs: LIST_LAG_MS },
  });
}

beforeAll(async () => {
  world = await startWorld();
  // Small, so that what takes the time is the droplets and their faults.
  torrent = await world.swarm.addTorrent({ name: "faults.bin", files: [{ path: "faults.bin", size: 256 * 1024 }] });
  world.app = await startCellApp(world.telegram, world.digitalOcean, path.join(world.dir, "data"), RETRIES);
  main = { telegram: world.telegram, digitalOcean: world.digitalOcean, app: world.app };
  const telegram = await startFakeTelegram({ token: BOT_TOKEN });
  const digitalOcean = await startFakeDigitalOcean({ token: DO_TOKEN, dir: path.join(world.dir, "cold-droplets"), net: world.net, activeDelayMs: 500 });
  cold = { telegram, digitalOcean, app: await startCellApp(telegram, digitalOcean, path.join(world.dir, "cold-data"), COLD_RETRIES) };
}, 180_000);

afterAll(async () => {
  lateDuplicate.release();
  lateAfterFailure.release();
  const injected = cases.flatMap((c) => c.injected);
  const correct = cases.filter((c) => c.checked && c.problems.length === 0).flatMap((c) => c.injected);
  // Each fault counts once, with the end of the job it hit (a job that ends done took one at each of its calls).
  console.log(`faults injected: ${injected.length}, jobs ended correctly: ${correct.length}`);
  console.log(
    cases
      .map((c) => {
        const state = c.jobId === undefined ? "?" : cellOf(c)?.app.jobs.get(c.jobId)?.state;
        const faults = c.injected.map((f) => `${f.call}: ${f.fault}${f.times > 1 ? ` ×${f.times}` : ""} (hit ${f.rule.hits})`).join("; ");
        const problems = c.problems.length > 0 ? ` PROBLEMS: ${c.problems.join(" | ")}` : "";
        return `${c.cell} job ${c.jobId} → ${state}: ${c.title}${problems}\n    ${faults}`;
      })
      .join("\n"),
  );
  await cold?.app.stop().catch(() => undefined);
  await cold?.digitalOcean.stop();
  await cold?.telegram.stop();
  await world?.stop();
});

const describeFault = (f: FakeFault): string => {
  if ("heldUntil" in f) return "no answer; handled later";
  if ("delayMs" in f) return f.lost ? `no answer (hung up after ${f.delayMs / 1000} s)` : `answer after ${f.delayMs / 1000} s`;
  if ("disconnect" in f) return f.applied ? "connection dropped after handling" : "connection dropped";
  if (f.status === 429) return f.quotaResetSeconds !== undefined ? `429 hourly quota spent (reset in ${f.quotaResetSeconds} s)` : `429 retry-after ${f.retryAfterSeconds}`;
  return `${f.status}${"applied" in f && f.applied ? " after handling" : ""}`;
};

/** Predicates for the requests a job makes at each call (the sizes and key calls are the process's, not a job's). */
function aimAt(cell: Cell, call: Call, jobId: number): (r: FaultRequest) => boolean {
  const tag = jobTag(jobId);
  // The droplet a /v2/droplets/<id> request is about, from the fake's history (destroyed and forgotten ones too).
  const droplet = (p: string) => {
    const m = /^\/v2\/droplets\/(\d+)$/.exec(p);
    return m ? cell.digitalOcean.history().find((h) => h.id === Number(m[1]) && h.tags.includes(tag)) : undefined;
  };
  switch (call) {
    case "sizes":
      return (r) => r.method === "GET" && r.path === "/v2/sizes";
    case "key lookup":
      return (r) => r.method === "GET" && r.path.startsWith("/v2/account/keys/");
    case "key registration":
      return (r) => r.method === "POST" && r.path === "/v2/account/keys";
    case "create":
      return (r) => r.method === "POST" && r.path === "/v2/droplets" && (r.body as { name?: string }).name === `dropship-job-${jobId}`;
    case "read while booting":
      return (r) => r.method === "GET" && droplet(r.path)?.destroyedAt === null;
    case "read while going":
      return (r) => r.method === "GET" && Boolean(droplet(r.path)?.destroyedAt);
    case "delete":
      return (r) => r.method === "DELETE" && droplet(r.path) !== undefined;
    case "list by tag":
      return (r) => r.method === "GET" && r.path === "/v2/droplets" && r.query.tag_name === tag;
  }
}

function inject(c: Case, call: Call, fault: FakeFault, times: number): void {
  const cell = cellOf(c);
  const rule = cell.digitalOcean.injectFault(aimAt(cell, call, c.jobId!), fault, times);
  c.injected.push({ call, fault: describeFault(fault), times, rule });
}

function addCase(c: Omit<Case, "injected" | "problems" | "checked" | "user" | "cell"> & { cell?: Case["cell"] }): Case {
  const full: Case = { cell: "main", ...c, user: USERS[cases.length % USERS.length]!, injected: [], problems: [], checked: false };
  cases.push(full);
  return full;
}

/** One card at a time per chat, so that each card is known to be the answer to its own message. */
const chatQueues = new Map<string, Promise<unknown>>();

function makeCard(c: Case): Promise<SentMessage> {
  const { telegram } = cellOf(c);
  const key = `${c.cell}:${c.user.id}`;
  const next = (chatQueues.get(key) ?? Promise.resolve()).then(async () => {
    const before = Math.max(0, ...telegram.messages(c.user.id, { includeUser: true }).map((m) => m.message_id));
    telegram.sendText(c.user, torrent.magnet);
    const card = await telegram.waitFor(() => telegram.messages(c.user.id).find((m) => m.message_id > before && isCard(m)), 60_000, "a card");
    c.jobId = Number(buttonData(card, /Start/).split(":").pop());
    return card;
  });
  chatQueues.set(key, next.catch(() => undefined));
  return next;
}

const FINAL = new Set(["done", "failed", "cancelled"]);
const stateOf = (c: Case) => cellOf(c).app.jobs.get(c.jobId!)!.state;

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  for (const end = Date.now() + timeoutMs; !check(); await new Promise((r) => setTimeout(r, 250))) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

// The cold app's first job: the calls made once per process, each taking the four kinds in a row (within the client's
// retries); and a create refused twice before anything was made (a 500, a dropped connection): looked for, sent again.
const first = addCase({
  cell: "cold",
  title: "first job of its app: sizes, key lookup, key registration each 429·500·timeout·drop in a row; create 500, then dropped",
  expect: { state: "done", droplets: 1 },
  faults: [
    ["create", ONCE["500"], 1],
    ["create", ONCE.disconnect, 1],
  ],
});
const COLD_CHAINS: [Call, FakeFault[]][] = [
  ["sizes", [ONCE["429"], ONCE["500"], ONCE.timeout, ONCE.disconnect]],
  ["key lookup", [{ status: 429, quotaResetSeconds: 2 }, ONCE["500"], ONCE.timeout, ONCE.disconnect]],
  ["key registration", [ONCE["429"], ONCE["500"], ONCE.timeout, { disconnect: true, applied: true }]],
];

// Four jobs share the twenty (call, kind) pairs of a job's own calls, each taking every kind once or twice, so that
// each waits out one or two timeouts, not five. Each create loses an answer — a 500 or a dropped connection after the
// droplet was made (found by its tag), a 500 or a timeout with nothing made (looked for, sent again), a timeout whose
// create is handled only once the job has its droplet (a duplicate, which the job's destroy finds by its tag and
// books) — so the list by tag runs, when the create looks and when the job's destroy looks for strays. One job's droplet cannot be destroyed at all once its files
// are verified: it ends done with a warning, and the reaper destroys the droplet later.
/** A create the fake carries out only when the test says: after the client gave up on it and stopped looking for it. */
function heldCreate(): FakeFault & { release(): void } {
  let release!: () => void;
  const heldUntil = new Promise<void>((r) => (release = r));
  return { heldUntil, release };
}
const lateDuplicate = heldCreate();
const lateAfterFailure = heldCreate();
const DONE_JOBS: { title: string; droplets: number; warning?: RegExp; faults: [Call, FakeFault, number][] }[] = [
  {
    title: "create 429, then 500 (nothing made); read while booting 500; list timeout; delete drop; read while going 429, timeout",
    droplets: 1,
    faults: [
      ["create", ONCE["429"], 1],
      ["create", ONCE["500"], 1],
      ["read while booting", ONCE["500"], 1],
      ["list by tag", ONCE.timeout, 1],
      ["delete", ONCE.disconnect, 1],
      ["read while going", ONCE["429"], 1],
      ["read while going", ONCE.timeout, 1],
    ],
  },
  {
    title: "create 500 after handling; read while booting timeout; list drop; delete 429, 500 after handling; read while going 500",
    droplets: 1,
    faults: [
      ["create", { status: 500, applied: true }, 1],
      ["read while booting", ONCE.timeout, 1],
      ["list by tag", ONCE.disconnect, 1],
      ["delete", ONCE["429"], 1],
      ["delete", { status: 500, applied: true }, 1],
      ["read while going", ONCE["500"], 1],
    ],
  },
  {
    title: "create timeout (nothing made); read while booting drop; list 429; delete 500 on every attempt (done with a warning)",
    droplets: 1,
    warning: new RegExp(`droplet could not be destroyed yet \\(.*${REASON("500", "destroying droplet \\d+")}`),
    faults: [
      ["create", ALWAYS.timeout, 1],
      ["read while booting", ONCE.disconnect, 1],
      ["list by tag", ONCE["429"], 1],
      ["delete", ALWAYS["500"], ATTEMPTS],
    ],
  },
  {
    title: "create timeout (handled once the job has its droplet: a duplicate), then dropped after handling; read while booting 429; list 500; delete timeout; read while going drop",
    droplets: 2,
    faults: [
      ["create", lateDuplicate, 1],
      ["create", { disconnect: true, applied: true }, 1],
      ["read while booting", ONCE["429"], 1],
      ["list by tag", ONCE["500"], 1],
      ["delete", ONCE.timeout, 1],
      ["read while going", ONCE.disconnect, 1],
    ],
  },
];
for (const d of DONE_JOBS) addCase({ title: d.title, expect: { state: "done", droplets: d.droplets, warning: d.warning }, faults: d.faults });
// The create's answer is lost and its retries are refused; the job fails, and only then is the first create handled:
// the reaper finds that droplet by its job tag, destroys it and books it to the job.
const late = addCase({
  title: "create handled after its job failed: the reaper destroys the droplet and books it to the job",
  expect: { state: "failed", droplets: 1, error: new RegExp(REASON("429", "creating the droplet")) },
  faults: [
    ["create", lateAfterFailure, 1],
    ["create", ALWAYS["429"], RETRIES],
  ],
});

// Beyond the retries: the job fails with the reason, and nothing is left.
for (const kind of KINDS) {
  addCase({
    title: `create: ${kind} on every attempt`,
    expect: { state: "failed", droplets: 0, error: new RegExp(REASON(kind, "creating the droplet")) },
    faults: [["create", ALWAYS[kind], ATTEMPTS]],
  });
  addCase({
    title: `create's answer lost, then the list by tag: ${kind} on every attempt`,
    expect: {
      state: "failed",
      droplets: 1,
      error: new RegExp(`answer to creating the droplet was lost, and checking whether it was created failed: .*${REASON(kind, "listing droplets tagged dropship-job-\\d+")}`),
    },
    faults: [
      ["create", { disconnect: true, applied: true }, 1],
      ["list by tag", ALWAYS[kind], ATTEMPTS],
    ],
  });
}
// Reading the droplet while it boots fails beyond the retries; three of them cannot destroy it either (the fourth
// kind at delete is the done job's above): they fail saying so, and the reaper destroys the droplet later.
// Known bug, reported (src/bot/presenters/torrent-presenter.ts): the failure card of such a job also says "The droplet
// is destroyed and partial files are removed." — it is not; and after a Cancel whose destroy fails the job records no
// error at all (torrent-job.ts finishBadly drops it for "cancelled") while the card says the same.
const DELETE_AFTER: Record<Kind, Kind | null> = { "429": "disconnect", "500": "timeout", timeout: null, disconnect: "429" };
for (const kind of KINDS) {
  const del = DELETE_AFTER[kind];
  const reason = REASON(kind, "reading droplet \\d+") + (del ? `.*could not be destroyed yet: .*${REASON(del, "destroying droplet \\d+")}` : "");
  addCase({
    title: `read while booting: ${kind} on every attempt${del ? `; then delete: ${del} on every attempt` : ""}`,
    expect: { state: "failed", droplets: 1, error: new RegExp(reason) },
    faults: [["read while booting", ALWAYS[kind], ATTEMPTS], ...(del ? [["delete", ALWAYS[del], ATTEMPTS] as [Call, FakeFault, number]] : [])],
  });
}

/** The longest first: jobs that run to the end, the one whose create lands late, those waiting out timeouts. */
const rank = (c: Case) => (c.expect.state === "done" ? 0 : c === late ? 1 : c.faults.some(([, f]) => "delayMs" in f) ? 2 : 3);
/** Starts a moment apart: the fake makes each droplet's network with `ip`, and a burst of process spawns stalls the event loop. */
const START_GAP_MS = 500;

it("every job ends as it should, with no droplet left and every droplet's cost booked", async () => {
  const t0 = Date.now();
  // The cold app's first job: its card fetches the sizes, its Start looks up and registers the account key.
  for (const [call, chain] of COLD_CHAINS.slice(0, 1)) for (const f of chain) inject(first, call, f, 1);
  const firstCard = await makeCard(first);
  for (const [call, chain] of COLD_CHAINS.slice(1)) for (const f of chain) inject(first, call, f, 1);
  for (const [call, fault, times] of first.faults) inject(first, call, fault, times);
  cold.telegram.pressButton(first.user, firstCard, buttonData(firstCard, /Start/));

  // The main app's jobs: cards, then their own faults (by job id), then Start.
  const others = cases.filter((c) => c !== first).sort((a, b) => rank(a) - rank(b));
  const cards = await Promise.all(others.map((c) => makeCard(c)));
  for (const c of others) for (const [call, fault, times] of c.faults) inject(c, call, fault, times);
  // The held creates are carried out once the duplicate's job has its own droplet, and once the late one's job failed.
  const duplicateJob = cases.find((c) => c.faults.some(([, f]) => f === lateDuplicate))!;
  const released = Promise.all([
    until(() => main.app.jobs.events(duplicateJob.jobId!).some((e) => e.state === "droplet_active") || FINAL.has(stateOf(duplicateJob)), 300_000, "the duplicate's job active").then(() =>
      lateDuplicate.release(),
    ),
    until(() => FINAL.has(stateOf(late)), 300_000, "the late create's job to end").then(() => lateAfterFailure.release()),
  ]);
  for (const [i, c] of others.entries()) {
    main.telegram.pressButton(c.user, cards[i]!, buttonData(cards[i]!, /Start/));
    await new Promise((r) => setTimeout(r, START_GAP_MS));
  }
  await until(() => cases.every((c) => FINAL.has(stateOf(c))), 400_000, "every job to end");
  const endedAt = Date.now();
  await released;

  // The late create lands after its job failed; then the reaper runs (as it does every five minutes) with no fault left.
  await until(() => main.digitalOcean.history().some((h) => h.tags.includes(jobTag(late.jobId!))), 60_000, "the late create to land");
  await new Promise((r) => setTimeout(r, 1500)); // the fake's list lag
  await main.app.reaper.reap();
  await cold.app.reaper.reap();

  for (const c of cases) {
    check(c);
    c.checked = true;
  }
  console.log(`jobs ended after ${((endedAt - t0) / 1000).toFixed(0)} s; all settled after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  for (const cell of [main, cold]) {
    expect(cell.digitalOcean.history().filter((h) => h.destroyedAt === null)).toEqual([]);
    expect(cell.app.ledger.live()).toEqual([]);
  }
  expect(cases.flatMap((c) => c.problems.map((p) => `${c.cell} job ${c.jobId} (${c.title}): ${p}`))).toEqual([]);
  const injected = cases.flatMap((c) => c.injected).length;
  expect(cases.filter((c) => c.problems.length === 0).flatMap((c) => c.injected).length).toBe(injected);
}, 600_000);

/** Everything that must hold for one case, as problems (so that the summary names every case that went wrong). */
function check(c: Case): void {
  const { app, digitalOcean } = cellOf(c);
  const jobId = c.jobId!;
  const job = app.jobs.get(jobId)!;
  const say = (p: string) => c.problems.push(p);
  if (job.state !== c.expect.state) say(`ended ${job.state}${job.error ? ` (${job.error})` : ""}, expected ${c.expect.state}`);
  // A fault meant once is served once. One meant for every attempt is served at least once: a busy machine can make an
  // attempt time out in the client before its request is read (the reason then says so, see REASON).
  for (const f of c.injected) {
    if (f.times === 1 ? f.rule.hits !== 1 : f.rule.hits < 1) say(`${f.call} ${f.fault}: hit ${f.rule.hits} times, meant ${f.times}`);
  }
  const data = job.data as { files?: DeliveredFile[]; warning?: string };
  const jobDir = path.join(app.config.downloads.dir, String(jobId));
  if (c.expect.state === "done") {
    const files = data.files ?? [];
    if (files.length !== 1) say(`delivered ${files.length} files`);
    for (const f of files) {
      const local = path.join(jobDir, ...f.path.split("/"));
      const sha = fs.existsSync(local) ? createHash("sha256").update(fs.readFileSync(local)).digest("hex") : "missing";
      if (sha !== torrent.files[0]!.sha256) say(`${f.path} is ${sha}, not the seed's bytes`);
    }
    if (c.expect.warning ? !c.expect.warning.test(data.warning ?? "") : data.warning) say(`warning: ${data.warning ?? "none"}`);
  } else if (fs.existsSync(jobDir)) {
    say("its partial files were not removed");
  }
  if (c.expect.error && !c.expect.error.test(job.error ?? "")) say(`error "${job.error}" does not match ${c.expect.error}`);
  // Every droplet DigitalOcean made for the job: gone, in the ledger, and paid for.
  const made = digitalOcean.history().filter((h) => h.tags.includes(jobTag(jobId)));
  if (c.expect.droplets === 0 ? made.length !== 0 : made.length < c.expect.droplets) say(`${made.length} droplets made, expected ${c.expect.droplets}`);
  if (made.some((h) => h.destroyedAt === null)) say("a droplet is left");
  const rows = app.ledger.forJob(jobId);
  for (const h of made) if (!rows.some((r) => r.doId === h.id)) say(`droplet ${h.id} is not in the ledger`);
  if (rows.some((r) => r.state !== "destroyed")) say(`ledger rows ${rows.map((r) => r.state).join(", ")}`);
  const booked = app.jobs.spendForJob(jobId).actual ?? 0;
  if (Math.abs(booked - made.length * MIN_CHARGE) > 1e-6) say(`booked $${booked} for ${made.length} droplets`);
}

// `npm start` as a real process (one node process, see package.json): config errors, clean SIGTERM, and a real crash
// mid-job (SIGKILL to the bot's whole process group) recovered by the next start.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALICE, buttonData, isCard, lastMessageId, nextBotMessage, startWorld, type World } from "./harness.js";
import { botProcesses, listProcesses, TEST_RUN_ENV } from "../world/processes.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const main = path.join(repo, "src", "main.ts");
// `npm start` is `node --import tsx src/main.ts`: one process, so a signal reaches the bot itself. The tests run it
// from another directory, where a bare "tsx" would not resolve, hence the loader's absolute URL.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

interface Proc {
  child: ChildProcess;
  pid: number;
  out: () => string;
  exited: Promise<number | null>;
  hasExited: () => boolean;
}

const workDirs: string[] = [];
const newWorkDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-main-"));
  workDirs.push(d);
  return d;
};
const procs: Proc[] = [];
afterAll(async () => {
  // Whatever a failed test left: the bot and anything it started are in its process group.
  for (const p of procs) killGroup(p, "SIGKILL");
  await Promise.all(procs.map((p) => p.exited));
  for (const d of workDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Runs src/main.ts in an empty directory (no .env there) with exactly `env` plus PATH and HOME, in its own process group. */
function startMain(env: Record<string, string>, cwd = newWorkDir()): Proc {
  let out = "";
  const runMarker = process.env[TEST_RUN_ENV] ? { [TEST_RUN_ENV]: process.env[TEST_RUN_ENV] } : {};
  const child = spawn(process.execPath, ["--import", tsxLoader, main], {
    cwd,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...runMarker, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group, so a kill of the group reaches everything the bot started
  });
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  let done = false;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => ((done = true), resolve(code))));
  const p: Proc = { child, pid: child.pid!, out: () => out, exited, hasExited: () => done };
  procs.push(p);
  return p;
}

function killGroup(p: Proc, signal: NodeJS.Signals): void {
  try {
    process.kill(-p.pid, signal);
  } catch {
    /* the group is empty already */
  }
}

/** After the exit event: no process with the bot's pid, and nothing alive left in its process group. */
function expectGone(p: Proc): void {
  expect(p.hasExited()).toBe(true);
  let err: NodeJS.ErrnoException | null = null;
  try {
    process.kill(p.pid, 0);
  } catch (e) {
    err = e as NodeJS.ErrnoException;
  }
  expect(err?.code, `process ${p.pid} still exists`).toBe("ESRCH");
  expect(listProcesses().filter((q) => q.pgid === p.pid)).toEqual([]);
}

async function waitForOutput(p: Proc, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(p.out())) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} in output:\n${p.out().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("npm start without configuration", () => {
  it("lists every missing variable with what to put there, and exits 1", async () => {
    const p = startMain({});
    expect(await p.exited).toBe(1);
    expectGone(p);
    const out = p.out();
    for (const v of ["TELEGRAM_BOT_TOKEN", "OWNER_ID", "DO_TOKEN", "LINK_SIGNING_KEY"]) expect(out).toContain(`- ${v}: missing;`);
    expect(out).toContain("@BotFather");
    expect(out).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("reads .env from the working directory", async () => {
    const cwd = newWorkDir();
    fs.writeFileSync(path.join(cwd, ".env"), "TELEGRAM_BOT_TOKEN=nope\nOWNER_ID=1\nDO_TOKEN=x\nLINK_SIGNING_KEY=0123456789abcdef0123456789abcdef\n");
    const p = startMain({}, cwd);
    expect(await p.exited).toBe(1);
    expectGone(p);
    expect(p.out()).toContain("TELEGRAM_BOT_TOKEN: invalid value");
    expect(p.out()).not.toContain("OWNER_ID");
  });
});

describe("npm start against the local world", () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  }, 180_000);
  afterAll(async () => {
    await world?.stop();
  });

  /** npm start in its own data dir, with a job whose droplet is up and whose torrent has no seeder (so it stays running). */
  async function startMainWithRunningJob(name: string) {
    const env = await world.env({ DATA_DIR: path.join(world.dir, `data-${name}`), LOG_LEVEL: "debug" });
    const t = await world.swarm.addTorrent({ name: `${name}.bin`, files: [{ path: `${name}.bin`, size: 1024 * 1024 }] });
    await world.swarm.stopSeeding(t);
    const p = startMain(env);
    await waitForOutput(p, /Dropship started/);
    const before = lastMessageId(world, ALICE.id);
    world.telegram.sendText(ALICE, t.magnet);
    const card = await nextBotMessage(world, ALICE.id, before, isCard);
    const jobId = Number(buttonData(card, /Start/).split(":").pop());
    world.telegram.pressButton(ALICE, card, buttonData(card, /Start/));
    const live = () => world.digitalOcean.droplets().filter((d) => !d.destroyed && d.tags.includes(`dropship-job-${jobId}`));
    // Wait until the job waits for peers (provisioned, aria2 running): a steady state to interrupt.
    await world.telegram.waitFor(() => {
      const shown = world.telegram.messages(ALICE.id).find((m) => m.message_id === card.message_id)!.text;
      if (/failed|cancelled/.test(shown)) throw new Error(`the job ended before the test could interrupt it:\n${shown}`);
      return /▶️ (Fetching metadata|Downloading)/.test(shown) && live().length === 1;
    }, 90_000, "the job to wait for peers on its droplet");
    return { p, env, card, jobId, live };
  }

  it("starts, answers, and stops cleanly on SIGTERM", async () => {
    const env = await world.env({ DATA_DIR: path.join(world.dir, "data-sigterm"), LOG_LEVEL: "info" });
    const p = startMain(env);
    await waitForOutput(p, /Dropship started/);
    const before = lastMessageId(world, ALICE.id);
    world.telegram.sendText(ALICE, "/help");
    await nextBotMessage(world, ALICE.id, before, (m) => m.text.includes("magnet"));
    // To the bot's pid only, as a supervisor would: the bot itself must stop what it started.
    process.kill(p.pid, "SIGTERM");
    expect(await p.exited).toBe(0);
    expectGone(p);
    expect(p.out()).toContain('"msg":"stopped"');
    for (const secret of [env.TELEGRAM_BOT_TOKEN!, env.DO_TOKEN!, env.LINK_SIGNING_KEY!]) expect(p.out()).not.toContain(secret);
  });

  it("on SIGTERM during a job, destroys its droplet, tells the owner why, and exits 0", async () => {
    const { p, card, live } = await startMainWithRunningJob("term");
    process.kill(p.pid, "SIGTERM");
    expect(await p.exited).toBe(0);
    expectGone(p);
    expect(live()).toEqual([]);
    const notice = await nextBotMessage(world, ALICE.id, card.message_id, (m) => !m.deleted && m.text.includes("term.bin") && m.text.includes("failed"));
    expect(notice.text).toMatch(/shut down/);
  });

  it("after a crash mid-job, the next start destroys the droplet, fails the job and tells its owner", async () => {
    const { p, env, jobId, live } = await startMainWithRunningJob("crash");
    killGroup(p, "SIGKILL");
    await p.exited;
    // A real crash: no bot with this data dir may survive, under its pid or re-parented under another one.
    expectGone(p);
    expect(botProcesses(env.DATA_DIR!)).toEqual([]);
    expect(live()).toHaveLength(1); // the crash left it running

    const afterCrash = lastMessageId(world, ALICE.id);
    const app = await world.startApp({ DATA_DIR: env.DATA_DIR! });
    // The job is failed at once; its droplet goes with the start-up sweep, which runs in the background.
    expect(app.jobs.get(jobId)!.state).toBe("failed");
    expect(await app.startupSweep).toBe(true);
    expect(live()).toEqual([]);
    expect(app.jobs.get(jobId)!.state).toBe("failed");
    // On failure, the crashed process's own log says what the job was doing.
    expect(app.jobs.get(jobId)!.error, p.out().slice(-4000)).toMatch(/restarted/);
    expect(app.ledger.forJob(jobId).map((d) => d.state)).toEqual(["destroyed"]);
    expect(app.jobs.spendForJob(jobId).actual).toBeGreaterThanOrEqual(0.01);
    const notice = await nextBotMessage(world, ALICE.id, afterCrash, (m) => m.text.includes(`Job ${jobId}`));
    expect(notice.text).toMatch(/interrupted/);
    // A surviving old process would now lose its droplet's SSH session and fail the job again: give it the time to.
    await new Promise((r) => setTimeout(r, 3000));
    expect(app.jobs.events(jobId).filter((e) => e.state === "failed")).toHaveLength(1);
    expect(app.jobs.get(jobId)!.error).toMatch(/restarted/);
    expect(world.telegram.messages(ALICE.id).filter((m) => m.message_id > afterCrash).map((m) => m.message_id)).toEqual([notice.message_id]);
  });
});

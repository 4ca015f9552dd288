// `npm start` as a real process (one node process, see package.json): config errors, clean SIGTERM, and a real crash
// mid-job (SIGKILL to the bot's whole process group) recovered by the next start.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALICE, lastMessageId, nextBotMessage, startWorld, type World } from "./harness.js";
import { BotProcesses, expectGone, waitForOutput } from "./bot-process.js";

const bots = new BotProcesses();
afterAll(() => bots.cleanUp());
const startMain = (env: Record<string, string>, cwd?: string) => bots.start(env, cwd);
const newWorkDir = () => bots.newWorkDir();

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

  it("refuses to start a second bot on the same DATA_DIR, naming the one that runs", async () => {
    const env = await world.env({ DATA_DIR: path.join(world.dir, "data-twice"), LOG_LEVEL: "info" });
    const first = startMain(env);
    await waitForOutput(first, /Dropship started/);
    const second = startMain({ ...env, HTTP_LISTEN: "127.0.0.1:0" });
    expect(await second.exited).toBe(1);
    expectGone(second);
    expect(second.out()).toContain(`another Dropship is already running on DATA_DIR=${env.DATA_DIR}`);
    expect(second.out()).toContain(`pid ${first.pid}`);
    // The first one is untouched and still answers.
    const before = lastMessageId(world, ALICE.id);
    world.telegram.sendText(ALICE, "/help");
    await nextBotMessage(world, ALICE.id, before, (m) => m.text.includes("magnet"));
    process.kill(first.pid, "SIGTERM");
    expect(await first.exited).toBe(0);
    // Once it is gone the data directory is free again: no stale lock.
    const third = startMain(env);
    await waitForOutput(third, /Dropship started/);
    process.kill(third.pid, "SIGTERM");
    expect(await third.exited).toBe(0);
    expect(fs.existsSync(path.join(env.DATA_DIR!, "dropship.lock.holder"))).toBe(false);
  });
});

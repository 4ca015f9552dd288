// Bot benchmark against the fake Telegram API: /help round-trip latency (p50/p99), a burst's updates per second,
// and a bot process's idle RSS — each beside a plain fetch getUpdates/sendMessage loop without grammY, in alternating
// sessions (bot, plain, bot, plain, …) so both see the same machine load; figures are medians over the sessions.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FakeTelegram, FakeUser } from "../test/world/fake-telegram.js";
import type { BenchResult } from "./types.js";
import { alternate, comparison, median } from "./stats.js";

// Modules are imported where used, so the plain loop's child process never loads grammY (fair RSS figure).

const TOKEN = "7000002:AAbench-token-for-the-fake-api_0123456";
const OWNER = 5001;
const BURST_USERS = 50;
const users: FakeUser[] = Array.from({ length: BURST_USERS }, (_, i) => ({ id: OWNER + i, first_name: `User${i}` }));
const LATENCY_ROUNDS = 300;
const BURST_PER_USER = 20;

interface Runner {
  stop(): Promise<void>;
}

type Starter = (tg: FakeTelegram, dir: string) => Promise<Runner>;

function benchEnv(apiRoot: string, dir: string): Record<string, string> {
  return {
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: apiRoot,
    OWNER_ID: String(OWNER),
    ALLOWED_USER_IDS: users.slice(1).map((u) => u.id).join(","),
    DO_TOKEN: "dop_v1_bench_token_unused",
    LINK_SIGNING_KEY: "b".repeat(40),
    DATA_DIR: dir,
  };
}

async function startDropship(apiRoot: string, dir: string): Promise<Runner> {
  const { loadConfig } = await import("../src/config.js");
  const { createBot } = await import("../src/bot/create-bot.js");
  const { JobStore } = await import("../src/jobs/job-store.js");
  const { createLogger } = await import("../src/shared/logger.js");
  const { openDatabase } = await import("../src/storage/database.js");
  const { createKvStore } = await import("../src/storage/kv-store.js");
  const config = loadConfig(benchEnv(apiRoot, dir));
  const db = openDatabase(path.join(dir, "dropship.db"));
  const logger = createLogger({ level: "info", destination: { write: () => undefined } });
  // Unpaced, like the plain loop and the fake here (flood control off): this measures handling cost, and pacing
  // would hold the burst to Telegram's one message a second per chat (docs/bot.md, "Outgoing pacing").
  const app = createBot(config, {
    logger,
    kv: (ns) => createKvStore(db, ns),
    jobs: new JobStore(db),
    cancelJob: async () => ({ kind: "not-found", message: "not in the benchmark" }),
  }, { pacer: false });
  await app.start();
  return {
    async stop() {
      await app.stop();
      db.close();
    },
  };
}

const startBot: Starter = (tg, dir) => startDropship(tg.apiRoot, dir);

/** The baseline: long-poll getUpdates and answer each /help with the same HTML text, no framework. */
function plainLoop(apiRoot: string, text: string): Runner {
  const abort = new AbortController();
  const call = async (method: string, body: unknown) => {
    const res = await fetch(`${apiRoot}/bot${TOKEN}/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: abort.signal,
    });
    return (await res.json()) as { ok: boolean; result: { update_id: number; message?: { chat: { id: number } } }[] };
  };
  const replies = new Set<Promise<unknown>>();
  // Like the runner, poll again at once and answer concurrently, rather than waiting for the replies.
  const loop = (async () => {
    let offset = 0;
    while (!abort.signal.aborted) {
      const { result } = await call("getUpdates", { offset, timeout: 30 }).catch(() => ({ ok: false, result: [] }));
      if (result.length > 0) offset = result.at(-1)!.update_id + 1;
      for (const u of result) {
        if (!u.message) continue;
        const p = call("sendMessage", { chat_id: u.message.chat.id, text, parse_mode: "HTML" }).catch(() => undefined);
        replies.add(p);
        void p.finally(() => replies.delete(p));
      }
    }
  })();
  return {
    async stop() {
      await Promise.allSettled([...replies]);
      abort.abort();
      await loop;
    },
  };
}

/** The same /help text the bot sends, so both sides move the same bytes. */
async function helpMessage(): Promise<string> {
  const { helpText } = await import("../src/bot/features/help.js");
  const { BUILTIN_COMMANDS } = await import("../src/bot/commands.js");
  return helpText(BUILTIN_COMMANDS);
}

const startPlain: Starter = async (tg) => plainLoop(tg.apiRoot, await helpMessage());

async function withWorld<T>(start: Starter, body: (tg: FakeTelegram) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-bench-bot-"));
  const { startFakeTelegram } = await import("../test/world/fake-telegram.js");
  // The benchmark measures the bot's own cost per update, far above Telegram's per-chat rate; flood waits would
  // measure Telegram's pacing instead (and the plain loop, without auto-retry, would lose its 429'd replies).
  const tg = await startFakeTelegram({ token: TOKEN, limits: { floodControl: false } });
  let runner: Runner | undefined;
  try {
    runner = await start(tg, dir);
    return await body(tg);
  } finally {
    await runner?.stop();
    await tg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function helpLatency(start: Starter): Promise<{ p50: number; p99: number }> {
  return withWorld(start, async (tg) => {
    const owner = users[0]!;
    const samples: number[] = [];
    for (let i = 0; i < LATENCY_ROUNDS + 20; i++) {
      const t0 = performance.now();
      tg.sendText(owner, "/help");
      await tg.nextMessage(owner.id, 10_000);
      if (i >= 20) samples.push(performance.now() - t0); // the first rounds warm up the JIT
    }
    samples.sort((a, b) => a - b);
    const q = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!;
    return { p50: q(0.5), p99: q(0.99) };
  });
}

async function burstThroughput(start: Starter): Promise<number> {
  return withWorld(start, async (tg) => {
    const total = BURST_USERS * BURST_PER_USER;
    // Warm up once per user, then a burst from all users at once.
    for (const u of users) tg.sendText(u, "/help");
    await tg.waitFor(() => users.every((u) => tg.messages(u.id).length >= 1), 30_000);
    const sentBefore = users.reduce((n, u) => n + tg.messages(u.id).length, 0);
    const t0 = performance.now();
    for (let i = 0; i < BURST_PER_USER; i++) for (const u of users) tg.sendText(u, "/help");
    await tg.waitFor(() => users.reduce((n, u) => n + tg.messages(u.id).length, 0) - sentBefore >= total, 120_000, "the burst's replies");
    return total / ((performance.now() - t0) / 1000);
  });
}

/** Idle RSS of a child process running the bot or the plain loop, after a few round-trips. */
async function idleRss(mode: "child-bot" | "child-plain"): Promise<number> {
  return withWorld(startNothing, async (tg) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-bench-rss-"));
    const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), mode, tg.apiRoot, dir], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, BENCH_HELP_TEXT: await helpMessage() },
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
        child.once("exit", (code) => reject(new Error(`${mode} exited early with code ${code}`)));
      });
      for (let i = 0; i < 5; i++) {
        tg.sendText(users[0]!, "/help");
        await tg.nextMessage(users[0]!.id, 10_000);
      }
      await new Promise((r) => setTimeout(r, 1500));
      const status = fs.readFileSync(`/proc/${child.pid}/status`, "utf8");
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
    } finally {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

const startNothing: Starter = async () => ({ stop: async () => undefined });

/** Sessions per side: each a fresh fake Telegram and bot (or plain loop), alternating bot, plain, bot, plain, … */
const ROUNDS = 5;

export async function run(): Promise<BenchResult[]> {
  const latency = await alternate(ROUNDS, () => helpLatency(startBot), () => helpLatency(startPlain));
  const p50 = comparison(latency.ours.map((l) => l.p50), latency.plain.map((l) => l.p50), 2);
  const p99 = comparison(latency.ours.map((l) => l.p99), latency.plain.map((l) => l.p99), 2);
  const burst = await alternate(ROUNDS, () => burstThroughput(startBot), () => burstThroughput(startPlain));
  const rates = comparison(burst.ours, burst.plain, 0);
  const rss = await alternate(ROUNDS, () => idleRss("child-bot"), () => idleRss("child-plain"));
  const mem = comparison(rss.ours, rss.plain, 1);
  const r = (name: string, value: number, unit: string, lowerIsBetter: boolean, detail: Record<string, unknown>): BenchResult => ({
    name,
    value: Math.round(value * 100) / 100,
    unit,
    lowerIsBetter,
    detail: { ...detail, rounds: `${ROUNDS} sessions each, alternating (bot, plain loop, …); the value is the median of the sessions` },
  });
  const m = median;
  return [
    // Different HTTP clients: the plain loop uses Node's fetch (undici), grammY uses node-fetch; p50 can favour either.
    r("bot /help round-trip p50", m(latency.ours.map((l) => l.p50)), "ms", true, { ...p50, perSession: `${LATENCY_ROUNDS} round-trips after 20 warm-up` }),
    r("bot /help round-trip p50 ÷ plain loop", p50.ratio, "x", true, p50),
    r("bot /help round-trip p99", m(latency.ours.map((l) => l.p99)), "ms", true, p99),
    r("bot /help round-trip p99 ÷ plain loop", p99.ratio, "x", true, p99),
    r("bot burst updates handled", m(burst.ours), "updates/s", false, { ...rates, updates: BURST_USERS * BURST_PER_USER, chats: BURST_USERS }),
    r("bot burst updates ÷ plain loop", m(burst.ours) / m(burst.plain), "x", false, { ...rates, note: "bot median ÷ plain median (higher is better)" }),
    r("bot idle RSS", m(rss.ours), "MiB", true, mem),
    r("bot idle RSS ÷ plain loop", mem.ratio, "x", true, mem),
  ];
}

/** Child mode for the RSS figure: run the bot or the plain loop until SIGTERM. */
async function child(mode: string, apiRoot: string, dir: string): Promise<void> {
  const runner = mode === "child-bot" ? await startDropship(apiRoot, dir) : plainLoop(apiRoot, process.env.BENCH_HELP_TEXT ?? "help");
  process.stdout.write("ready\n");
  process.once("SIGTERM", () => void runner.stop().then(() => process.exit(0)));
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2]?.startsWith("child-")) {
  await child(process.argv[2], process.argv[3]!, process.argv[4]!);
}

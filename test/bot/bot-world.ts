// Starts the real bot (createBot) against the fake Telegram API with a real SQLite file in a temp dir, for bot tests.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AutoRetryOptions } from "@grammyjs/auto-retry";
import { loadConfig, type Config, type GroupMode } from "../../src/config.js";
import { createBot, type CreateBotOptions, type DropshipBot } from "../../src/bot/create-bot.js";
import type { BotDeps } from "../../src/bot/deps.js";
import { JobStore } from "../../src/jobs/job-store.js";
import { KnownUsers } from "../../src/jobs/known-users.js";
import { createLogger } from "../../src/shared/logger.js";
import { openDatabase, type Db } from "../../src/storage/database.js";
import { createKvStore } from "../../src/storage/kv-store.js";
import { startFakeTelegram, type FakeTelegram, type FakeTelegramLimits } from "../world/fake-telegram.js";

export const TOKEN = "7000001:AAtest-token-for-bot-tests_0123456789";
export const owner = { id: 1001, first_name: "Olga", username: "olga" };
export const friend = { id: 1002, first_name: "Fred" };
export const stranger = { id: 6666, first_name: "Mallory", username: "mallory" };

export interface BotWorld {
  tg: FakeTelegram;
  db: Db;
  jobs: JobStore;
  config: Config;
  app: DropshipBot;
  logs: Record<string, unknown>[];
  rawLogs: string[];
  cancelCalls: { jobId: number; userId: number }[];
  /** Stops this bot and starts a fresh createBot on the same database, as a process restart would. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface BotWorldOptions {
  /** The features, or a function making them from the world's database (for features with stores of their own). */
  features?: BotDeps["features"] | ((db: Db) => BotDeps["features"]);
  /** GROUP_MODE (default: the configuration's, private-only). */
  groupMode?: GroupMode;
  /** Remember users' names as the app does (KnownUsers on the world's database). */
  knownUsers?: boolean;
  cancelJob?: BotDeps["cancelJob"];
  retry?: Partial<AutoRetryOptions>;
  /** Telegram's limits are on by default; a test that relaxes one says why. */
  telegramLimits?: FakeTelegramLimits;
  /** More users allowed besides `friend`. */
  allowedUserIds?: number[];
  /** The outgoing pacer (default: createBot's own); `false` for tests that show what Telegram does without one. */
  pacer?: CreateBotOptions["pacer"];
}

export async function startBotWorld(opts: BotWorldOptions = {}): Promise<BotWorld> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-bot-"));
  const tg = await startFakeTelegram({ token: TOKEN, limits: opts.telegramLimits });
  const db = openDatabase(path.join(dir, "dropship.db"));
  const rawLogs: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: "debug",
    secrets: [TOKEN],
    destination: { write: (line: string) => void (rawLogs.push(line), logs.push(JSON.parse(line) as Record<string, unknown>)) },
  });
  const config = loadConfig({
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: tg.apiRoot,
    OWNER_ID: String(owner.id),
    ALLOWED_USER_IDS: [friend.id, ...(opts.allowedUserIds ?? [])].join(","),
    DO_TOKEN: "dop_v1_test_token_not_used_by_bot_tests",
    LINK_SIGNING_KEY: "k".repeat(40),
    DATA_DIR: dir,
    ...(opts.groupMode ? { GROUP_MODE: opts.groupMode } : {}),
  });
  const jobs = new JobStore(db);
  const cancelCalls: BotWorld["cancelCalls"] = [];
  const deps: BotDeps = {
    logger,
    kv: (namespace) => createKvStore(db, namespace),
    jobs,
    cancelJob: async (jobId, userId) => {
      cancelCalls.push({ jobId, userId });
      return opts.cancelJob ? opts.cancelJob(jobId, userId) : { kind: "stopped", message: `Job #${jobId} is being cancelled.` };
    },
    features: typeof opts.features === "function" ? opts.features(db) : opts.features,
    ...(opts.knownUsers ? { knownUsers: new KnownUsers(db) } : {}),
  };
  const make = () => createBot(config, deps, { retry: opts.retry, drainTimeoutMs: 5000, pacer: opts.pacer });
  const world: BotWorld = {
    tg,
    db,
    jobs,
    config,
    app: make(),
    logs,
    rawLogs,
    cancelCalls,
    async restart() {
      await world.app.stop();
      world.app = make();
      await world.app.start();
    },
    async close() {
      await world.app.stop().catch(() => undefined);
      await tg.stop();
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await world.app.start();
  } catch (err) {
    await world.close();
    throw err;
  }
  return world;
}

/** API calls made after index `from`, minus the bot's own polling. */
export function callsSince(tg: FakeTelegram, from: number): string[] {
  return tg.calls.slice(from).map((c) => c.method).filter((m) => m !== "getUpdates");
}

/** Polls `check` until it returns something truthy (for state that changes outside the fake Telegram, like logs). */
export async function eventually<T>(check: () => T | undefined | null | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

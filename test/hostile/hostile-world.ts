// The world the hostile-input suite runs in: the real app (startApp, wired as in production) against the fake
// Telegram and a fake DigitalOcean, with a real SQLite file and DATA_DIR. No swarm, package index or droplets: a
// hostile input must be refused before any of those would be needed. Gives the suite what it snapshots.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../src/config.js";
import { startApp, type App } from "../../src/app/start-app.js";
import { createLogger } from "../../src/shared/logger.js";
import { startFakeTelegram, type FakeTelegram, type FakeUser } from "../world/fake-telegram.js";
import { startFakeDigitalOcean, type FakeDigitalOcean } from "../world/fake-digitalocean.js";

export const BOT_TOKEN = "123456789:AAE_hostile-suite-token-local-world-00001";
export const DO_TOKEN = "dop_v1_hostile_suite_token_0123456789abcdef";
export const SIGNING_KEY = "hostile-suite-signing-key-0123456789abcdef";

export const OWNER: FakeUser = { id: 1001, first_name: "Olga", username: "olga" };
export const FRIEND: FakeUser = { id: 1002, first_name: "Fred" };
/** Allowed users the suite takes turns with, so that Telegram's one message a second per chat does not set its pace. */
export const LANES: FakeUser[] = Array.from({ length: 10 }, (_, i) => ({ id: 2001 + i, first_name: `Lane${i + 1}` }));
export const STRANGERS: FakeUser[] = [
  { id: 6666, first_name: "Mallory", username: "mallory" },
  { id: 6667, first_name: "Trudy" },
];

export interface HostileWorld {
  dir: string;
  dataDir: string;
  tg: FakeTelegram;
  digitalOcean: FakeDigitalOcean;
  app: App;
  /** Every log line the app wrote, parsed. */
  logs: Record<string, unknown>[];
  baseUrl: string;
  stop(): Promise<void>;
}

export async function startHostileWorld(): Promise<HostileWorld> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-hostile-"));
  const stoppers: (() => Promise<void>)[] = [];
  try {
    const tg = await startFakeTelegram({ token: BOT_TOKEN });
    stoppers.push(() => tg.stop());
    const digitalOcean = await startFakeDigitalOcean({ token: DO_TOKEN, dir: path.join(dir, "droplets") });
    stoppers.push(() => digitalOcean.stop());
    const dataDir = path.join(dir, "data");
    const config = loadConfig({
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_API_ROOT: tg.apiRoot,
      OWNER_ID: String(OWNER.id),
      ALLOWED_USER_IDS: [FRIEND, ...LANES].map((u) => u.id).join(","),
      DO_TOKEN,
      DO_API_URL: digitalOcean.url,
      LINK_SIGNING_KEY: SIGNING_KEY,
      DATA_DIR: dataDir,
      HTTP_LISTEN: "127.0.0.1:0",
      PUBLIC_BASE_URL: "http://127.0.0.1:1",
      // Never reached: nothing hostile may get as far as building a virtualenv or fetching a role.
      VENV_ROOT: path.join(dir, "venvs"),
      GALAXY_SERVER: "http://127.0.0.1:1/",
      PIP_INDEX_URL: "http://127.0.0.1:1/simple/",
      TORRENT_DHT_ENTRY_POINT: "",
      LOG_LEVEL: "debug",
      // Groups here only spread the owner's cases over several chats (Telegram's per-chat pace); what groups may do
      // in the default private-only mode has its own tests (test/bot/group-chats.test.ts).
      GROUP_MODE: "open",
    });
    const logs: Record<string, unknown>[] = [];
    const logger = createLogger({
      level: "debug",
      secrets: [BOT_TOKEN, DO_TOKEN, SIGNING_KEY],
      destination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
    });
    const app = await startApp(config, { logger });
    stoppers.push(() => app.stop());
    return {
      dir,
      dataDir,
      tg,
      digitalOcean,
      app,
      logs,
      baseUrl: `http://127.0.0.1:${app.webPort}`,
      async stop() {
        for (const s of stoppers.reverse()) await s().catch(() => undefined);
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const s of stoppers.reverse()) await s().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** What must not change when an input is refused. */
export interface WorldSnapshot {
  /** Row counts per table. */
  rows: Record<string, number>;
  /** Every job's state, by id. */
  jobStates: Record<number, string>;
  /** Every path under DATA_DIR (names only: SQLite's own files change size, not names). */
  dataDir: string[];
  /** Requests to DigitalOcean other than reads. */
  cloudWrites: number;
}

// `users` is counted apart: an allowed user's name is recorded on their first message (for the share panel),
// whatever it says; nobody else may ever appear there.
const TABLES = ["jobs", "job_events", "droplets", "hosts", "venvs", "locks", "spend", "kv"];

export function snapshot(w: HostileWorld): WorldSnapshot {
  const rows: Record<string, number> = {};
  for (const t of TABLES) rows[t] = (w.app.db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
  const allowed = [OWNER, FRIEND, ...LANES].map((u) => u.id).join(",");
  rows["users not allowed"] = (w.app.db.prepare(`SELECT count(*) AS n FROM users WHERE telegram_id NOT IN (${allowed})`).get() as { n: number }).n;
  const jobStates: Record<number, string> = {};
  for (const r of w.app.db.prepare("SELECT id, state FROM jobs").all() as { id: number; state: string }[]) jobStates[r.id] = r.state;
  return { rows, jobStates, dataDir: listTree(w.dataDir), cloudWrites: w.digitalOcean.requests.filter((r) => r.method !== "GET").length };
}

function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      out.push(e.isDirectory() ? `${rel}/` : rel);
      if (e.isDirectory()) walk(path.join(dir, e.name), rel);
    }
  };
  walk(root, "");
  return out.sort();
}

/** Whether the bot has finished an update from this user since log line `from` (strangers never get that far). */
export function handledUpdate(w: HostileWorld, from: number, userId: number): boolean {
  return w.logs.slice(from).some((l) => l.msg === "update handled" && l.user_id === userId);
}

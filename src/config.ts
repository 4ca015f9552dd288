// Typed configuration, read once from the environment (and .env) and validated at start.
// Every problem names the variable and says what to put there; nothing else reads process.env.
import fs from "node:fs";
import path from "node:path";
import { parse as parseDotenv } from "dotenv";
import { z } from "zod";

/** One problem with one variable, worded for the person editing .env. */
export interface ConfigProblem {
  variable: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(
    readonly problems: ConfigProblem[],
    /** What cannot go on: the bot, or a command such as `npm run venv`. */
    what = "Dropship cannot start",
  ) {
    super(
      `${what}; fix these settings in .env or the environment:\n` +
        problems.map((p) => `  - ${p.variable}: ${p.message}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

const TELEGRAM_TOKEN = /^\d{3,}:[A-Za-z0-9_-]{20,}$/;
const PUBLIC_BOT_API_HOST = "api.telegram.org";

const str = (hint: string) => z.string({ error: hint }).trim().min(1, { error: hint });
const url = (hint: string) =>
  str(hint).refine((v) => /^https?:\/\/[^\s/]+/.test(v) && URL.canParse(v), { error: hint });
const int = (hint: string, min: number, max: number) =>
  z.coerce.number({ error: hint }).int({ error: hint }).min(min, { error: hint }).max(max, { error: hint });
const num = (hint: string, min: number, max: number) =>
  z.coerce.number({ error: hint }).min(min, { error: hint }).max(max, { error: hint });
const bool = (hint: string) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => ["true", "false", "1", "0", "yes", "no"].includes(v), { error: hint })
    .transform((v) => ["true", "1", "yes"].includes(v));
const idList = (hint: string) =>
  z
    .string()
    .trim()
    .refine((v) => v === "" || /^\d+(\s*,\s*\d+)*$/.test(v), { error: hint })
    .transform((v) => (v === "" ? [] : v.split(",").map((s) => Number(s.trim()))));
const wordList = z
  .string()
  .trim()
  .transform((v) => (v === "" ? [] : v.split(/[\s,]+/).filter(Boolean)));
// Command-line options may contain commas themselves (--bt-tracker=a,b): split on white space only.
const optionList = z
  .string()
  .trim()
  .transform((v) => (v === "" ? [] : v.split(/\s+/).filter(Boolean)));

/** A URL, or empty for the tool's own default. */
const optionalUrl = (hint: string) =>
  z
    .string()
    .trim()
    .refine((v) => v === "" || URL.canParse(v), { error: hint })
    .default("");

/**
 * How the bot behaves in group chats, where every member sees its answers: `private-only` answers an allowed user's
 * command there with a pointer to the private chat and does nothing else; `open` runs every feature there too.
 */
export const GROUP_MODES = ["private-only", "open"] as const;
export type GroupMode = (typeof GROUP_MODES)[number];

/**
 * What a shutdown (SIGTERM) does to running torrent jobs: `detach` leaves them on their droplets and the next start
 * resumes them; `destroy` destroys their droplets and ends them failed.
 */
export const SHUTDOWN_MODES = ["detach", "destroy"] as const;
export type ShutdownMode = (typeof SHUTDOWN_MODES)[number];

/** The schema, keyed by environment variable; defaults are the production values. */
const envSchema = z.object({
  TELEGRAM_BOT_TOKEN: str("set the bot token from @BotFather, e.g. 123456:ABC-DEF...").refine(
    (v) => TELEGRAM_TOKEN.test(v),
    { error: "this does not look like a bot token; copy it from @BotFather (digits, a colon, then 35 characters)" },
  ),
  TELEGRAM_API_ROOT: url("an http(s) URL of the Bot API server, e.g. https://api.telegram.org").default(
    "https://api.telegram.org",
  ),
  TELEGRAM_LOCAL_BOT_API: bool("true when TELEGRAM_API_ROOT is your own `telegram-bot-api --local` server (documents up to 2000 MB), else false").default(false),
  OWNER_ID: int("your numeric Telegram user id (ask @userinfobot), e.g. 123456789", 1, Number.MAX_SAFE_INTEGER),
  ALLOWED_USER_IDS: idList("comma-separated numeric Telegram user ids, e.g. 111,222 (or leave empty)").default([]),
  GROUP_MODE: z.enum(GROUP_MODES, {
    error: "private-only (in groups the bot only points to the private chat) or open (every feature works in groups, where every member sees the answers)",
  }).default("private-only"),
  DO_TOKEN: str("a DigitalOcean personal access token with read+write scope (cloud.digitalocean.com → API)"),
  DO_API_URL: url("the DigitalOcean API base URL including /v2, e.g. https://api.digitalocean.com/v2").default(
    "https://api.digitalocean.com/v2",
  ),
  DO_REGION: str("a DigitalOcean region slug, e.g. fra1").default("fra1"),
  DO_SIZE: str("a DigitalOcean size slug, e.g. s-1vcpu-1gb").default("s-1vcpu-1gb"),
  DO_IMAGE: str("a DigitalOcean image slug, e.g. debian-12-x64").default("debian-12-x64"),
  DO_VOLUME_USD_PER_GIB_MONTH: num("DigitalOcean's price of block storage in US dollars per GiB and month, e.g. 0.10", 0, 100).default(0.1),
  DISK_MARGIN_PERCENT: num("room kept on a droplet's disk on top of a torrent's files, in percent of them, e.g. 5", 0, 100).default(5),
  DISK_MARGIN_MB: int("room kept on a droplet's disk on top of a torrent's files, in MB, e.g. 64", 0, 1_000_000).default(64),
  DO_BOOT_TIMEOUT_SECONDS: int("seconds to wait for a droplet to become active and answer SSH, e.g. 300", 10, 3600).default(300),
  DATA_DIR: str("a directory for the database, keys and downloads, e.g. ./data").default("./data"),
  DOWNLOAD_DIR: z.string().trim().default(""),
  DOWNLOAD_MIN_FREE_MB: int("free disk in MB to keep on top of a torrent's size before pulling it, e.g. 1024", 0, 10_000_000).default(1024),
  PUBLIC_BASE_URL: url("the URL users reach the download server at, e.g. https://files.example.com").default(
    "http://127.0.0.1:8080",
  ),
  HTTP_LISTEN: str("host:port for the download server, e.g. 127.0.0.1:8080")
    .refine((v) => /^[^\s:]+:\d{1,5}$/.test(v) && Number(v.split(":").pop()) <= 65535, {
      error: "host:port for the download server, e.g. 127.0.0.1:8080 (port 0 picks a free one)",
    })
    .default("127.0.0.1:8080"),
  LINK_SIGNING_KEY: str("a random secret of at least 32 characters; generate one with: openssl rand -hex 32").refine(
    (v) => v.length >= 32,
    { error: "too short: use at least 32 characters; generate one with: openssl rand -hex 32" },
  ),
  LINK_TTL_HOURS: num("hours a download link stays valid, e.g. 24", 0.01, 24 * 365).default(24),
  DOWNLOAD_RETENTION_HOURS: num("hours downloaded files are kept, e.g. 72", 0.01, 24 * 365).default(72),
  SEND_FILES_TO_TELEGRAM: bool("true or false: also send files up to 50 MB (2000 MB with TELEGRAM_LOCAL_BOT_API) as Telegram documents").default(true),
  BUDGET_PER_JOB_USD: num("the most one job may cost in US dollars, e.g. 1.00", 0.01, 10_000).default(1),
  BUDGET_MONTHLY_USD: num("the most all jobs may cost per calendar month in US dollars, e.g. 20", 0.01, 100_000).default(20),
  BUDGET_MONTHLY_PER_USER_USD: z
    .string()
    .trim()
    .refine((v) => v === "" || (Number.isFinite(Number(v)) && Number(v) >= 0.01), {
      error: "the most one user's jobs may cost per calendar month in US dollars, e.g. 5 (or leave empty for no per-user cap)",
    })
    .default(""),
  MAX_DROPLETS: int("how many droplets may run at once, for everyone together, e.g. 3", 1, 1000).default(3),
  MAX_DROPLETS_PER_USER: int("how many droplets one user may run at once, e.g. 2", 1, 1000).default(2),
  PROGRESS_EDIT_SECONDS: num("seconds between progress edits of a job's message, at least 1 (Telegram allows about one message a second per chat), e.g. 5", 1, 120).default(5),
  TORRENT_SPEED_MBPS: num("expected droplet download speed in MB/s for estimates, e.g. 50", 0.01, 10_000).default(50),
  TORRENT_METADATA_TIMEOUT_SECONDS: int("seconds to wait for a magnet's metadata, e.g. 120", 5, 86_400).default(120),
  TORRENT_STALL_TIMEOUT_SECONDS: int("seconds at zero speed before a torrent is given up, e.g. 300", 5, 86_400).default(300),
  TORRENT_PICKER_TIMEOUT_SECONDS: int("seconds the file picker waits for a choice after the last press (then the user's /settings default applies), e.g. 180", 1, 86_400).default(180),
  TORRENT_TRACKERS: wordList.default([]),
  TORRENT_DHT_ENTRY_POINT: z
    .string()
    .trim()
    .refine((v) => v === "" || /^[^\s:]+:\d{1,5}$/.test(v), { error: "host:port, e.g. dht.transmissionbt.com:6881" })
    .default("dht.transmissionbt.com:6881"),
  ARIA2_EXTRA_OPTIONS: optionList.default([]),
  PIP_INDEX_URL: optionalUrl("a PEP 503 index URL, e.g. https://pypi.org/simple"),
  PIP_EXTRA_ARGS: optionList.default([]),
  GALAXY_SERVER: optionalUrl("a Galaxy server URL, e.g. https://galaxy.ansible.com"),
  COLLECTION_TARBALL_DIR: z.string().trim().default(""),
  VENV_ROOT: str("a directory on each host for Dropship's virtualenvs, e.g. ~/.dropship/venvs").default("~/.dropship/venvs"),
  VENV_GC_UNUSED_DAYS: num("days a virtualenv may stay unused before it is removed, e.g. 30", 0.001, 3650).default(30),
  VENV_MIN_FREE_MB: int("free disk in MB a host must have to build a virtualenv, e.g. 1024", 0, 10_000_000).default(1024),
  ON_SHUTDOWN: z.enum(SHUTDOWN_MODES, {
    error: "detach (running torrent jobs stay on their droplets and resume at the next start) or destroy (their droplets are destroyed)",
  }).default("detach"),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"], {
    error: "one of trace, debug, info, warn, error, fatal, silent",
  }).default("info"),
  LOG_PRETTY: bool("true for human-readable logs, false for JSON").default(false),
});

export type RawEnv = z.infer<typeof envSchema>;

export interface Config {
  /**
   * `localBotApi`: TELEGRAM_API_ROOT is a self-hosted `telegram-bot-api --local` on this machine (or sharing its
   * disk): documents up to 2000 MB, sent by file:// path, and getFile answers with absolute paths.
   */
  telegram: { token: string; apiRoot: string; localBotApi: boolean };
  access: { ownerId: number; allowedUserIds: number[]; groupMode: GroupMode };
  digitalOcean: { token: string; apiUrl: string; region: string; size: string; image: string; bootTimeoutMs: number };
  dataDir: string;
  /**
   * The droplet's disk for a torrent: room kept on top of the files (DISK_MARGIN_PERCENT, DISK_MARGIN_MB) and the
   * price of a volume attached when the disk is too small (DO_VOLUME_USD_PER_GIB_MONTH).
   */
  disk: { marginPercent: number; marginBytes: number; volumeUsdPerGibMonth: number };
  /** Finished torrents' files (DOWNLOAD_DIR, default DATA_DIR/downloads) and the free space kept there. */
  downloads: { dir: string; minFreeBytes: number };
  web: {
    publicBaseUrl: string;
    listenHost: string;
    listenPort: number;
    signingKey: string;
    linkTtlMs: number;
    retentionMs: number;
    sendFilesToTelegram: boolean;
  };
  budget: {
    perJobUsd: number;
    monthlyUsd: number;
    /** null: no per-user monthly cap, only the shared one. */
    monthlyPerUserUsd: number | null;
    maxDroplets: number;
    maxDropletsPerUser: number;
  };
  progress: { editIntervalMs: number };
  torrent: {
    speedBytesPerSecond: number;
    metadataTimeoutSeconds: number;
    stallTimeoutSeconds: number;
    /** How long the file picker after a magnet's metadata waits after the last press (TORRENT_PICKER_TIMEOUT_SECONDS). */
    pickerTimeoutSeconds: number;
    trackers: string[];
    dhtEntryPoint: string | null;
    aria2ExtraOptions: string[];
  };
  packages: { pipIndexUrl: string | null; pipExtraArgs: string[]; galaxyServer: string | null; collectionTarballDir: string | null };
  venv: { root: string; gcUnusedMs: number; minFreeMb: number };
  log: { level: RawEnv["LOG_LEVEL"]; pretty: boolean };
  /** What SIGTERM does to running torrent jobs (ON_SHUTDOWN). */
  onShutdown: ShutdownMode;
}

/** The process environment over ./.env: .env fills in what the real environment does not set; the environment wins. */
export function readEnvironment(): Record<string, string | undefined> {
  const fromFile = fs.existsSync(".env") ? parseDotenv(fs.readFileSync(".env")) : {};
  return { ...fromFile, ...process.env };
}

/** Validates `env` against `schema`; throws ConfigError listing every problem at once. */
function parseEnv<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>, what?: string): z.infer<S> {
  // An empty variable means "not set": `FOO=` in .env should fall back to the default or be reported missing.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ""));
  const parsed = schema.safeParse(cleaned);
  if (parsed.success) return parsed.data;
  const seen = new Set<string>();
  const problems: ConfigProblem[] = [];
  for (const issue of parsed.error.issues) {
    const variable = String(issue.path[0] ?? "(environment)");
    if (seen.has(variable)) continue;
    seen.add(variable);
    const missing = cleaned[variable] === undefined;
    problems.push({ variable, message: missing ? `missing; ${issue.message}` : `invalid value; ${issue.message}` });
  }
  throw new ConfigError(problems, what);
}

type PackageAndVenvEnv = Pick<RawEnv, "PIP_INDEX_URL" | "PIP_EXTRA_ARGS" | "GALAXY_SERVER" | "COLLECTION_TARBALL_DIR" | "VENV_ROOT" | "VENV_GC_UNUSED_DAYS" | "VENV_MIN_FREE_MB">;

function packagesOf(e: PackageAndVenvEnv): Config["packages"] {
  return {
    pipIndexUrl: e.PIP_INDEX_URL === "" ? null : e.PIP_INDEX_URL,
    pipExtraArgs: e.PIP_EXTRA_ARGS,
    galaxyServer: e.GALAXY_SERVER === "" ? null : e.GALAXY_SERVER,
    collectionTarballDir: e.COLLECTION_TARBALL_DIR === "" ? null : path.resolve(e.COLLECTION_TARBALL_DIR),
  };
}

function venvOf(e: PackageAndVenvEnv): Config["venv"] {
  return { root: e.VENV_ROOT, gcUnusedMs: e.VENV_GC_UNUSED_DAYS * 86_400_000, minFreeMb: e.VENV_MIN_FREE_MB };
}

/** Reads and validates the configuration; throws ConfigError listing every problem at once. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const e = parseEnv(envSchema, env);
  const [listenHost, listenPort] = splitHostPort(e.HTTP_LISTEN);
  const owner = e.OWNER_ID;
  const apiRoot = e.TELEGRAM_API_ROOT.replace(/\/+$/, "");
  if (e.TELEGRAM_LOCAL_BOT_API && new URL(apiRoot).hostname === PUBLIC_BOT_API_HOST) {
    // Telegram's own server refuses uploads over 50 MB and file:// paths: every big document would fail.
    throw new ConfigError([
      {
        variable: "TELEGRAM_LOCAL_BOT_API",
        message: `invalid value; true needs TELEGRAM_API_ROOT pointing at your own \`telegram-bot-api --local\` server (not ${PUBLIC_BOT_API_HOST}), e.g. http://127.0.0.1:8081; or set it to false`,
      },
    ]);
  }
  return {
    telegram: { token: e.TELEGRAM_BOT_TOKEN, apiRoot, localBotApi: e.TELEGRAM_LOCAL_BOT_API },
    access: { ownerId: owner, allowedUserIds: [...new Set(e.ALLOWED_USER_IDS.filter((id) => id !== owner))], groupMode: e.GROUP_MODE },
    digitalOcean: {
      token: e.DO_TOKEN,
      apiUrl: e.DO_API_URL.replace(/\/+$/, ""),
      region: e.DO_REGION,
      size: e.DO_SIZE,
      image: e.DO_IMAGE,
      bootTimeoutMs: e.DO_BOOT_TIMEOUT_SECONDS * 1000,
    },
    disk: { marginPercent: e.DISK_MARGIN_PERCENT, marginBytes: e.DISK_MARGIN_MB * 1024 * 1024, volumeUsdPerGibMonth: e.DO_VOLUME_USD_PER_GIB_MONTH },
    dataDir: path.resolve(e.DATA_DIR),
    downloads: {
      dir: path.resolve(e.DOWNLOAD_DIR === "" ? path.join(e.DATA_DIR, "downloads") : e.DOWNLOAD_DIR),
      minFreeBytes: e.DOWNLOAD_MIN_FREE_MB * 1024 * 1024,
    },
    web: {
      publicBaseUrl: e.PUBLIC_BASE_URL.replace(/\/+$/, ""),
      listenHost,
      listenPort,
      signingKey: e.LINK_SIGNING_KEY,
      linkTtlMs: e.LINK_TTL_HOURS * 3_600_000,
      retentionMs: e.DOWNLOAD_RETENTION_HOURS * 3_600_000,
      sendFilesToTelegram: e.SEND_FILES_TO_TELEGRAM,
    },
    budget: {
      perJobUsd: e.BUDGET_PER_JOB_USD,
      monthlyUsd: e.BUDGET_MONTHLY_USD,
      monthlyPerUserUsd: e.BUDGET_MONTHLY_PER_USER_USD === "" ? null : Number(e.BUDGET_MONTHLY_PER_USER_USD),
      maxDroplets: e.MAX_DROPLETS,
      maxDropletsPerUser: e.MAX_DROPLETS_PER_USER,
    },
    progress: { editIntervalMs: Math.round(e.PROGRESS_EDIT_SECONDS * 1000) },
    torrent: {
      speedBytesPerSecond: e.TORRENT_SPEED_MBPS * 1_000_000,
      metadataTimeoutSeconds: e.TORRENT_METADATA_TIMEOUT_SECONDS,
      stallTimeoutSeconds: e.TORRENT_STALL_TIMEOUT_SECONDS,
      pickerTimeoutSeconds: e.TORRENT_PICKER_TIMEOUT_SECONDS,
      trackers: e.TORRENT_TRACKERS,
      dhtEntryPoint: e.TORRENT_DHT_ENTRY_POINT === "" ? null : e.TORRENT_DHT_ENTRY_POINT,
      aria2ExtraOptions: e.ARIA2_EXTRA_OPTIONS,
    },
    packages: packagesOf(e),
    venv: venvOf(e),
    log: { level: e.LOG_LEVEL, pretty: e.LOG_PRETTY },
    onShutdown: e.ON_SHUTDOWN,
  };
}

/** What `npm run venv` needs: package sources, venv settings, DATA_DIR (for registered hosts) and logging. */
export type VenvToolConfig = Pick<Config, "packages" | "venv" | "dataDir" | "log">;

// The same rules as the bot's, for only these variables: no bot or cloud token is needed to build a venv.
const venvToolSchema = envSchema.pick({
  PIP_INDEX_URL: true,
  PIP_EXTRA_ARGS: true,
  GALAXY_SERVER: true,
  COLLECTION_TARBALL_DIR: true,
  VENV_ROOT: true,
  VENV_GC_UNUSED_DAYS: true,
  VENV_MIN_FREE_MB: true,
  DATA_DIR: true,
  LOG_PRETTY: true,
}).extend({
  // The command prints its progress and failures itself; its log lines (stderr) are for debugging.
  LOG_LEVEL: envSchema.shape.LOG_LEVEL.unwrap().default("error"),
});

/** Reads and validates only the variables of VenvToolConfig; throws ConfigError naming each bad one. */
export function loadVenvToolConfig(env: Record<string, string | undefined>): VenvToolConfig {
  const e = parseEnv(venvToolSchema, env, "npm run venv cannot run");
  return { packages: packagesOf(e), venv: venvOf(e), dataDir: path.resolve(e.DATA_DIR), log: { level: e.LOG_LEVEL, pretty: e.LOG_PRETTY } };
}

function splitHostPort(v: string): [string, number] {
  const i = v.lastIndexOf(":");
  return [v.slice(0, i), Number(v.slice(i + 1))];
}

/** The variables that must be set; the rest have defaults. Used by docs and tests. */
export const REQUIRED_VARIABLES = ["TELEGRAM_BOT_TOKEN", "OWNER_ID", "DO_TOKEN", "LINK_SIGNING_KEY"] as const;
export const ALL_VARIABLES = Object.keys(envSchema.shape) as (keyof RawEnv)[];

// The whole local world plus the real app, wired the way a user's .env would wire it, for end-to-end tests and benchmarks.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../src/config.js";
import { startApp, type App } from "../../src/app/start-app.js";
import { createLogger } from "../../src/shared/logger.js";
import { startFakeTelegram, type FakeTelegram, type FakeTelegramLimits, type FakeUser, type SentMessage } from "../world/fake-telegram.js";
import { startFakeDigitalOcean, type FakeDigitalOcean, type FakeDroplet } from "../world/fake-digitalocean.js";
import { DROPLET_SWARM_ARIA2_OPTIONS, startSwarm, type Swarm } from "../world/swarm.js";
import { startWorldNet, type WorldNet } from "../world/world-net.js";
import { startPackageIndex, type PackageIndex } from "../world/package-index.js";
import { buildCollectionTarballs } from "../world/collection-tarballs.js";
import { WORLD_CACHE_DIR } from "../world/world-cache.js";

export const BOT_TOKEN = "123456789:AAE_test-token-for-the-local-world-only1";
export const DO_TOKEN = "dop_v1_local_world_token_0123456789abcdef";
export const SIGNING_KEY = "local-world-signing-key-0123456789abcdef";

export const ALICE: FakeUser = { id: 1001, first_name: "Alice", username: "alice" };
export const BOB: FakeUser = { id: 1002, first_name: "Bob", username: "bob" };
export const MALLORY: FakeUser = { id: 6666, first_name: "Mallory" };

export interface World {
  dir: string;
  /** The bridge and namespaces the droplets live in; the swarm listens on its gateway address. */
  net: WorldNet;
  telegram: FakeTelegram;
  digitalOcean: FakeDigitalOcean;
  swarm: Swarm;
  packages: PackageIndex;
  collectionsDir: string;
  /** Every log line the app wrote (JSON), for assertions about secrets. */
  logLines: string[];
  app: App | null;
  /** The environment a user's .env would hold to run the bot against this world. */
  env(overrides?: Record<string, string>): Promise<Record<string, string>>;
  startApp(env?: Record<string, string>): Promise<App>;
  stop(): Promise<void>;
}

/**
 * `telegramLimits`: Telegram's limits are on by default; a test that relaxes one says why. `telegramLocalMode`: the
 * fake plays a self-hosted `telegram-bot-api --local`, and the app's env says so (TELEGRAM_LOCAL_BOT_API). `sshDelayMs`
 * and `cloudInitPackagesMs` fix the fake droplets' other delays (benchmarks: a known floor, or DigitalOcean-like times).
 */
export async function startWorld(
  opts: {
    activeDelayMs?: number;
    sshDelayMs?: number;
    cloudInitPackagesMs?: number;
    telegramLimits?: FakeTelegramLimits;
    telegramLocalMode?: boolean;
    /** A droplet's disk per GiB of its size (the fake's default: 16 MiB, 400 MiB for s-1vcpu-1gb's 25 GiB). */
    dropletDiskBytesPerGib?: number;
  } = {},
): Promise<World> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-e2e-"));
  const started: { stop(): Promise<void> }[] = [];
  try {
    const net = await startWorldNet();
    started.push(net);
    const telegram = await startFakeTelegram({ token: BOT_TOKEN, limits: opts.telegramLimits, localMode: opts.telegramLocalMode });
    started.push(telegram);
    // The fake's realistic defaults: SSH a while after "active", lagging lists and destroys, cloud-init installing aria2.
    const digitalOcean = await startFakeDigitalOcean({
      token: DO_TOKEN,
      dir: path.join(dir, "droplets"),
      net,
      activeDelayMs: opts.activeDelayMs ?? 500,
      sshDelayMs: opts.sshDelayMs,
      cloudInitPackagesMs: opts.cloudInitPackagesMs,
      diskBytesPerGib: opts.dropletDiskBytesPerGib,
    });
    started.push(digitalOcean);
    const swarm = await startSwarm({ dir, listenAddress: net.gateway });
    started.push(swarm);
    const packages = await startPackageIndex();
    started.push(packages);
    const collectionsDir = await buildCollectionTarballs();
    const logLines: string[] = [];
    const world: World = {
      dir,
      net,
      telegram,
      digitalOcean,
      swarm,
      packages,
      collectionsDir,
      logLines,
      app: null,
      async env(overrides = {}) {
        const webPort = await freePort();
        return {
          TELEGRAM_BOT_TOKEN: BOT_TOKEN,
          TELEGRAM_API_ROOT: telegram.apiRoot,
          OWNER_ID: String(ALICE.id),
          ALLOWED_USER_IDS: String(BOB.id),
          DO_TOKEN,
          DO_API_URL: digitalOcean.url,
          DO_REGION: "fra1",
          DO_SIZE: "s-1vcpu-1gb",
          // Generous: a loaded 2-core machine boots the first fake droplets slowly; a real timeout is tested on its own.
          DO_BOOT_TIMEOUT_SECONDS: "150",
          LINK_SIGNING_KEY: SIGNING_KEY,
          DATA_DIR: path.join(dir, "data"),
          HTTP_LISTEN: `127.0.0.1:${webPort}`,
          PUBLIC_BASE_URL: `http://127.0.0.1:${webPort}`,
          PROGRESS_EDIT_SECONDS: "1",
          TORRENT_STALL_TIMEOUT_SECONDS: "20",
          TORRENT_METADATA_TIMEOUT_SECONDS: "30",
          TORRENT_DHT_ENTRY_POINT: "",
          ARIA2_EXTRA_OPTIONS: DROPLET_SWARM_ARIA2_OPTIONS.join(" "),
          PIP_INDEX_URL: packages.url,
          COLLECTION_TARBALL_DIR: collectionsDir,
          // The torrent venv is the same on every run: share it between test files like any other cache.
          VENV_ROOT: path.join(WORLD_CACHE_DIR, "local-venvs"),
          LOG_LEVEL: "debug",
          ...(opts.telegramLocalMode ? { TELEGRAM_LOCAL_BOT_API: "true" } : {}),
          ...overrides,
        };
      },
      async startApp(env = {}) {
        const config = loadConfig(await world.env(env));
        const logger = createLogger({
          level: config.log.level,
          secrets: [BOT_TOKEN, DO_TOKEN, SIGNING_KEY],
          destination: { write: (line: string) => void logLines.push(line) },
        });
        world.app = await startApp(config, { logger });
        return world.app;
      },
      async stop() {
        await world.app?.stop().catch(() => undefined);
        for (const s of started.reverse()) await s.stop().catch(() => undefined);
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
    return world;
  } catch (err) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** The first bot message in `chatId` newer than `afterId` that `match` accepts (e.g. the next card). */
export function nextBotMessage(world: World, chatId: number, afterId: number, match: (m: SentMessage) => boolean, timeoutMs = 15_000): Promise<SentMessage> {
  return world.telegram.waitFor(
    () => world.telegram.messages(chatId).find((m) => m.message_id > afterId && match(m)),
    timeoutMs,
    "a new bot message",
  );
}

/** The highest message id in a chat so far (0 when empty). */
export function lastMessageId(world: World, chatId: number): number {
  return Math.max(0, ...world.telegram.messages(chatId, { includeUser: true }).map((m) => m.message_id));
}

export const isCard = (m: SentMessage) => m.text.includes("Press Start");

/** The callback_data of a button on a message, by its label. */
export function buttonData(m: SentMessage, label: RegExp): string {
  const rows = (m.reply_markup as { inline_keyboard?: { text: string; callback_data?: string }[][] } | undefined)?.inline_keyboard ?? [];
  const b = rows.flat().find((x) => label.test(x.text));
  if (!b?.callback_data) throw new Error(`no button ${label} on message ${m.message_id}: ${JSON.stringify(rows)}`);
  return b.callback_data;
}

/** The URLs of text links in a message (HTML <a href> become text_link entities). */
export function linksOf(m: SentMessage): string[] {
  return m.entities.filter((e) => e.type === "text_link").map((e) => (e as { url: string }).url);
}

/**
 * A job's result: the links message that replaced its card (`card`: its message id), found by the job id its links
 * carry. After the card, because apps with DATA_DIRs of their own in one chat count job ids from 1 each.
 */
export function linksMessageOf(world: World, chatId: number, card: { jobId: number; cardId: number }): SentMessage | undefined {
  return world.telegram
    .messages(chatId)
    .find((m) => m.message_id > card.cardId && !m.deleted && m.text.includes("All files") && linksOf(m).some((u) => u.includes(`/d/${card.jobId}/`)));
}

/** The RPC port of the aria2c running on a droplet (read from its command line), or null while there is none. */
export function dropletAria2RpcPort(droplet: FakeDroplet): number | null {
  let pids: string[];
  try {
    pids = execFileSync("ip", ["netns", "pids", droplet.netns.name], { encoding: "utf8" }).split("\n").filter(Boolean);
  } catch {
    return null;
  }
  for (const pid of pids) {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (!argv[0]?.endsWith("aria2c")) continue;
      const port = argv.find((a) => a.startsWith("--rpc-listen-port="));
      if (port) return Number(port.split("=")[1]);
    } catch {
      /* exited meanwhile */
    }
  }
  return null;
}

/** Whether a TCP connection to host:port succeeds from the bot's namespace, or (given nsPath) from inside that one. */
export function tcpReachable(host: string, port: number, nsPath?: string): Promise<boolean> {
  if (nsPath) {
    // bash's /dev/tcp: one connect from inside the droplet's network namespace.
    const r = spawnSync("nsenter", [`--net=${nsPath}`, "bash", "-c", `exec 3<>/dev/tcp/${host}/${port}`], { timeout: 5000 });
    return Promise.resolve(r.status === 0);
  }
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
    s.setTimeout(2000, () => (s.destroy(), resolve(false)));
  });
}

/**
 * `user` says on /settings to fetch every file of a torrent: a multi-file magnet then does not wait for the file picker
 * after its metadata (for tests and benches about something else; a person choosing files is not the job's time).
 */
export async function fetchEveryFile(world: World, user: FakeUser = ALICE): Promise<void> {
  const before = lastMessageId(world, user.id);
  world.telegram.sendText(user, "/settings");
  const settings = await nextBotMessage(world, user.id, before, (m) => m.text.includes("Your settings"));
  const pressed = world.telegram.pressButton(user, settings, buttonData(settings, /Fetch all/));
  await world.telegram.waitFor(() => world.telegram.answeredCallbacks.some((a) => a.callback_query_id === pressed), 15_000, "the settings saved");
}

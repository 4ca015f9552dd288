import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { ALL_VARIABLES, ConfigError, REQUIRED_VARIABLES, loadConfig, loadVenvToolConfig } from "../../src/config.js";

const valid = {
  TELEGRAM_BOT_TOKEN: "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghi",
  OWNER_ID: "42",
  DO_TOKEN: "dop_v1_0123456789abcdef",
  LINK_SIGNING_KEY: "0123456789abcdef0123456789abcdef",
};

function problemsOf(env: Record<string, string | undefined>) {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("accepts the four required variables and fills production defaults", () => {
    const c = loadConfig(valid);
    expect(c.telegram.apiRoot).toBe("https://api.telegram.org");
    expect(c.digitalOcean.apiUrl).toBe("https://api.digitalocean.com/v2");
    expect(c.access).toEqual({ ownerId: 42, allowedUserIds: [], groupMode: "private-only" });
    expect(c.web.listenPort).toBe(8080);
    expect(c.progress.editIntervalMs).toBe(5000);
    expect(c.dataDir).toMatch(/\/data$/);
  });

  it("names every missing required variable at once, saying what to put there", () => {
    const problems = problemsOf({});
    expect(problems.map((p) => p.variable).sort()).toEqual([...REQUIRED_VARIABLES].sort());
    for (const p of problems) expect(p.message).toMatch(/^missing; /);
    expect(problems.find((p) => p.variable === "LINK_SIGNING_KEY")!.message).toContain("openssl rand -hex 32");
  });

  it("treats an empty value as missing", () => {
    expect(problemsOf({ ...valid, DO_TOKEN: "  " })).toEqual([
      { variable: "DO_TOKEN", message: expect.stringMatching(/^missing; .*personal access token/) },
    ]);
  });

  // One malformed value per variable that can be malformed: each is reported by name, alone.
  const malformed: Record<string, string> = {
    TELEGRAM_BOT_TOKEN: "not-a-token",
    TELEGRAM_API_ROOT: "ftp://x",
    TELEGRAM_LOCAL_BOT_API: "maybe",
    OWNER_ID: "alice",
    ALLOWED_USER_IDS: "1,bob",
    GROUP_MODE: "public",
    ON_SHUTDOWN: "pause",
    DO_API_URL: "api.digitalocean.com",
    DO_BOOT_TIMEOUT_SECONDS: "3",
    PUBLIC_BASE_URL: "files.example.com",
    HTTP_LISTEN: "8080",
    LINK_SIGNING_KEY: "short",
    LINK_TTL_HOURS: "-1",
    DOWNLOAD_RETENTION_HOURS: "soon",
    SEND_FILES_TO_TELEGRAM: "maybe",
    BUDGET_PER_JOB_USD: "0",
    BUDGET_MONTHLY_USD: "lots",
    BUDGET_MONTHLY_PER_USER_USD: "0",
    MAX_DROPLETS: "0",
    MAX_DROPLETS_PER_USER: "two",
    DOWNLOAD_MIN_FREE_MB: "-1",
    DISK_MARGIN_PERCENT: "-5",
    DISK_MARGIN_MB: "1.5",
    DO_VOLUME_USD_PER_GIB_MONTH: "cheap",
    PROGRESS_EDIT_SECONDS: "0",
    TORRENT_SPEED_MBPS: "fast",
    TORRENT_METADATA_TIMEOUT_SECONDS: "1.5",
    TORRENT_STALL_TIMEOUT_SECONDS: "1",
    TORRENT_PICKER_TIMEOUT_SECONDS: "0",
    TORRENT_DHT_ENTRY_POINT: "nohost",
    PIP_INDEX_URL: "not a url",
    GALAXY_SERVER: "::",
    VENV_GC_UNUSED_DAYS: "0",
    VENV_MIN_FREE_MB: "-5",
    LOG_LEVEL: "loud",
    LOG_PRETTY: "sometimes",
  };
  for (const [variable, value] of Object.entries(malformed)) {
    it(`reports a malformed ${variable}`, () => {
      const problems = problemsOf({ ...valid, [variable]: value });
      expect(problems).toHaveLength(1);
      expect(problems[0]!.variable).toBe(variable);
      expect(problems[0]!.message).toMatch(/^invalid value; \S/);
    });
  }

  it("takes TELEGRAM_LOCAL_BOT_API only with a Bot API server of one's own", () => {
    expect(loadConfig(valid).telegram.localBotApi).toBe(false);
    expect(loadConfig({ ...valid, TELEGRAM_LOCAL_BOT_API: "true", TELEGRAM_API_ROOT: "http://127.0.0.1:8081" }).telegram).toMatchObject({ localBotApi: true, apiRoot: "http://127.0.0.1:8081" });
    expect(problemsOf({ ...valid, TELEGRAM_LOCAL_BOT_API: "true" })).toEqual([
      { variable: "TELEGRAM_LOCAL_BOT_API", message: expect.stringMatching(/^invalid value; true needs TELEGRAM_API_ROOT pointing at your own `telegram-bot-api --local` server/) },
    ]);
  });

  it("refuses progress edits faster than one a second, saying why and what to put", () => {
    expect(problemsOf({ ...valid, PROGRESS_EDIT_SECONDS: "0.2" })).toEqual([
      { variable: "PROGRESS_EDIT_SECONDS", message: expect.stringMatching(/^invalid value; .*at least 1 \(Telegram allows about one message a second per chat\), e\.g\. 5/) },
    ]);
    expect(loadConfig({ ...valid, PROGRESS_EDIT_SECONDS: "1" }).progress.editIntervalMs).toBe(1000);
  });

  it("covers every variable it knows in this test (required, malformed or free-form)", () => {
    const freeForm = ["DO_REGION", "DO_SIZE", "DO_IMAGE", "DATA_DIR", "DOWNLOAD_DIR", "TORRENT_TRACKERS", "ARIA2_EXTRA_OPTIONS", "PIP_EXTRA_ARGS", "COLLECTION_TARBALL_DIR", "VENV_ROOT"];
    const covered = new Set([...REQUIRED_VARIABLES, ...Object.keys(malformed), ...freeForm]);
    expect(ALL_VARIABLES.filter((v) => !covered.has(v))).toEqual([]);
  });

  it("parses lists, booleans and the listen address", () => {
    const c = loadConfig({
      ...valid,
      ALLOWED_USER_IDS: "7, 8,42",
      HTTP_LISTEN: "0.0.0.0:9000",
      SEND_FILES_TO_TELEGRAM: "no",
      TORRENT_TRACKERS: "http://a/announce, udp://b:80",
      ARIA2_EXTRA_OPTIONS: "--enable-dht=false --interface=127.0.0.1",
      TELEGRAM_API_ROOT: "http://127.0.0.1:9/",
      GROUP_MODE: "open",
      ON_SHUTDOWN: "destroy",
    });
    expect(c.onShutdown).toBe("destroy");
    expect(loadConfig(valid).onShutdown).toBe("detach");
    expect(c.access.allowedUserIds).toEqual([7, 8]);
    expect(c.access.groupMode).toBe("open");
    expect([c.web.listenHost, c.web.listenPort]).toEqual(["0.0.0.0", 9000]);
    expect(c.web.sendFilesToTelegram).toBe(false);
    expect(c.torrent.trackers).toEqual(["http://a/announce", "udp://b:80"]);
    expect(c.torrent.aria2ExtraOptions).toEqual(["--enable-dht=false", "--interface=127.0.0.1"]);
    expect(c.telegram.apiRoot).toBe("http://127.0.0.1:9");
  });

  it("never puts a secret value into its error message", () => {
    const err = (() => {
      try {
        loadConfig({ ...valid, TELEGRAM_BOT_TOKEN: "123:secretsecretsecret", LINK_SIGNING_KEY: "tinysecret" });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err!.message).not.toContain("secretsecretsecret");
    expect(err!.message).not.toContain("tinysecret");
  });

  it("documents every variable in .env.example and the README", () => {
    const example = fs.readFileSync(new URL("../../.env.example", import.meta.url), "utf8");
    const readme = fs.readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    expect(ALL_VARIABLES.filter((v) => !new RegExp(`^${v}=`, "m").test(example))).toEqual([]);
    expect(ALL_VARIABLES.filter((v) => !readme.includes(`\`${v}\``))).toEqual([]);
  });
});

describe("loadVenvToolConfig (npm run venv)", () => {
  it("needs no bot or cloud token and ignores the bot's other settings, with the same defaults", () => {
    const c = loadVenvToolConfig({ LINK_SIGNING_KEY: "short", OWNER_ID: "not a number", PIP_INDEX_URL: "http://127.0.0.1:9/simple/", PIP_EXTRA_ARGS: "--isolated -q" });
    expect(c.packages).toEqual({ ...loadConfig(valid).packages, pipIndexUrl: "http://127.0.0.1:9/simple/", pipExtraArgs: ["--isolated", "-q"] });
    expect(c.venv).toEqual(loadConfig(valid).venv);
    expect(c.dataDir).toBe(loadConfig(valid).dataDir);
    // The command prints its own progress: its logs are for debugging unless asked for.
    expect(c.log).toEqual({ level: "error", pretty: false });
    expect(loadVenvToolConfig({ LOG_LEVEL: "debug" }).log.level).toBe("debug");
  });

  it("applies the bot's rules to its variables and names each bad one", () => {
    let err: unknown;
    try {
      loadVenvToolConfig({ VENV_MIN_FREE_MB: "lots", GALAXY_SERVER: "not a url", LOG_LEVEL: "loud" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.variable).sort()).toEqual(["GALAXY_SERVER", "LOG_LEVEL", "VENV_MIN_FREE_MB"]);
    expect((err as ConfigError).message).toMatch(/^npm run venv cannot run; fix these settings/);
  });
});

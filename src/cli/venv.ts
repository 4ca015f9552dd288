// Entry for `npm run venv -- <playbook.yml | project-dir> [--entry FILE] [--host NAME] [--json]`: reads only the
// package-source and venv settings, wires the bot's own machine or a registered host, and runs runVenvCommand.
import fs from "node:fs";
import path from "node:path";
import pino, { type DestinationStream } from "pino";
import pretty from "pino-pretty";
import { ConfigError, loadVenvToolConfig, readEnvironment, type VenvToolConfig } from "../config.js";
import { HostRegistry } from "../hosts/host-registry.js";
import { loadOrCreateBotKey } from "../remote/bot-key.js";
import { LocalHost } from "../remote/local-host.js";
import { sshHostConnector } from "../remote/ssh-host.js";
import { createLogger, type Logger } from "../shared/logger.js";
import { openDatabase } from "../storage/database.js";
import { runVenvCommand, VenvCommandInputError, type VenvTarget } from "../venv/venv-cli.js";
import { galaxyRoleStager, type RoleStager } from "../venv/role-closure.js";
import { createGalaxyToolVenvProvider } from "../venv/torrent-venv.js";
import { VenvManager } from "../venv/venv-manager.js";

function stderrLogger(config: VenvToolConfig): Logger {
  // stdout carries the report (JSON with --json): logs go to stderr.
  const destination = config.log.pretty
    ? (pretty({ colorize: process.stderr.isTTY, sync: true, destination: 2 }) as DestinationStream)
    : pino.destination({ dest: 2, sync: true });
  return createLogger({ level: config.log.level, destination });
}

/**
 * The bot's own machine, recorded in the bot's database under DATA_DIR: a venv is reused only when a database holds
 * the digest of its content (docs/venv.md, Trust), so the command and the bot trust the same builds.
 */
function localTarget(config: VenvToolConfig, logger: Logger): VenvTarget {
  const db = openDatabase(path.join(config.dataDir, "dropship.sqlite"));
  const venvs = new VenvManager({ db, packages: config.packages, venv: config.venv, logger });
  return { host: new LocalHost(), venvs, local: true, close: async () => void db.close() };
}

/** A host registered with /addhost: the bot's database and SSH key under DATA_DIR, the pinned host key only. */
async function registeredTarget(name: string, config: VenvToolConfig, logger: Logger): Promise<VenvTarget> {
  const dbFile = path.join(config.dataDir, "dropship.sqlite");
  if (!fs.existsSync(dbFile)) {
    throw new VenvCommandInputError(`there is no host called ${name}: ${dbFile} does not exist (is DATA_DIR the bot's?); add hosts with /addhost in the bot`);
  }
  const keyDir = path.join(config.dataDir, "keys");
  const db = openDatabase(dbFile);
  try {
    const registry = new HostRegistry({ db, connect: (t) => sshHostConnector(loadOrCreateBotKey(keyDir).privateKey)(t) });
    if (!registry.get(name)) {
      const known = registry.list().map((h) => h.name);
      throw new VenvCommandInputError(`there is no host called ${name} in ${dbFile}; ${known.length > 0 ? `registered: ${known.join(", ")}` : "none is registered (add one with /addhost in the bot)"}`);
    }
    // A new key would be authorised nowhere: only the bot's own will do.
    if (!fs.existsSync(path.join(keyDir, "id_ed25519"))) throw new VenvCommandInputError(`the bot's SSH key ${path.join(keyDir, "id_ed25519")} is missing; DATA_DIR must be the bot's`);
    const host = await registry.connect(name);
    const venvs = new VenvManager({ db, packages: config.packages, venv: config.venv, logger });
    return { host, venvs, local: false, close: async () => {
      await host.close();
      db.close();
    } };
  } catch (err) {
    db.close();
    throw err;
  }
}

/** ansible-galaxy from the Galaxy tool venv on this machine, as the bot fetches roles for its analysis. */
function galaxyToolStager(config: VenvToolConfig, logger: Logger): RoleStager {
  const host = new LocalHost();
  const tool = createGalaxyToolVenvProvider({ manager: new VenvManager({ db: openDatabase(path.join(config.dataDir, "dropship.sqlite")), packages: config.packages, venv: config.venv, logger }), host, logger });
  return galaxyRoleStager({ host, ansibleGalaxy: async () => `${await tool()}/bin/ansible-galaxy`, galaxyServer: config.packages.galaxyServer, timeoutMs: 5 * 60_000 });
}

/** The settings, read when first needed (so --help and argument errors need none); a bad one is bad input. */
function settingsLoader(): () => { config: VenvToolConfig; logger: Logger } {
  let loaded: { config: VenvToolConfig; logger: Logger } | undefined;
  return () => {
    if (loaded) return loaded;
    try {
      const config = loadVenvToolConfig(readEnvironment());
      loaded = { config, logger: stderrLogger(config) };
      return loaded;
    } catch (err) {
      if (err instanceof ConfigError) throw new VenvCommandInputError(`${err.message}\nSee .env.example for these settings.`);
      throw err;
    }
  };
}

async function main(argv: string[]): Promise<number> {
  const settings = settingsLoader();
  // Ctrl-C stops the build; the manager removes what it had built.
  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort(new Error("interrupted")));
  process.once("SIGTERM", () => abort.abort(new Error("terminated")));
  const result = await runVenvCommand(argv, {
    openTarget: async (name) => {
      const { config, logger } = settings();
      return name === null ? localTarget(config, logger) : registeredTarget(name, config, logger);
    },
    // The closure fetches roles with the bot's Galaxy tool venv on this machine (built once, then reused).
    roleStager: () => {
      const { config, logger } = settings();
      return galaxyToolStager(config, logger);
    },
    progress: (line) => process.stderr.write(`… ${line}\n`),
    signal: abort.signal,
  });
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  return result.exitCode;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`npm run venv failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);

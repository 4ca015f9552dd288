// `npm run sandbox [-- --port N]`: the local world and the real app, and a page on 127.0.0.1 to use the bot in a
// browser with no token at all. Ctrl-C stops everything (jobs cancelled, droplets destroyed, temp dirs removed);
// a second Ctrl-C exits at once.
import { parseArgs } from "node:util";
import { startSandbox, type Sandbox } from "./start-sandbox.js";

const t0 = Date.now();
const tty = process.stdout.isTTY;
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);
const say = (s: string) => console.log(`${dim(`[+${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s]`)} ${s}`);

function parsePort(): number | undefined {
  const { values } = parseArgs({ options: { port: { type: "string" } } });
  if (values.port === undefined) return undefined;
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error(`--port must be a TCP port number (1–65535), got ${JSON.stringify(values.port)}`);
    process.exit(2);
  }
  return port;
}

let sandbox: Sandbox | null = null;
let interrupted = false;
let stopping: Promise<void> | null = null;

function stopAndExit(code: number): Promise<void> {
  return (stopping ??= (async () => {
    say("Stopping: the app cancels running jobs (their droplets are destroyed), then the world shuts down …");
    await sandbox?.stop();
    say("Everything stopped; temp dirs removed.");
    process.exit(code);
  })());
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    if (interrupted) {
      console.log("\nSecond interrupt: exiting without waiting for clean-up.");
      process.exit(130);
    }
    interrupted = true;
    console.log();
    // startSandbox cannot be stopped half-way: while it runs, main() stops what it started once it returns.
    if (sandbox) void stopAndExit(130);
    else say("Interrupted while starting: stopping as soon as the start returns (Ctrl-C again exits at once) …");
  });
}

async function main(): Promise<void> {
  const port = parsePort();
  console.log(bold("Dropship sandbox") + dim(" — the real bot against a local Telegram, DigitalOcean, swarm and hosts; no token needed.\n"));
  say("Starting (the first run builds cached artefacts under .world/cache; later ones take seconds) …");
  try {
    sandbox = await startSandbox({ port, log: (line) => say(`  ${line}`) });
  } catch (err) {
    // startSandbox has stopped whatever it had started.
    say(`The sandbox could not start: ${(err as Error).stack ?? String(err)}`);
    process.exit(interrupted ? 130 : 1);
  }
  if (interrupted) return stopAndExit(130);
  say("Ready.\n");
  console.log(`  Open ${bold(sandbox.url)} in a browser.\n`);
  console.log(dim("  You are Alice, the bot's owner. Paste a sample magnet from the side panel, send a .torrent, or attach a"));
  console.log(dim(`  playbook (.yml, .zip, .tar.gz) and press Run… to run it on ${sandbox.host.address}. Ctrl-C stops everything.\n`));
}

void main();

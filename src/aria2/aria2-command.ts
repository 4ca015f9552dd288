// The aria2c command line for a download droplet: RPC on the droplet's localhost behind a secret, no seeding
// after completion, a stall timeout, trackers and a DHT entry point; plus the shell line that daemonises it.
import { quote } from "shell-quote";

export interface Aria2LaunchOptions {
  /** Port for JSON-RPC, bound to the droplet's loopback only (reached through an SSH port forward). */
  rpcPort: number;
  rpcSecret: string;
  /** Where files land on the droplet. */
  downloadDir: string;
  /**
   * Seconds to seed after completion; 0 (default) stops at once (the droplet is about to be destroyed); null sets no
   * global limit, leaving it to each download's own `seed-time` / `seed-ratio` (a job's seeding policy).
   */
  seedTime?: number | null;
  /** --bt-stop-timeout: give up after this many seconds at zero speed, metadata phase included (error 7). */
  stallTimeoutSeconds: number;
  /** Extra trackers announced for every torrent (--bt-tracker). */
  trackers?: readonly string[];
  /** host:port of a DHT node to bootstrap from; null turns the entry point off (DHT stays as aria2 defaults). */
  dhtEntryPoint?: string | null;
  /** aria2's own log (--log), e.g. on the droplet next to the downloads; omitted → none. */
  logFile?: string;
  /** Appended last, so they win: e.g. the closed-swarm flags of the test world (ARIA2_EXTRA_OPTIONS). */
  extraOptions?: readonly string[];
  /** The binary; default "aria2c". */
  binary?: string;
  /**
   * --pause-metadata: a magnet's real download waits, paused, once its metadata is in, until aria2.unpause (the job
   * looks at the real size and files first). Default false.
   */
  pauseAfterMetadata?: boolean;
}

/** argv for aria2c (argv[0] is the binary). Throws on options that would make an unsafe or broken command. */
export function buildAria2Command(o: Aria2LaunchOptions): string[] {
  if (!Number.isInteger(o.rpcPort) || o.rpcPort < 1 || o.rpcPort > 65535) {
    throw new Error(`aria2 RPC port must be 1–65535, got ${o.rpcPort}`);
  }
  if (!/^[A-Za-z0-9_-]{16,}$/.test(o.rpcSecret)) {
    throw new Error("the aria2 RPC secret must be at least 16 characters of [A-Za-z0-9_-]");
  }
  if (!Number.isInteger(o.stallTimeoutSeconds) || o.stallTimeoutSeconds < 1) {
    throw new Error(`the stall timeout must be a whole number of seconds ≥ 1, got ${o.stallTimeoutSeconds}`);
  }
  for (const opt of o.extraOptions ?? []) {
    if (!opt.startsWith("--")) throw new Error(`extra aria2 options must look like --name=value, got ${JSON.stringify(opt)}`);
  }
  const argv = [
    o.binary ?? "aria2c",
    "--enable-rpc=true",
    "--rpc-listen-all=false",
    `--rpc-listen-port=${o.rpcPort}`,
    `--rpc-secret=${o.rpcSecret}`,
    `--dir=${o.downloadDir}`,
    `--bt-stop-timeout=${o.stallTimeoutSeconds}`,
    // Keep metadata in memory: no stray .torrent files among the user's downloads (aria2 would otherwise
    // save every torrent uploaded over RPC as <sha1>.torrent in --dir).
    "--bt-save-metadata=false",
    "--rpc-save-upload-metadata=false",
    "--follow-torrent=mem",
    "--file-allocation=none",
    "--auto-file-renaming=false",
    // Pieces that straddle a chosen and an unchosen file leave part of the unchosen one on disk; aria2 deletes those
    // at completion (measured, aria2 1.36), so the droplet holds only the chosen files.
    "--bt-remove-unselected-file=true",
    "--summary-interval=0",
    "--console-log-level=warn",
  ];
  if (o.seedTime !== null) argv.push(`--seed-time=${o.seedTime ?? 0}`);
  if (o.pauseAfterMetadata) argv.push("--pause-metadata=true");
  const trackers = o.trackers ?? [];
  if (trackers.length > 0) argv.push(`--bt-tracker=${trackers.join(",")}`);
  if (o.dhtEntryPoint) argv.push("--enable-dht=true", `--dht-entry-point=${o.dhtEntryPoint}`);
  if (o.logFile) argv.push(`--log=${o.logFile}`, "--log-level=notice");
  argv.push(...(o.extraOptions ?? []));
  return argv;
}

/**
 * A POSIX shell line that starts aria2 in the background on the droplet and prints its PID. stdin comes
 * from /dev/null (or the SSH exec channel never closes) and output goes to `outputFile`.
 */
export function aria2DaemonShellLine(argv: readonly string[], outputFile: string): string {
  return `nohup ${quote([...argv])} </dev/null >>${quote([outputFile])} 2>&1 & echo $!`;
}

/** The command with its RPC secret masked, for logs and error messages. */
export function redactAria2Command(argv: readonly string[]): string {
  return argv.map((a) => (a.startsWith("--rpc-secret=") ? "--rpc-secret=***" : a)).join(" ");
}

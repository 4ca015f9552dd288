// The one interface for running commands and moving files on a machine: the bot's own (LocalHost) or one over SSH (SshHost).
// Commands are argv arrays, never shell strings, so a user-controlled value cannot reach a shell unquoted.
import type { PublicKeyInfo } from "../shared/ssh-keys.js";

export interface ExecOptions {
  stdin?: string | Buffer;
  /** Kill the command after this long; the result then has code null and signal "SIGKILL" or "SIGTERM". */
  timeoutMs?: number;
  signal?: AbortSignal;
  onStdout?(chunk: string): void;
  onStderr?(chunk: string): void;
  /** Extra environment variables for the command (names must be shell identifiers). */
  env?: Record<string, string>;
  /** Working directory for the command. */
  cwd?: string;
}

export interface ExecResult {
  /** Exit code, or null when the command died of a signal (or was cut off). */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface Host {
  /** A short, stable name for logs, messages and the venvs table, e.g. "root@10.0.0.5:22" or "local". */
  readonly label: string;
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  writeFile(path: string, data: string | Buffer, mode?: number): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  close(): Promise<void>;
}

/** A command that exited non-zero (or died), with its output kept so the caller can word the problem. */
export class CommandFailedError extends Error {
  constructor(
    readonly hostLabel: string,
    readonly argv: string[],
    readonly result: ExecResult,
  ) {
    const how = result.code === null ? `was killed (${result.signal ?? "connection lost"})` : `exited with ${result.code}`;
    const tail = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-8).join("\n");
    super(`on ${hostLabel}: \`${argv.slice(0, 4).join(" ")}${argv.length > 4 ? " …" : ""}\` ${how}${tail ? `:\n${tail}` : ""}`);
    this.name = "CommandFailedError";
  }
}

/** Runs argv and throws CommandFailedError unless it exits 0. */
export async function run(host: Host, argv: string[], opts?: ExecOptions): Promise<ExecResult> {
  const result = await host.exec(argv, opts);
  if (result.code !== 0) throw new CommandFailedError(host.label, argv, result);
  return result;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Rejects values no command line can carry safely: NUL bytes, and environment names that are not identifiers. */
export function assertSafeArgv(argv: string[], env?: Record<string, string>): void {
  if (argv.length === 0) throw new Error("empty command");
  for (const a of argv) {
    if (typeof a !== "string") throw new TypeError(`command arguments must be strings, got ${typeof a}`);
    if (a.includes("\0")) throw new Error("a command argument contains a NUL byte");
  }
  // env(1) would read a command name containing "=" as one more variable.
  if (env && Object.keys(env).length > 0 && argv[0]!.includes("=")) throw new Error(`a command name cannot contain "=" when env is set: ${argv[0]}`);
  for (const [k, v] of Object.entries(env ?? {})) {
    if (!ENV_NAME.test(k)) throw new Error(`invalid environment variable name: ${JSON.stringify(k)}`);
    if (v.includes("\0")) throw new Error(`environment variable ${k} contains a NUL byte`);
  }
}

/** How a machine's identity is checked: its pinned public key (OpenSSH line or base64 blob), or pin-on-first-use. */
export type HostKeyPolicy = string | { pinOnFirstUse: (key: PublicKeyInfo) => void };

/** Why a machine could not be reached, in words a person can act on. */
export type HostConnectProblem = "host-key-changed" | "not-authorised" | "unreachable" | "timeout" | "protocol";

/** A connection refused or failed; `kind` says which, the message says what to do. The SSH adapter throws it. */
export class HostConnectError extends Error {
  constructor(
    readonly kind: HostConnectProblem,
    message: string,
  ) {
    super(message);
    this.name = "HostConnectError";
  }
}

/** Where and how to connect to a registered machine. */
export interface HostTarget {
  address: string;
  port: number;
  username: string;
  hostKey: HostKeyPolicy;
}

/** Opens a Host on a machine with the bot's key (the SSH adapter, wired by the composition root). */
export type ConnectHost = (target: HostTarget) => Promise<Host>;

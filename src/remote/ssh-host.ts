// A Host over SSH (ssh2): quoted exec, SFTP files, port forwarding; reconnects with the same pinned key when dropped.
import type http from "node:http";
import pRetry from "p-retry";
import type { Duplex } from "node:stream";
import { quote } from "shell-quote";
import type ssh2 from "ssh2";
import { assertSafeArgv, type ConnectHost, type ExecOptions, type ExecResult, type Host } from "../hosts/host.js";
import { abortError } from "./local-host.js";
import { OutputCollector } from "./output-collector.js";
import { openSshConnection, type SshConnectOptions } from "./ssh-connect.js";
import type { PublicKeyInfo } from "../shared/ssh-keys.js";
import { streamAgent } from "../shared/stream-agent.js";
import { SftpSessionPool } from "./sftp-session-pool.js";
import { downloadOverSftp, listRemoteFiles, type DownloadOptions, type DownloadResult, type RemoteFile } from "./sftp-transfer.js";

export { SshConnectError, type SshConnectOptions, type HostKeyPolicy } from "./ssh-connect.js";

/** How long a cut-off command gets between the TERM and KILL signals (and then the channel is closed). */
const KILL_GRACE_MS = 1500;

/**
 * Builds the one string the remote shell sees; every element is quoted by shell-quote.
 * The shell first reports its PID on stderr: sshd makes it a process-group leader, and OpenSSH ignores
 * channel signals, so cutting a command off means `kill -- -PID` over a second channel.
 */
export function remoteCommand(argv: string[], opts: Pick<ExecOptions, "env" | "cwd"> = {}): string {
  assertSafeArgv(argv, opts.env);
  const env = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
  const cmd = quote(env.length > 0 ? ["env", "--", ...env, ...argv] : argv);
  const cd = opts.cwd === undefined ? "" : `cd ${quote([opts.cwd])} && `;
  return `echo "${PID_TAG}$$" >&2; ${cd}exec ${cmd}`;
}

const PID_TAG = "dropship-pid:";

export class SshHost implements Host {
  readonly label: string;
  private conn: Promise<ssh2.Client> | null = null;
  private sftpP: Promise<ssh2.SFTPWrapper> | null = null;
  private pullSessions: SftpSessionPool | null = null;
  private closed = false;
  private pinnedKey: string | null;
  /** Why the last connection ended, if it ended with an error (e.g. "Keepalive timeout"). */
  private lastDrop: string | null = null;
  /** Connections that ended without close() asking: a reset, a killed sshd, a keepalive timeout. */
  private drops = 0;

  constructor(private readonly opts: SshConnectOptions) {
    this.label = opts.label ?? `${opts.username}@${opts.host}${(opts.port ?? 22) === 22 ? "" : `:${opts.port}`}`;
    this.pinnedKey = typeof opts.hostKey === "string" ? opts.hostKey : null;
  }

  /** How many connections dropped under us so far (the next call reconnects with the pinned key). */
  get droppedConnections(): number {
    return this.drops;
  }

  /** The host key in force: the configured one, or the one pinned on first use. */
  get hostKey(): string | null {
    return this.pinnedKey;
  }

  /** The live connection, reconnecting (with the pinned key) if the last one dropped. */
  connection(): Promise<ssh2.Client> {
    if (this.closed) return Promise.reject(new Error(`the SSH connection to ${this.label} was closed`));
    if (this.conn) return this.conn;
    const hostKey = this.pinnedKey ?? this.opts.hostKey;
    const attempt = openSshConnection({ ...this.opts, hostKey }, (key: PublicKeyInfo) => {
      this.pinnedKey = key.blob;
    });
    this.conn = attempt;
    attempt.then(
      (client) => {
        // After ready, errors surface as 'close' and failed calls; the reason is kept for the message.
        client.on("error", (e: Error) => (this.lastDrop = e.message));
        client.once("close", () => {
          if (!this.closed) this.drops++;
          if (this.conn === attempt) {
            this.conn = null;
            this.sftpP = null;
            this.pullSessions = null;
          }
        });
      },
      () => {
        if (this.conn === attempt) this.conn = null;
      },
    );
    return attempt;
  }

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const command = remoteCommand(argv, opts);
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const client = await this.connection();
    // Listeners must be attached inside the callback, synchronously: a fast command's output, exit status and
    // close can arrive in the same read as the channel's confirmation, before any awaiting code would run.
    return new Promise<ExecResult>((resolve, reject) =>
      client.exec(command, (err, ch) => {
        if (err) return reject(new Error(`cannot run ${argv[0]} on ${this.label}: ${err.message}`));
        this.collect(ch, argv, opts).then(resolve, reject);
      }),
    );
  }

  private collect(channel: ssh2.ClientChannel, argv: string[], opts: ExecOptions): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      const out = new OutputCollector(opts.onStdout);
      const err = new OutputCollector(opts.onStderr);
      let exit: { code: number | null; signal: string | null } | null = null;
      let cut: string | null = null;
      let pid: number | null = null;
      let head: Buffer | null = Buffer.alloc(0); // stderr until the PID line has been read
      channel.on("data", (d: Buffer) => out.push(d));
      channel.stderr.on("data", (d: Buffer) => {
        if (head === null) return err.push(d);
        head = Buffer.concat([head, d]);
        const nl = head.indexOf(10);
        if (nl < 0) return;
        const m = new RegExp(`^${PID_TAG}(\\d+)$`).exec(head.subarray(0, nl).toString());
        pid = m ? Number(m[1]) : null;
        const rest = m ? head.subarray(nl + 1) : head;
        head = null;
        if (rest.length > 0) err.push(rest);
      });
      channel.on("exit", (code: number | null, signal?: string) => {
        exit = { code: typeof code === "number" ? code : null, signal: signal ? `SIG${signal.replace(/^SIG/, "")}` : null };
      });
      const timers: NodeJS.Timeout[] = [];
      const cutOff = (why: string) => {
        if (cut) return;
        cut = why;
        void this.killGroup(pid, "TERM");
        timers.push(
          setTimeout(() => {
            void this.killGroup(pid, "KILL").finally(() => channel.close());
          }, KILL_GRACE_MS),
        );
      };
      if (opts.timeoutMs) timers.push(setTimeout(() => cutOff("SIGKILL"), opts.timeoutMs));
      const onAbort = () => cutOff("aborted");
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      channel.once("close", () => {
        timers.forEach(clearTimeout);
        opts.signal?.removeEventListener("abort", onAbort);
        if (opts.signal?.aborted) return reject(abortError(opts.signal));
        if (head !== null && head.length > 0) err.push(head);
        const stdout = out.end();
        const stderr = err.end();
        if (exit && !cut) return resolve({ ...exit, stdout, stderr });
        if (cut) return resolve({ code: null, signal: exit?.signal ?? "SIGTERM", stdout, stderr });
        const why = this.lastDrop ? ` (${this.lastDrop})` : "";
        reject(new Error(`the connection to ${this.label} was lost while running ${argv[0]}${why}`));
      });
      channel.on("error", () => {}); // reported through 'close'
      channel.end(opts.stdin ?? "");
    });
  }

  /** Signals a remote process group over a second channel (best effort: the host may be gone). */
  private async killGroup(pid: number | null, signal: "TERM" | "KILL"): Promise<void> {
    if (pid === null) return;
    try {
      const client = await this.connection();
      await new Promise<void>((resolve) =>
        client.exec(`kill -${signal} -- -${pid} 2>/dev/null`, (err, ch) => {
          if (err) return resolve();
          ch.on("close", () => resolve()).resume();
          ch.stderr.resume();
        }),
      );
    } catch {
      /* the connection is gone, and with it the command */
    }
  }

  /** The SFTP session of the live connection, shared. */
  sftp(): Promise<ssh2.SFTPWrapper> {
    if (this.sftpP) return this.sftpP;
    const p = this.openSftp();
    this.sftpP = p;
    p.catch(() => {
      if (this.sftpP === p) this.sftpP = null;
    });
    return p;
  }

  /** Up to `count` SFTP sessions kept open for pulls on the live connection (fewer if the server refuses more). */
  sftpSessions(count: number): Promise<ssh2.SFTPWrapper[]> {
    this.pullSessions ??= new SftpSessionPool(() => this.openSftp());
    return this.pullSessions.get(count);
  }

  /** A new SFTP session on the live connection, the caller's to end: one more channel, with its own window. */
  private async openSftp(): Promise<ssh2.SFTPWrapper> {
    const client = await this.connection();
    return new Promise<ssh2.SFTPWrapper>((resolve, reject) =>
      client.sftp((err, sftp) => (err ? reject(new Error(`SFTP is not available on ${this.label}: ${err.message}`)) : resolve(sftp))),
    );
  }

  async writeFile(path: string, data: string | Buffer, mode = 0o644): Promise<void> {
    const sftp = await this.sftp();
    await new Promise<void>((resolve, reject) =>
      sftp.writeFile(path, data, { mode }, (err) => (err ? reject(sftpError(err, "write", path, this.label)) : resolve())),
    );
    await new Promise<void>((resolve, reject) =>
      sftp.chmod(path, mode, (err) => (err ? reject(sftpError(err, "chmod", path, this.label)) : resolve())),
    );
  }

  async readFile(path: string): Promise<Buffer> {
    const sftp = await this.sftp();
    return new Promise((resolve, reject) =>
      sftp.readFile(path, (err: Error | null | undefined, data: Buffer) => (err ? reject(sftpError(err, "read", path, this.label)) : resolve(data))),
    );
  }

  /** A TCP stream to remoteHost:remotePort as seen from the host (e.g. 127.0.0.1:6800 for aria2's RPC). */
  async forwardOut(remoteHost: string, remotePort: number): Promise<Duplex> {
    // A connection that dropped under us answers "No response from server"; the next attempt reconnects. Opening a
    // channel sends nothing through it yet, so trying again cannot repeat a request.
    return pRetry(
      async () => {
        const client = await this.connection();
        return new Promise<Duplex>((resolve, reject) =>
          client.forwardOut("127.0.0.1", 0, remoteHost, remotePort, (err, stream) =>
            err ? reject(new Error(`cannot open a tunnel through ${this.label} to ${remoteHost}:${remotePort}: ${err.message}`)) : resolve(stream),
          ),
        );
      },
      { retries: 2, minTimeout: 200, shouldRetry: () => !this.closed },
    );
  }

  /** An http.Agent whose every connection is a forwardOut tunnel; pass it as `agent` to http.request. */
  httpAgentFor(remoteHost: string, remotePort: number): http.Agent {
    return streamAgent(() => this.forwardOut(remoteHost, remotePort));
  }

  /** Downloads a remote file, resuming after dropped connections, then verifies size and sha256 against the host. */
  download(remotePath: string, localPath: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
    return downloadOverSftp(this, remotePath, localPath, opts);
  }

  /** Every regular file under remoteDir, recursively, with paths relative to it. */
  listFiles(remoteDir: string): Promise<RemoteFile[]> {
    return listRemoteFiles(this, remoteDir);
  }

  async close(): Promise<void> {
    this.closed = true;
    const conn = this.conn;
    this.conn = null;
    this.sftpP = null;
    this.pullSessions = null;
    if (!conn) return;
    const client = await conn.catch(() => null);
    if (!client) return;
    await new Promise<void>((resolve) => {
      client.once("close", () => resolve());
      client.end();
      setTimeout(resolve, 2000).unref();
    });
  }
}

function sftpError(err: Error & { code?: number }, what: string, path: string, label: string): Error {
  const reason = err.code === 2 ? "no such file" : err.code === 3 ? "permission denied" : err.message;
  return new Error(`cannot ${what} ${path} on ${label}: ${reason}`);
}

/** Connects (proving the key and the host key) and returns the host. */
export async function connectSsh(opts: SshConnectOptions): Promise<SshHost> {
  const host = new SshHost(opts);
  await host.connection();
  return host;
}

/** The domain's ConnectHost port over SSH: every connection uses the bot's key. */
export function sshHostConnector(privateKey: string, readyTimeoutMs = 20_000): ConnectHost {
  return (t) => connectSsh({ host: t.address, port: t.port, username: t.username, privateKey, hostKey: t.hostKey, readyTimeoutMs });
}

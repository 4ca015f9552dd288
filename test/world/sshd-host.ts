// A real SSH host: one sshd in its own PID and mount namespace, with its own /root, /tmp and /run, listening on a
// loopback address or, given a network namespace, inside that namespace (a fake droplet: see world-net.ts).
// Stopping it kills the PID namespace, so every process started over SSH on it dies too.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

const INNER = "/run/dropship-host";

export interface SshHostOptions {
  /** Loopback address to listen on, e.g. 127.0.0.7. */
  address: string;
  port?: number;
  /** The host's own directory; its root/ and tmp/ become /root and /tmp inside. */
  dir: string;
  /** OpenSSH-format private host key (PEM text). */
  hostPrivateKey: string;
  /** authorized_keys lines for root. */
  authorizedKeys: string[];
  /** Run sshd inside this network namespace (path, e.g. /run/netns/NAME); `address` is then one of its own. */
  netnsPath?: string;
  /** Shell run inside the host's mount namespace before sshd starts (the host's dir is at $HOST_DIR). */
  prepare?: string;
}

export interface SshHost {
  readonly address: string;
  readonly port: number;
  readonly dir: string;
  /** Where the host's /root lives, seen from outside. */
  readonly home: string;
  readonly tmp: string;
  /** Kills the SSH sessions (and what they run) but keeps the listening sshd: a dropped connection. */
  killSessions(): void;
  /**
   * The host's own view of the filesystem, from outside (`/proc/<its sshd>/root`): what it mounted privately (a
   * droplet's disk, an attached volume) shows there and nowhere else. Null once it is not running.
   */
  rootfs(): string | null;
  /** Starts `sh -c script` inside the host (its mount, network and PID namespaces), as its console would. */
  spawnInside(script: string, logFile: string): ChildProcess;
  stop(): Promise<void>;
  readonly stopped: boolean;
}

export async function startSshHost(opts: SshHostOptions): Promise<SshHost> {
  const port = opts.port ?? 22;
  const dir = path.resolve(opts.dir);
  const home = path.join(dir, "root");
  const tmp = path.join(dir, "tmp");
  fs.mkdirSync(path.join(home, ".ssh"), { recursive: true, mode: 0o700 });
  fs.mkdirSync(tmp, { recursive: true, mode: 0o1777 });
  fs.chmodSync(tmp, 0o1777);
  // Inside the namespace the host's directory is seen at INNER, so that hiding /tmp cannot hide the config.
  const hostKey = path.join(dir, "ssh_host_key");
  fs.writeFileSync(hostKey, opts.hostPrivateKey.endsWith("\n") ? opts.hostPrivateKey : opts.hostPrivateKey + "\n", {
    mode: 0o600,
  });
  const authorized = path.join(dir, "authorized_keys");
  fs.writeFileSync(authorized, opts.authorizedKeys.join("\n") + "\n", { mode: 0o600 });
  const cfg = path.join(dir, "sshd_config");
  fs.writeFileSync(
    cfg,
    [
      `ListenAddress ${opts.address}:${port}`,
      `HostKey ${INNER}/ssh_host_key`,
      "PidFile none",
      `AuthorizedKeysFile ${INNER}/authorized_keys`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "AllowTcpForwarding yes",
      "MaxSessions 64",
      "MaxStartups 64:30:128",
      "Subsystem sftp internal-sftp",
      "LogLevel INFO",
      "",
    ].join("\n"),
  );
  await assertPortFree(opts.address, port);
  // A private /run (the host's own; sshd wants /run/sshd), then the host's dir, /root and /tmp.
  const script =
    `mount -t tmpfs -o mode=755 run /run && mkdir -p ${INNER} /run/sshd && ` +
    `mount --bind ${sq(dir)} ${INNER} && mount --bind ${INNER}/root /root && mount --bind ${INNER}/tmp /tmp && ` +
    (opts.prepare ? `HOST_DIR=${INNER} && { ${opts.prepare}\n} && ` : "") +
    `exec /usr/sbin/sshd -D -e -f ${INNER}/sshd_config`;
  const log = fs.openSync(path.join(dir, "sshd.log"), "a");
  const unshare = ["unshare", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc", "--propagation", "private", "sh", "-c", script];
  // nsenter execs unshare (no fork without --pid), so the child is still the unshare process.
  const argv = opts.netnsPath ? ["nsenter", `--net=${opts.netnsPath}`, ...unshare] : unshare;
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", log, log] });
  fs.closeSync(log);
  let exited = false;
  const exitedP = new Promise<void>((resolve) => child.once("exit", () => ((exited = true), resolve())));
  try {
    // Generous: on a loaded machine (the suite, benches and other tenants on two cores) a fresh namespace, the image's
    // prepare step and sshd's start took over 5 s, and a fake droplet that "never answers SSH" fails jobs for nothing
    // a real droplet would do. An sshd that exits (a real failure) is reported at once.
    await waitForPort(opts.address, port, 30_000, () => exited);
  } catch (err) {
    child.kill("SIGKILL");
    await exitedP;
    const tail = fs.readFileSync(path.join(dir, "sshd.log"), "utf8").slice(-2000);
    throw new Error(`sshd on ${opts.address}:${port} did not start: ${(err as Error).message}\n${tail}`);
  }
  let stopped = false;
  return {
    address: opts.address,
    port,
    dir,
    home,
    tmp,
    get stopped() {
      return stopped;
    },
    rootfs() {
      const sshd = exited ? null : nsInitPid(child.pid!);
      return sshd === null ? null : `/proc/${sshd}/root`;
    },
    spawnInside(script, logFile) {
      const sshd = nsInitPid(child.pid!);
      if (sshd === null || exited) throw new Error(`the host at ${opts.address} is not running`);
      const out = fs.openSync(logFile, "a");
      const p = spawn("nsenter", ["-t", String(sshd), "-m", "-n", "-p", "--", "sh", "-c", `cd /root && ${script}`], {
        stdio: ["ignore", out, out],
      });
      fs.closeSync(out);
      p.once("error", () => undefined);
      return p;
    },
    killSessions() {
      const sshd = nsInitPid(child.pid!);
      if (sshd === null) return;
      // Session processes are the sshd children of the listening sshd (PID 1 in the namespace); orphans
      // re-parented to it (a daemon started over SSH) are not sessions.
      for (const pid of childrenOf(sshd).filter((p) => commOf(p) === "sshd")) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* already gone */
        }
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (!exited) child.kill("SIGKILL");
      await exitedP;
      await waitForPortClosed(opts.address, port, 5000);
    },
  };
}

function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The host PID of the namespace's PID 1 (the sshd), i.e. the unshare process's only child. */
function nsInitPid(unsharePid: number): number | null {
  return childrenOf(unsharePid)[0] ?? null;
}

function commOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

function childrenOf(pid: number): number[] {
  try {
    const out = execFileSync("pgrep", ["-P", String(pid)], { encoding: "utf8" });
    return out.split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
    s.setTimeout(1000, () => (s.destroy(), resolve(false)));
  });
}

async function assertPortFree(host: string, port: number): Promise<void> {
  if (await portOpen(host, port)) throw new Error(`${host}:${port} is already in use`);
}

async function waitForPort(host: string, port: number, timeoutMs: number, gaveUp: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gaveUp()) throw new Error("sshd exited");
    if (await portOpen(host, port)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`port not open after ${timeoutMs} ms`);
}

export async function waitForPortClosed(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await portOpen(host, port))) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${host}:${port} still open after ${timeoutMs} ms`);
}

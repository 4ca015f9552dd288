// The remote half of a playbook run: ship the project to a fresh private directory on the host, write the answers
// to a 0600 file, run ansible-playbook from the venv with the JSON-lines callback, and remove the directory.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { run, type ExecResult, type Host } from "../../hosts/host.js";
import { LineSplitter, parseEventLine, type PlaybookEvent } from "../../shared/ansible-events.js";

/** Inventory files looked for at the project root, in this order, when ansible.cfg names none. */
const INVENTORY_CANDIDATES = ["inventory", "inventory.ini", "inventory.yml", "inventory.yaml", "hosts", "hosts.ini", "hosts.yml", "hosts.yaml"];

/**
 * Ansible's implicit localhost made explicit, so `hosts: all` works too: local connection, the venv's Python.
 * Used when the project brings no inventory.
 */
const LOCALHOST_INVENTORY = 'localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}"\n';

/** The project's own inventory: "cfg" when its ansible.cfg names one, a root-relative path, or null for none. */
export function findInventory(projectRoot: string): string | null {
  const cfg = path.join(projectRoot, "ansible.cfg");
  if (fs.existsSync(cfg) && /^\s*inventory\s*[=:]/m.test(fs.readFileSync(cfg, "utf8"))) return "cfg";
  return INVENTORY_CANDIDATES.find((c) => fs.existsSync(path.join(projectRoot, c))) ?? null;
}

/** The project directory as a gzip'd tar, made by the system tar (no links: unpackProject refused them). */
export function packProject(root: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn("tar", ["-czf", "-", "-C", root, "."], { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`tar could not pack the project: ${err.trim()}`))));
  });
}

export interface RemoteWorkDir {
  dir: string;
  projectDir: string;
  callbackDir: string;
  varsFile: string;
}

/** A fresh 0700 directory on the host (mktemp), holding the unpacked project, the callback plugin and the answers. */
export async function prepareWorkDir(
  host: Host,
  opts: { jobId: number; tarball: Buffer; callbackPlugin: Buffer; vars: Record<string, string> },
): Promise<RemoteWorkDir> {
  const made = await run(host, ["mktemp", "-d", "-p", "/tmp", `dropship-run-${opts.jobId}-XXXXXXXX`]);
  const dir = made.stdout.trim();
  if (!/^\/tmp\/dropship-run-\d+-[A-Za-z0-9]+$/.test(dir)) throw new Error(`mktemp on ${host.label} gave an unexpected path: ${JSON.stringify(dir)}`);
  const w: RemoteWorkDir = { dir, projectDir: `${dir}/project`, callbackDir: `${dir}/callback_plugins`, varsFile: `${dir}/vars.json` };
  await run(host, ["mkdir", "-m", "0700", "--", w.projectDir, w.callbackDir]);
  await host.writeFile(`${dir}/project.tar.gz`, opts.tarball, 0o600);
  await run(host, ["tar", "-xzf", `${dir}/project.tar.gz`, "-C", w.projectDir, "--no-same-owner"]);
  await host.writeFile(`${w.callbackDir}/dropship_events.py`, opts.callbackPlugin, 0o600);
  // The answers travel as a file (never on a command line, where ps would show them), readable only by the user.
  await host.writeFile(w.varsFile, JSON.stringify(opts.vars), 0o600);
  return w;
}

export interface AnsibleRunOptions {
  work: RemoteWorkDir;
  /** The entry playbook, relative to the project root. */
  entry: string;
  /** From findInventory: "cfg", a root-relative path, or null (the localhost inventory is written). */
  inventory: string | null;
  venvEnv: Record<string, string>;
  /** The project's ansible.cfg roles_path / collections_path entries (root-relative), searched before the venv's. */
  searchPaths?: { rolesPath: string[]; collectionsPaths: string[] };
  signal?: AbortSignal;
  timeoutMs?: number;
  onEvent(e: PlaybookEvent): void;
  /** ansible's human-readable output, stdout and stderr interleaved as they come. */
  onLog(text: string): void;
}

/**
 * Runs ansible-playbook in the project directory. Events come on stderr (DROPSHIP_EVENTS_FILE=/dev/stderr): a
 * line that parses as one of the plugin's events is an event, any other stderr line is ansible's own and is logged.
 */
export async function runAnsible(host: Host, o: AnsibleRunOptions): Promise<ExecResult> {
  const args = ["ansible-playbook"];
  if (o.inventory === null) {
    await host.writeFile(`${o.work.dir}/inventory.ini`, LOCALHOST_INVENTORY, 0o600);
    args.push("-i", `${o.work.dir}/inventory.ini`);
  } else if (o.inventory !== "cfg") {
    args.push("-i", o.inventory);
  }
  args.push("--extra-vars", `@${o.work.varsFile}`, "--", o.entry);
  const stderr = new LineSplitter((line) => {
    const e = parseEventLine(line);
    if (e) o.onEvent(e);
    else o.onLog(`${line}\n`);
  });
  // The venv's ANSIBLE_ROLES_PATH / ANSIBLE_COLLECTIONS_PATH override ansible.cfg's: keep the project's entries first.
  const searchPath = (own: string[] | undefined, venvPath: string | undefined) =>
    [...(own ?? []).map((p) => `${o.work.projectDir}/${p}`), ...(venvPath ? [venvPath] : [])].join(":");
  const env = {
    ...o.venvEnv,
    ANSIBLE_ROLES_PATH: searchPath(o.searchPaths?.rolesPath, o.venvEnv.ANSIBLE_ROLES_PATH),
    ANSIBLE_COLLECTIONS_PATH: searchPath(o.searchPaths?.collectionsPaths, o.venvEnv.ANSIBLE_COLLECTIONS_PATH),
    ANSIBLE_CALLBACK_PLUGINS: o.work.callbackDir,
    ANSIBLE_CALLBACKS_ENABLED: "dropship_events",
    DROPSHIP_EVENTS_FILE: "/dev/stderr",
    // The callback plugin deletes the answers file once ansible-playbook has read it, before the first play.
    DROPSHIP_VARS_FILE: o.work.varsFile,
    ANSIBLE_NOCOLOR: "1",
    ANSIBLE_FORCE_COLOR: "0",
    ANSIBLE_RETRY_FILES_ENABLED: "False",
    PYTHONUNBUFFERED: "1",
    LANG: "C.UTF-8",
  };
  const result = await host.exec(args, {
    cwd: o.work.projectDir,
    env,
    signal: o.signal,
    timeoutMs: o.timeoutMs,
    stdin: "",
    onStdout: (chunk) => o.onLog(chunk),
    onStderr: (chunk) => stderr.push(chunk),
  });
  stderr.end();
  return result;
}

/** Removes the work directory (best effort: the host may be gone; a later run uses a fresh one). */
export async function removeWorkDir(host: Host, work: RemoteWorkDir | null): Promise<void> {
  if (!work) return;
  await host.exec(["rm", "-rf", "--", work.dir], { timeoutMs: 60_000 }).catch(() => undefined);
}

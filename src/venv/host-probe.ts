// Looks at a host: python3 and its version, free disk and the venvs there (every ensure), and the venv module
// (only before a build); and words what is missing so a person can fix it.
import type { Host } from "../hosts/host.js";

export interface HostProbe {
  pythonVersion: string;
  pythonExecutable: string;
  /** The venv root with ~ expanded, absolute. */
  root: string;
  freeBytes: number;
  /** The venv names (dropship-*) under root when probed: a name not among them needs no closer look yet. */
  venvs: string[];
}

export type VenvErrorCode =
  | "no-python"
  | "no-venv-module"
  | "low-disk"
  | "unsupported-python"
  | "index-unreachable"
  | "pip-failed"
  | "collections-failed"
  | "roles-failed"
  | "verify-failed"
  | "lock-timeout"
  | "build-failed"
  | "not-found"
  | "kept";

/** A failure worded for the chat; `code` lets callers react to the kind. */
export class VenvError extends Error {
  /** True when no source has what was asked for (no such release or version range): asking again will not help. */
  readonly unsatisfiable: boolean;

  constructor(
    readonly code: VenvErrorCode,
    message: string,
    opts: { unsatisfiable?: boolean } = {},
  ) {
    super(message);
    this.name = "VenvError";
    this.unsatisfiable = opts.unsatisfiable ?? false;
  }
}

// argv[1] = venv root. Prints one JSON line. Cheap on purpose: it runs before every reuse.
const PROBE_PY = `
import json, os, shutil, sys
root = os.path.abspath(os.path.expanduser(sys.argv[1]))
probe = root
while not os.path.exists(probe):
    probe = os.path.dirname(probe)
print(json.dumps({
    "pythonVersion": "%d.%d.%d" % sys.version_info[:3],
    "pythonExecutable": sys.executable,
    "root": root,
    "freeBytes": shutil.disk_usage(probe).free,
    "venvs": sorted(n for n in os.listdir(root) if n.startswith("dropship-")) if os.path.isdir(root) else [],
}))
`;

// Prints whether python has the venv module and ensurepip (Debian splits them off into python3-venv).
const VENV_MODULE_PY = `
import json
def can(f):
    try:
        f()
        return True
    except Exception:
        return False
def ensurepip_ok():
    from ensurepip import version
    version()
print(json.dumps({"hasVenv": can(lambda: __import__("venv")), "hasEnsurepip": can(ensurepip_ok)}))
`;

export async function probeHost(host: Host, venvRoot: string, python = "python3"): Promise<HostProbe> {
  // A missing interpreter: a shell says "not found" (127) over SSH; spawn fails with ENOENT locally.
  const r = await host.exec([python, "-c", PROBE_PY, venvRoot], { timeoutMs: 30_000 }).catch((err: Error) => {
    if (/ENOENT/.test(err.message)) return { code: 127, signal: null, stdout: "", stderr: "not found" };
    throw err;
  });
  if (r.code === 127 || (/not found|No such file/i.test(r.stderr) && r.code !== 0)) {
    throw new VenvError("no-python", `python3 is not installed on ${host.label}: run apt-get install python3 python3-venv (or dnf install python3)`);
  }
  if (r.code !== 0) throw new VenvError("no-python", `${python} on ${host.label} did not run: ${lastLine(r.stderr || r.stdout)}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as HostProbe;
}

/** Throws a VenvError naming the fix when the host has too little disk for a build. */
export function assertCanBuild(probe: HostProbe, hostLabel: string, minFreeMb: number): void {
  const freeMb = Math.floor(probe.freeBytes / 1024 / 1024);
  if (freeMb < minFreeMb) {
    throw new VenvError(
      "low-disk",
      `${hostLabel} has only ${freeMb} MB free under ${probe.root}; building a virtualenv needs at least ${minFreeMb} MB (VENV_MIN_FREE_MB): ` +
        `free some space or remove unused venvs with /venvs`,
    );
  }
}

/** Throws a VenvError naming the package to install when the host's python cannot make a venv (checked before a build only). */
export async function assertVenvModule(host: Host, probe: HostProbe, python: string): Promise<void> {
  const r = await host.exec([python, "-c", VENV_MODULE_PY], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new VenvError("no-python", `${python} on ${host.label} did not run: ${lastLine(r.stderr || r.stdout)}`);
  const { hasVenv, hasEnsurepip } = JSON.parse(r.stdout.trim().split("\n").pop()!) as { hasVenv: boolean; hasEnsurepip: boolean };
  if (hasVenv && hasEnsurepip) return;
  const minor = probe.pythonVersion.split(".").slice(0, 2).join(".");
  throw new VenvError(
    "no-venv-module",
    `python3-venv is not installed on ${host.label}: run apt-get install python3-venv (or python${minor}-venv); ` +
      `${probe.pythonExecutable} has no ${hasVenv ? "ensurepip" : "venv"} module`,
  );
}

/** Checks from the host itself that the pip index answers, before anything is created. */
export async function assertIndexReachable(host: Host, python: string, indexUrl: string): Promise<void> {
  // urllib does not take user:password from the URL itself (pip does), so it goes into a header.
  const script = [
    "import base64, sys, urllib.parse, urllib.request",
    "u = urllib.parse.urlsplit(sys.argv[1])",
    "req = urllib.request.Request(urllib.parse.urlunsplit(u._replace(netloc=u.hostname + (':%d' % u.port if u.port else ''))))",
    "if u.username is not None:",
    "    cred = '%s:%s' % (urllib.parse.unquote(u.username), urllib.parse.unquote(u.password or ''))",
    "    req.add_header('Authorization', 'Basic ' + base64.b64encode(cred.encode()).decode())",
    "urllib.request.urlopen(req, timeout=15).read(1)",
  ].join("\n");
  const r = await host.exec([python, "-c", script, indexUrl], { timeoutMs: 30_000 });
  if (r.code !== 0) {
    throw new VenvError(
      "index-unreachable",
      `the pip index ${redactUrl(indexUrl)} is unreachable from ${host.label} (${lastLine(r.stderr)}): check PIP_INDEX_URL and the host's network`,
    );
  }
}

export function lastLine(text: string): string {
  return text.trim().split("\n").filter(Boolean).pop()?.slice(0, 300) ?? "no output";
}

/** A URL with any user:password removed, for messages (private indexes often carry a token). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = "***";
      u.password = "";
    }
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, "//***@");
  }
}

// The project on disk: its root, the entry playbook, paths kept inside the root, and project-local plugins.
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { LocalPlugins } from "./name-resolver.js";
import { AnalysisInputError, type PluginKind } from "./types.js";

const ENTRY_CANDIDATES = ["site.yml", "site.yaml", "main.yml", "main.yaml", "playbook.yml", "playbook.yaml"];
const NOT_PLAYBOOKS = new Set(["requirements.yml", "requirements.yaml", "galaxy.yml", "galaxy.yaml", ".ansible-lint", "molecule.yml"]);

/** Paths of one project: everything read must stay inside `root` (symlinks included). */
export class ProjectPaths {
  readonly root: string;

  constructor(root: string) {
    this.root = realpathSync(root);
  }

  rel(abs: string): string {
    return relative(this.root, abs).split(sep).join("/") || ".";
  }

  /** The real path of `abs`, or an error when it (or a symlink in it) leads outside the project. */
  inside(abs: string, from?: string): string {
    const real = realpathSync(abs);
    if (real !== this.root && !real.startsWith(this.root + sep)) {
      const where = from ? ` (referenced from ${from})` : "";
      throw new AnalysisInputError(`${this.rel(abs)}${where}: path leads outside the project to ${real}; refusing to read it`);
    }
    return real;
  }

  /** The first candidate that exists as a file, checked to stay inside the project. */
  firstFile(candidates: string[], from?: string): string | null {
    for (const c of candidates) {
      const abs = isAbsolute(c) ? c : resolve(this.root, c);
      if (isFile(abs)) return this.inside(abs, from);
    }
    return null;
  }
}

export function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

export function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function listDir(p: string): string[] {
  try {
    return readdirSync(p).sort();
  } catch {
    return [];
  }
}

/** Project root and entry playbook for a path that is a playbook file or a project directory. */
export function chooseEntry(inputPath: string, entry?: string): { paths: ProjectPaths; entry: string } {
  if (!existsSync(inputPath)) throw new AnalysisInputError(`${inputPath}: no such file or directory`);
  if (isFile(inputPath)) {
    if (entry) throw new AnalysisInputError(`--entry applies to a project directory, but ${inputPath} is a file`);
    const paths = new ProjectPaths(dirname(resolve(inputPath)));
    return { paths, entry: paths.inside(resolve(inputPath)) };
  }
  const paths = new ProjectPaths(inputPath);
  if (entry) {
    const abs = resolve(paths.root, entry);
    if (!isFile(abs)) throw new AnalysisInputError(`entry playbook ${entry} not found in ${inputPath}`);
    return { paths, entry: paths.inside(abs) };
  }
  const named = paths.firstFile(ENTRY_CANDIDATES);
  if (named) return { paths, entry: named };
  const playbooks = listDir(paths.root).filter(
    (f) => /\.ya?ml$/.test(f) && !NOT_PLAYBOOKS.has(f) && isFile(join(paths.root, f)) && looksLikePlaybook(join(paths.root, f)),
  );
  if (playbooks.length === 1 && playbooks[0]) return { paths, entry: paths.inside(join(paths.root, playbooks[0])) };
  if (playbooks.length === 0) {
    throw new AnalysisInputError(`no playbook found in ${inputPath} (looked for ${ENTRY_CANDIDATES.join(", ")} and top-level *.yml plays); name one with --entry`);
  }
  throw new AnalysisInputError(`several playbooks in ${inputPath}: ${playbooks.join(", ")}; choose one with --entry`);
}

/** Cheap check without a full parse: a top-level list whose first item has hosts: or import_playbook:. */
function looksLikePlaybook(file: string): boolean {
  if (statSync(file).size > 1024 * 1024) return false;
  const text = readFileSync(file, "utf8");
  return /^- /m.test(text) && /^\s*-?\s*(?:hosts|(?:ansible\.builtin\.)?import_playbook)\s*:/m.test(text);
}

const PLUGIN_DIRS: [string, PluginKind][] = [
  ["library", "modules"],
  ["action_plugins", "modules"],
  ["filter_plugins", "filter"],
  ["test_plugins", "test"],
  ["lookup_plugins", "lookup"],
  ["callback_plugins", "callback"],
  ["connection_plugins", "connection"],
  ["inventory_plugins", "inventory"],
  ["become_plugins", "become"],
];

/** Plugins shipped in the project: adjacent plugin dirs, roles' plugin dirs and collections/ansible_collections. */
export function findLocalPlugins(paths: ProjectPaths, extraDirs: string[]): LocalPlugins {
  const names: Partial<Record<PluginKind, Set<string>>> = {};
  const bases = [paths.root, ...extraDirs, ...listDir(join(paths.root, "roles")).map((r) => join(paths.root, "roles", r))];
  for (const base of bases) {
    for (const [dir, kind] of PLUGIN_DIRS) addPluginNames(join(base, dir), kind, (names[kind] ??= new Set()));
  }
  const collections = new Map<string, Partial<Record<PluginKind, ReadonlySet<string>>>>();
  const acRoot = join(paths.root, "collections", "ansible_collections");
  for (const ns of listDir(acRoot)) {
    for (const coll of listDir(join(acRoot, ns))) {
      const cdir = join(acRoot, ns, coll);
      if (!isDir(cdir)) continue;
      const kinds: Partial<Record<PluginKind, Set<string>>> = {};
      for (const [dir, kind] of [["modules", "modules"], ["action", "modules"], ...PLUGIN_DIRS.slice(2).map(([d, k]) => [d.replace("_plugins", ""), k])] as [string, PluginKind][]) {
        addPluginNames(join(cdir, "plugins", dir), kind, (kinds[kind] ??= new Set()));
      }
      collections.set(`${ns}.${coll}`, kinds);
    }
  }
  return { names, collections };
}

function addPluginNames(dir: string, kind: PluginKind, into: Set<string>): void {
  for (const f of listDir(dir)) {
    const ext = extname(f);
    if (![".py", ".ps1", ".sh", ""].includes(ext) || f.startsWith("_")) continue;
    into.add(basename(f, ext));
    if ((kind === "filter" || kind === "test") && ext === ".py") {
      // Jinja plugins are named by the keys of the dict filters()/tests() return, not by file.
      const text = safeRead(join(dir, f));
      for (const m of text.matchAll(/['"]([A-Za-z_]\w*)['"]\s*:/g)) into.add(m[1] ?? "");
    }
  }
}

function safeRead(file: string): string {
  try {
    return statSync(file).size < 512 * 1024 ? readFileSync(file, "utf8") : "";
  } catch {
    return "";
  }
}

export interface AnsibleCfg {
  file: string;
  callbacks: { name: string; line: number }[];
  rolesPath: string[];
  inventory: string[];
  library: string[];
}

/** The few ansible.cfg settings the analysis needs (INI: [defaults] and [inventory]). */
export function readAnsibleCfg(paths: ProjectPaths): AnsibleCfg | null {
  const file = paths.firstFile(["ansible.cfg"]);
  if (!file) return null;
  let section = "";
  const values = new Map<string, string>();
  const lines = new Map<string, number>();
  safeRead(file).split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/\s[#;].*$/, "").trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) return;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) section = (sec[1] ?? "").trim();
    const kv = /^([\w.]+)\s*[=:]\s*(.*)$/.exec(line);
    if (kv) {
      values.set(`${section}.${kv[1]}`, (kv[2] ?? "").trim());
      lines.set(`${section}.${kv[1]}`, i + 1);
    }
  });
  const list = (key: string, splitOn = /[,\s]+/): string[] =>
    (values.get(key) ?? "").split(splitOn).map((s) => s.trim()).filter(Boolean);
  const callbacks = ["defaults.callbacks_enabled", "defaults.callback_whitelist", "defaults.stdout_callback"].flatMap((key) =>
    list(key).map((name) => ({ name, line: lines.get(key) ?? 0 })),
  );
  return {
    file: paths.rel(file),
    callbacks,
    rolesPath: list("defaults.roles_path", /:/),
    inventory: list("defaults.inventory", /,/),
    library: list("defaults.library", /:/),
  };
}

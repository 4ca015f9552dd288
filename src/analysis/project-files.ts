// The project on disk: its root, the entry playbook, paths kept inside the root, and project-local plugins.
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync, type Stats } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { LocalPlugins } from "./name-resolver.js";
import { AnalysisInputError, type PluginKind } from "./types.js";

const ENTRY_CANDIDATES = ["site.yml", "site.yaml", "main.yml", "main.yaml", "playbook.yml", "playbook.yaml"];
const NOT_PLAYBOOKS = new Set(["requirements.yml", "requirements.yaml", "galaxy.yml", "galaxy.yaml", ".ansible-lint", "molecule.yml"]);

/** How files of roles installed for the project (not shipped in it) are named in findings: `installed-roles/<role>/…`. */
export const INSTALLED_ROLES_LABEL = "installed-roles";

/** The installed role a finding's file belongs to (`installed-roles/<role>/…`), or null for the project's own files. */
export function installedRoleOf(file: string): string | null {
  return file.startsWith(`${INSTALLED_ROLES_LABEL}/`) ? (file.split("/")[1] ?? null) : null;
}

const under = (p: string, dir: string): boolean => p === dir || p.startsWith(dir + sep);

const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

/** A path with no `.`/`..` segment, no empty one and no trailing slash: what path.normalize leaves as it is. */
function isNormal(p: string): boolean {
  return p !== "" && !p.endsWith("/") && !p.includes("//") && !DOT_SEGMENT.test(p);
}

/**
 * `dir/name` for an absolute, normalised `dir` and a plain relative `name`: what path.join and path.resolve give
 * then, without their normalising (an analysis builds thousands of candidate paths); null for anything else.
 */
function childPath(dir: string, name: string): string | null {
  return dir !== "/" && name.charCodeAt(0) !== 47 && isNormal(name) ? `${dir}/${name}` : null;
}

/** path.join(dir, name) for an absolute, normalised dir. */
export function joinUnder(dir: string, name: string): string {
  return childPath(dir, name) ?? join(dir, name);
}

/** path.resolve(dir, name) for an absolute, normalised dir. */
export function resolveUnder(dir: string, name: string): string {
  return childPath(dir, name) ?? resolve(dir, name);
}

/**
 * Paths of one project: everything read must stay inside `root` (symlinks included), or inside the folder of roles
 * installed for it (the closure's staging folder), which findings name `installed-roles/…`.
 */
export class ProjectPaths {
  readonly root: string;
  /** Real path of the installed roles' folder, when there is one. */
  installedRoles: string | null = null;
  private readonly realPaths = new Map<string, string>();
  private readonly kinds = new Map<string, "file" | "dir" | "other" | "none">();
  /** Paths kindOf found not to be symlinks themselves (their lstat said so). */
  private readonly notLinks = new Set<string>();

  constructor(root: string) {
    this.root = realpathSync.native(root);
  }

  /** Lets roles installed in `dir` (one folder per role, as ansible-galaxy installs them) be found and read. */
  useInstalledRoles(dir: string): void {
    this.installedRoles = realpathSync.native(dir);
  }

  rel(abs: string): string {
    if (this.installedRoles && under(abs, this.installedRoles)) {
      return [INSTALLED_ROLES_LABEL, ...relative(this.installedRoles, abs).split(sep)].filter(Boolean).join("/");
    }
    // A normalised path under the root is the rest of it: path.relative resolves both paths again on every call.
    if (abs.length > this.root.length + 1 && abs.startsWith(this.root) && abs.charCodeAt(this.root.length) === 47 && isNormal(abs)) {
      return abs.slice(this.root.length + 1);
    }
    return relative(this.root, abs).split(sep).join("/") || ".";
  }

  /** Whether `abs` (normalised, symlinks not followed) is under the root (or the installed roles); touches no file. */
  lexicallyInside(abs: string): boolean {
    const n = abs.charCodeAt(0) === 47 && isNormal(abs) ? abs : resolve(abs);
    return under(n, this.root) || (this.installedRoles !== null && under(n, this.installedRoles));
  }

  /** The real path of `abs`, or an error when it (or a symlink in it) leads outside the project. */
  inside(abs: string, from?: string): string {
    const real = this.realpath(abs);
    if (!under(real, this.root) && !(this.installedRoles !== null && under(real, this.installedRoles))) {
      const where = from ? ` (referenced from ${from})` : "";
      throw new AnalysisInputError(`${this.rel(abs)}${where}: path leads outside the project to ${real}; refusing to read it`);
    }
    return real;
  }

  /**
   * realpath, one lstat per path component, each component looked up once per analysis: the libc realpath reads
   * every component of every path again (a readlink each), and an analysis asks for hundreds of paths in the same
   * few folders. A symlink is left to the libc realpath.
   */
  private realpath(abs: string): string {
    let real = this.realPaths.get(abs);
    if (real !== undefined) return real;
    // kindOf's lstat already told whether the path itself is a symlink: no second lstat for it.
    const st = this.notLinks.has(abs) ? null : lstatSync(abs, { throwIfNoEntry: false });
    const parent = dirname(abs);
    real = st === undefined || st?.isSymbolicLink() ? realpathSync.native(abs) : parent === abs ? abs : join(this.realpath(parent), basename(abs));
    this.realPaths.set(abs, real);
    return real;
  }

  /** The first candidate that exists as a file, checked to stay inside the project. */
  firstFile(candidates: string[], from?: string): string | null {
    for (const c of candidates) {
      const abs = isAbsolute(c) ? c : resolve(this.root, c);
      if (this.isFile(abs)) return this.inside(abs, from);
    }
    return null;
  }

  /** isFile, asked of the file system once per path and analysis (roles are looked up again at every reference). */
  isFile(p: string): boolean {
    return this.kindOf(p) === "file";
  }

  /** isDir, asked of the file system once per path and analysis. */
  isDir(p: string): boolean {
    return this.kindOf(p) === "dir";
  }

  /** lstat first: for the common path that is no symlink it answers both what it is and (for realpath) that. */
  private kindOf(p: string): "file" | "dir" | "other" | "none" {
    let kind = this.kinds.get(p);
    if (kind === undefined) {
      let st: Stats | undefined;
      try {
        st = lstatSync(p, { throwIfNoEntry: false });
        if (st?.isSymbolicLink()) st = statSync(p, { throwIfNoEntry: false });
        else if (st) this.notLinks.add(p);
      } catch {
        st = undefined;
      }
      kind = !st ? "none" : st.isFile() ? "file" : st.isDirectory() ? "dir" : "other";
      this.kinds.set(p, kind);
    }
    return kind;
  }
}

// throwIfNoEntry: a missing path is the common answer here, and an exception per miss (its stack trace) costs more
// than the stat itself on a project of hundreds of files.
function statOf(p: string): Stats | undefined {
  try {
    return statSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

export const isFile = (p: string): boolean => statOf(p)?.isFile() ?? false;
export const isDir = (p: string): boolean => statOf(p)?.isDirectory() ?? false;

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
    // Before touching the file: "not found" against "outside" would tell which files exist on this machine.
    if (!paths.lexicallyInside(abs)) throw new AnalysisInputError(`entry playbook ${entry} is outside the project`);
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
export function findLocalPlugins(
  paths: ProjectPaths,
  extraDirs: string[],
  cfgPluginDirs: readonly { dir: string; kind: PluginKind }[] = [],
  collectionRoots: readonly string[] = [],
): LocalPlugins {
  const names: Partial<Record<PluginKind, Set<string>>> = {};
  const bases = [paths.root, ...extraDirs, ...listDir(join(paths.root, "roles")).map((r) => join(paths.root, "roles", r))];
  for (const base of bases) {
    // One listing per base: most roles have none of these folders, and a failed opendir each costs an exception.
    const present = new Set(listDir(base));
    for (const [dir, kind] of PLUGIN_DIRS) if (present.has(dir)) addPluginNames(join(base, dir), kind, (names[kind] ??= new Set()));
  }
  // ansible.cfg's library/filter_plugins/... name the plugin directories themselves.
  for (const { dir, kind } of cfgPluginDirs) addPluginNames(dir, kind, (names[kind] ??= new Set()));
  const collections = new Map<string, Partial<Record<PluginKind, ReadonlySet<string>>>>();
  for (const acRoot of ansibleCollectionsDirs(paths, collectionRoots)) for (const ns of listDir(acRoot)) {
    for (const coll of listDir(join(acRoot, ns))) {
      const cdir = join(acRoot, ns, coll);
      // The first path that has a collection is the one ansible-core loads.
      if (!isDir(cdir) || collections.has(`${ns}.${coll}`)) continue;
      const kinds: Partial<Record<PluginKind, Set<string>>> = {};
      for (const [dir, kind] of [["modules", "modules"], ["action", "modules"], ...PLUGIN_DIRS.slice(2).map(([d, k]) => [d.replace("_plugins", ""), k])] as [string, PluginKind][]) {
        addPluginNames(join(cdir, "plugins", dir), kind, (kinds[kind] ??= new Set()));
      }
      collections.set(`${ns}.${coll}`, kinds);
    }
  }
  return { names, collections };
}

/** The `ansible_collections` folders of the project: its own `collections/` and ansible.cfg's collections_path. */
export function ansibleCollectionsDirs(paths: ProjectPaths, collectionRoots: readonly string[]): string[] {
  // ansible-core appends ansible_collections to a path unless the path already ends with it.
  const dirs = [join(paths.root, "collections"), ...collectionRoots].map((p) => (basename(p) === "ansible_collections" ? p : join(p, "ansible_collections")));
  return [...new Set(dirs)];
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
  /** Absolute, inside the project (entries elsewhere are dropped). */
  rolesPath: string[];
  /** Roots that hold `ansible_collections/` (collections_path / collections_paths). */
  collectionsPaths: string[];
  inventory: string[];
  /** Plugin directories from library, action_plugins, filter_plugins, ... */
  pluginDirs: { dir: string; kind: PluginKind }[];
  /** Entries left out (outside the project, unknown variables), worded so they never tell what exists. */
  warnings: string[];
}

/** ansible.cfg keys that name plugin directories (pathspec: ":"-separated), with the kind they hold. */
const CFG_PLUGIN_KEYS: [string, PluginKind | null][] = [
  ...PLUGIN_DIRS,
  // Read (so their entries get the same checks) but not plugin names the analysis resolves.
  ["module_utils", null],
  ["vars_plugins", null],
  ["strategy_plugins", null],
  ["cache_plugins", null],
  ["doc_fragment_plugins", null],
];

/**
 * The ansible.cfg settings the analysis needs (INI: [defaults] and [inventory]). Paths are resolved as
 * ansible-core's config manager does (unfrackpath): `$VAR`/`${VAR}` expanded, `~` expanded, relative
 * entries joined to the cfg file's folder, normalised. Variables come only from `env` (what the run will
 * have); an entry naming another one is left out rather than guessed.
 */
export function readAnsibleCfg(paths: ProjectPaths, env: Readonly<Record<string, string>> = {}): AnsibleCfg | null {
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
  const rel = paths.rel(file);
  const warnings: string[] = [];
  const list = (key: string, splitOn = /[,\s]+/): string[] =>
    (values.get(key) ?? "").split(splitOn).map((s) => s.trim()).filter(Boolean);
  const pathList = (key: string, splitOn = /:/): string[] =>
    list(`defaults.${key}`, splitOn).flatMap((entry) => {
      const where = `${rel}:${lines.get(`defaults.${key}`) ?? 0}: ${key} entry ${entry}`;
      const r = resolveCfgPath(paths, dirname(file), entry, env);
      if (typeof r === "string") return [r];
      warnings.push(r.unknownVar ? `${where} uses ${r.unknownVar}, which is not set; left out` : `${where} is outside the project; ignored`);
      return [];
    });
  const callbacks = ["defaults.callbacks_enabled", "defaults.callback_whitelist", "defaults.stdout_callback"].flatMap((key) =>
    list(key).map((name) => ({ name, line: lines.get(key) ?? 0 })),
  );
  // collections_paths is the older spelling; ansible-core reads either (the singular wins when both are set).
  const collKey = values.has("defaults.collections_path") ? "collections_path" : "collections_paths";
  return {
    file: rel,
    callbacks,
    rolesPath: pathList("roles_path"),
    collectionsPaths: pathList(collKey),
    // inventory is a pathlist: comma-separated.
    inventory: pathList("inventory", /,/),
    pluginDirs: CFG_PLUGIN_KEYS.flatMap(([key, kind]) => pathList(key).flatMap((dir) => (kind ? [{ dir, kind }] : []))),
    warnings,
  };
}

/**
 * One cfg path entry, or why it is left out. The lexical check comes before anything touches the file
 * system, and a path inside the project that a symlink leads out of (or nowhere) gets the same answer, so
 * the result never says whether something outside the project exists.
 */
function resolveCfgPath(
  paths: ProjectPaths,
  base: string,
  entry: string,
  env: Readonly<Record<string, string>>,
): string | { unknownVar?: string } {
  let unknownVar: string | undefined;
  const expanded = entry.replace(/\$(?:\{(\w+)\}|(\w+))/g, (m, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? "";
    if (Object.hasOwn(env, name)) return env[name] ?? "";
    unknownVar ??= m;
    return m;
  });
  if (unknownVar) return { unknownVar };
  const home = /^~(?=$|\/)/.test(expanded) ? expanded.replace(/^~/, homedir()) : expanded;
  const abs = resolve(base, home);
  if (!paths.lexicallyInside(abs)) return {};
  if (!existsSync(abs)) {
    // A dangling symlink on the way says nothing we may tell: treat it as leading out.
    return hasSymlinkBetween(paths.root, abs) ? {} : abs;
  }
  const real = realpathSync.native(abs);
  return paths.lexicallyInside(real) ? real : {};
}

function hasSymlinkBetween(root: string, abs: string): boolean {
  let p = abs;
  while (p !== root && p.startsWith(root + sep)) {
    try {
      if (lstatSync(p).isSymbolicLink()) return true;
    } catch {
      // not there: look at its parent
    }
    p = dirname(p);
  }
  return false;
}

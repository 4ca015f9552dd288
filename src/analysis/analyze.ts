// analyzeProject: a playbook file or project directory in, what it needs (and what looks wrong) out.
import { dirname, join } from "node:path";
import { loadAnsibleIndex, type AnsibleIndex } from "./ansible-index.js";
import { compileResult } from "./compile-result.js";
import { NameResolver } from "./name-resolver.js";
import { walkPlaybook } from "./play-walker.js";
import {
  ansibleCollectionsDirs,
  chooseEntry,
  findLocalPlugins,
  isDir,
  isFile,
  listDir,
  readAnsibleCfg,
  ProjectPaths,
  type AnsibleCfg,
} from "./project-files.js";
import { scanProjectExtras } from "./project-scan.js";
import { readRequirements } from "./requirements-file.js";
import type { AnalysisResult, AnalyzeOptions } from "./types.js";
import { DEFAULT_WALKER_LIMITS, ProjectWalker, type WalkerLimits } from "./walker.js";
import type { YamlCache } from "./yaml-source.js";

export interface AnalyzeDeps {
  /** The routing/requirements index; the committed one (loaded once per process) by default. */
  index?: AnsibleIndex;
  limits?: Partial<WalkerLimits>;
  /** Parsed files kept across analyses of one project (analyseClosure's rounds); none by default. */
  yamlCache?: YamlCache;
}

/**
 * inventory_dir of the hosts, when the project has a single inventory folder: the folder of an inventory file,
 * or a folder that holds inventory files itself (not one that only has per-environment subfolders).
 */
function inventoryDir(paths: ProjectPaths, cfg: AnsibleCfg | null): string | null {
  const sources = cfg?.inventory.length ? cfg.inventory : ["inventory", "inventories", "hosts"].map((p) => join(paths.root, p));
  const dirs = new Set<string>();
  for (const s of sources) {
    if (isFile(s)) dirs.add(dirname(s));
    else if (isDir(s)) {
      if (listDir(s).some((f) => !f.startsWith(".") && isFile(join(s, f)))) dirs.add(s);
      else return null;
    }
  }
  return dirs.size === 1 ? ([...dirs][0] ?? null) : null;
}

/**
 * The project's own ansible.cfg `roles_path` and `collections_path` entries that stay inside it, relative to its
 * root. A run that sets ANSIBLE_ROLES_PATH / ANSIBLE_COLLECTIONS_PATH (which override ansible.cfg) puts these first.
 */
export function projectSearchPaths(root: string, env: Readonly<Record<string, string>> = {}): { rolesPath: string[]; collectionsPaths: string[] } {
  const paths = new ProjectPaths(root);
  const cfg = readAnsibleCfg(paths, env);
  return { rolesPath: (cfg?.rolesPath ?? []).map((p) => paths.rel(p)), collectionsPaths: (cfg?.collectionsPaths ?? []).map((p) => paths.rel(p)) };
}

/**
 * Analyses a playbook file or a project directory. Synchronous (pure file reads, no network).
 * Throws AnalysisInputError for bad input (invalid YAML, not a playbook, cycles, paths leaving the project...).
 */
export function analyzeProject(path: string, opts: AnalyzeOptions & AnalyzeDeps = {}): AnalysisResult {
  const { paths, entry } = chooseEntry(path, opts.entry);
  if (opts.installedRoles) paths.useInstalledRoles(opts.installedRoles);
  const index = opts.index ?? loadAnsibleIndex();
  const cfg = readAnsibleCfg(paths, opts.env);
  const collectionDirs = ansibleCollectionsDirs(paths, cfg?.collectionsPaths ?? []);
  const local = findLocalPlugins(paths, [dirname(entry)], cfg?.pluginDirs, cfg?.collectionsPaths);
  const resolver = new NameResolver(index, local);
  const limits = { ...DEFAULT_WALKER_LIMITS, ...opts.limits };
  const walker = new ProjectWalker(paths, index, { rolesPath: cfg?.rolesPath ?? [], collectionDirs }, limits, opts.yamlCache, resolver);
  for (const w of cfg?.warnings ?? []) walker.findings.warn(w);
  walker.inventoryDir = inventoryDir(paths, cfg);
  const entryDoc = walkPlaybook(walker, entry) ?? walker.load(entry);
  const base = {
    abs: entry,
    rel: paths.rel(entry),
    doc: entryDoc,
    searchList: [],
    controller: true,
    roleDir: null,
    playDir: dirname(entry),
    chain: [],
  };
  scanProjectExtras(walker, cfg, base);
  const declared = readRequirements(paths, (abs) => walker.load(abs));
  // The project's requirements files come first: where both name a role, theirs wins.
  const rd = walker.roleDeclared;
  declared.roles.push(...rd.roles);
  declared.collections.push(...rd.collections);
  declared.files.push(...rd.files.filter((f) => !declared.files.includes(f)));
  declared.warnings.push(...rd.warnings);
  return compileResult({
    root: paths.root,
    entry: paths.rel(entry),
    index,
    resolver,
    findings: walker.findings,
    declared,
    localCollections: new Set(local.collections.keys()),
  });
}

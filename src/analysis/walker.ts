// Follows a project from its entry playbook: files (parsed once), task files, roles and their dependencies.
import { basename, dirname, isAbsolute, join } from "node:path";
import type { AnsibleIndex } from "./ansible-index.js";
import { Findings } from "./findings.js";
import { scanExpression, scanTemplate, type JinjaRef } from "./jinja-scan.js";
import type { NameResolver } from "./name-resolver.js";
import { installedRoleOf, joinUnder, resolveUnder, type ProjectPaths } from "./project-files.js";
import { readRoleRequirements, roleDependencySpec, type Declared } from "./requirements-file.js";
import { isRecord, isTemplated, walkTasks } from "./task-walker.js";
import { AnalysisInputError, type PluginKind } from "./types.js";
import type { RoleOptions, WalkContext, WalkerApi } from "./walker-api.js";
import { DEFAULT_YAML_LIMITS, loadYamlFile, type LoadedYaml, type YamlCache, type YamlLimits } from "./yaml-source.js";

export interface WalkerLimits extends YamlLimits {
  /** Most files read in one analysis. */
  maxFiles: number;
}

export const DEFAULT_WALKER_LIMITS: WalkerLimits = { ...DEFAULT_YAML_LIMITS, maxFiles: 20_000 };

const ROLE_PARTS = ["tasks", "meta", "handlers", "defaults", "vars"];

const MAIN = (dir: string, base: string): string[] =>
  [base, `${base}.yml`, `${base}.yaml`, `${base}.json`].map((b) => joinUnder(dir, b));

export class ProjectWalker implements WalkerApi {
  readonly findings = new Findings();
  /** Files read so far: each counts once (findings' files and vault, the file limit). */
  private readonly seen = new Set<string>();
  /** Parsed files asked for a second time, kept from then on (see load). */
  private readonly kept = new Map<string, LoadedYaml>();
  private readonly walked = new Set<string>();
  /** Nodes of documents with shared nodes (aliases) already scanned for Jinja, so each is scanned once. */
  private readonly scanned = new Set<object>();
  /** Scratch list for scanValue and scanConditional (neither calls back into itself). */
  private readonly refs: JinjaRef[] = [];
  /** inventory_dir when the project has one inventory source folder (null: unknown, left templated). */
  inventoryDir: string | null = null;
  /** Roles (and collections) that project roles declare: meta/main.yml dependencies with src/version, meta/requirements.yml. */
  readonly roleDeclared: Declared = { collections: [], roles: [], files: [], warnings: [] };

  constructor(
    readonly paths: ProjectPaths,
    readonly index: AnsibleIndex,
    /** ansible.cfg roles_path entries and the project's ansible_collections folders (absolute, inside the project). */
    readonly searchPaths: { rolesPath: readonly string[]; collectionDirs: readonly string[] } = { rolesPath: [], collectionDirs: [] },
    private readonly limits: WalkerLimits = DEFAULT_WALKER_LIMITS,
    /** Parsed files shared with earlier analyses of the same project (the closure's rounds). */
    private readonly yamlCache?: YamlCache,
    /** When given, uses of builtin and project-local plugins are not kept: they add nothing to the result. */
    private readonly resolver?: NameResolver,
  ) {}

  /**
   * Reads and parses a file. Most files are walked once, so a parsed file is not kept after its first use: kept,
   * every parsed file lived to the end of the analysis, and on a 600-file project the garbage collector copied them
   * from one young generation to the next over and over (about 40 % of its time; docs/analysis.md, "Benchmark").
   * A file asked for again (a task file walked for a second search list or side) is parsed again and kept from
   * then on, so no file is parsed more than twice.
   */
  load(abs: string): LoadedYaml {
    const kept = this.kept.get(abs);
    if (kept) return kept;
    const again = this.seen.has(abs);
    if (!again && this.seen.size >= this.limits.maxFiles) {
      throw new AnalysisInputError(`the project has more than ${this.limits.maxFiles} YAML files to read; refusing to go on`);
    }
    const doc = loadYamlFile(abs, this.paths.rel(abs), this.limits, this.yamlCache);
    if (again) {
      this.kept.set(abs, doc);
    } else {
      this.seen.add(abs);
      this.findings.files.add(doc.file);
      if (doc.vaultEncrypted) this.findings.vault.push({ file: doc.file, line: 1 });
      for (const line of doc.vaultLines) this.findings.vault.push({ file: doc.file, line });
    }
    return doc;
  }

  get filesRead(): number {
    return this.seen.size;
  }

  recordUse(kind: PluginKind, name: string, ctx: WalkContext, line: number, controller: boolean): void {
    if (isTemplated(name)) {
      this.findings.warn(`${ctx.rel}:${line}: templated ${kind === "modules" ? "module" : kind} name ${name}; not resolved`);
      return;
    }
    const trimmed = name.trim();
    // Most uses on a large project are builtin: resolved here (memoised, compile-result resolves the rest again).
    const status = this.resolver?.resolve(kind, trimmed, ctx.searchList).status;
    if (status === "builtin" || status === "local") return;
    this.findings.uses.push({ kind, name: trimmed, file: ctx.rel, line, controller, searchList: ctx.searchList });
  }

  moduleDefaults(value: unknown, ctx: WalkContext, line: number): void {
    const entries = Array.isArray(value) ? value : [value];
    for (const entry of entries) {
      if (!isRecord(entry)) continue;
      for (const key of Object.keys(entry)) {
        if (key.startsWith("group/")) this.findings.groups.push({ group: key.slice(6), file: ctx.rel, line });
        else this.recordUse("modules", key, ctx, line, ctx.controller);
      }
      this.scanValue(entry, ctx, line);
    }
  }

  /** Jinja plugin references in any value (of ctx.doc); Jinja plugins always run on the controller. */
  scanValue(value: unknown, ctx: WalkContext, line: number): void {
    const refs = this.refs;
    refs.length = 0;
    this.collectTemplates(value, refs, 0, ctx.doc.sharedNodes ? this.scanned : null);
    this.recordRefs(refs, ctx, line);
  }

  scanConditional(value: unknown, ctx: WalkContext, line: number): void {
    const refs = this.refs;
    refs.length = 0;
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v !== "string") continue;
      if (isTemplated(v)) scanTemplate(v, refs);
      else scanExpression(v, refs);
    }
    this.recordRefs(refs, ctx, line);
  }

  /**
   * `scanned` only for a document whose nodes can have several parents (aliases): a node reached again is not
   * scanned again, so its references count at the first place it appears. Without aliases no node is reached twice
   * in one walk, and a file walked again only repeats the same uses at the same lines, which the result merges.
   */
  private collectTemplates(value: unknown, refs: JinjaRef[], depth: number, scanned: Set<object> | null): void {
    if (typeof value === "string") {
      scanTemplate(value, refs);
    } else if (value !== null && typeof value === "object" && depth < 64) {
      if (scanned) {
        if (scanned.has(value)) return;
        scanned.add(value);
      }
      if (Array.isArray(value)) for (const v of value) this.collectTemplates(v, refs, depth + 1, scanned);
      else for (const k in value) this.collectTemplates((value as Record<string, unknown>)[k], refs, depth + 1, scanned);
    }
  }

  /** Jinja plugins do not use the `collections:` search list: they need FQCNs (or ansible-core's routing). */
  private recordRefs(refs: JinjaRef[], ctx: WalkContext, line: number): void {
    if (refs.length === 0) return;
    const jctx = ctx.searchList.length ? { ...ctx, searchList: [] } : ctx;
    for (const r of refs) this.recordUse(r.kind, r.name, jctx, line, true);
  }

  /** A vars file (vars_files, role vars/defaults, group_vars): Jinja and vault, nothing else. */
  scanVarsFile(abs: string, ctx: WalkContext): void {
    const doc = this.load(abs);
    const vctx = { ...ctx, abs, rel: doc.file, doc };
    for (const d of doc.docs) this.scanValue(d, vctx, doc.lineOf(d) || 1);
  }

  /**
   * Fills in the magic variables known before anything runs: playbook_dir (the current playbook's folder; an
   * imported playbook sets its own), role_path (inside a role) and inventory_dir (when there is one). Any
   * other template stays, and is reported by the caller.
   */
  expandKnownVars(text: string, ctx: WalkContext): string {
    if (!isTemplated(text)) return text;
    return text.replace(/\{\{\s*(playbook_dir|role_path|inventory_dir)\s*\}\}/g, (m, v: string) => {
      const value = v === "playbook_dir" ? ctx.playDir : v === "role_path" ? ctx.roleDir : this.inventoryDir;
      return value ?? m;
    });
  }

  followTaskFile(written: string, ctx: WalkContext, line: number, dynamic: boolean): void {
    const path = this.expandKnownVars(written, ctx);
    if (isTemplated(path)) {
      this.findings.warn(`${ctx.rel}:${line}: task file path ${path} is templated; not followed`);
      return;
    }
    const here = dirname(ctx.abs);
    const candidates = ctx.roleDir
      ? [resolveUnder(joinUnder(ctx.roleDir, "tasks"), path), resolveUnder(here, path), resolveUnder(ctx.roleDir, path), resolveUnder(ctx.playDir, path)]
      : [resolveUnder(here, path), resolveUnder(ctx.playDir, path)];
    const abs = this.paths.firstFile(candidates, `${ctx.rel}:${line}`);
    if (!abs) {
      this.findings.warn(`${ctx.rel}:${line}: task file ${path} not found`);
      return;
    }
    this.walkTaskFile(abs, ctx, line, dynamic);
  }

  /** Walks a file of tasks once per (file, search list, side); import cycles are errors, include cycles warnings. */
  walkTaskFile(abs: string, ctx: WalkContext, line: number, dynamic: boolean): void {
    if (!this.enter(abs, ctx, line, dynamic)) return;
    const key = `${abs}|${ctx.searchList.join(",")}|${ctx.controller}|${ctx.roleDir ?? ""}`;
    if (this.walked.has(key)) return;
    this.walked.add(key);
    const doc = this.load(abs);
    const top = doc.docs[0];
    if (top !== null && top !== undefined && !Array.isArray(top)) {
      throw new AnalysisInputError(`${doc.file}: not a task list (included from ${ctx.rel}:${line})`, doc.file);
    }
    walkTasks(this, top, { ...ctx, abs, rel: doc.file, doc, chain: [...ctx.chain, abs] }, "the file");
  }

  /** Cycle check for a file or role about to be walked; returns false when the walk must stop here. */
  enter(key: string, ctx: WalkContext, line: number, dynamic: boolean): boolean {
    if (!ctx.chain.includes(key)) return true;
    const cycle = [...ctx.chain.slice(ctx.chain.indexOf(key)), key].map((p) => this.paths.rel(p)).join(" → ");
    if (dynamic) {
      this.findings.warn(`${ctx.rel}:${line}: include cycle ${cycle}; not followed further`);
      return false;
    }
    throw new AnalysisInputError(`${ctx.rel}:${line}: import cycle ${cycle}`, ctx.rel, line);
  }

  followRole(written: string, ctx: WalkContext, line: number, opts: RoleOptions): void {
    const expanded = this.expandKnownVars(written, ctx);
    if (isTemplated(expanded)) {
      this.findings.warn(`${ctx.rel}:${line}: role name ${written} is templated; not followed`);
      return;
    }
    const dir = this.findRole(expanded, ctx);
    const fqcn = /^[\w-]+\.[\w-]+\.[\w-]+$/.test(written) && !written.includes("/");
    if (!dir) {
      const collection = fqcn ? written.split(".").slice(0, 2).join(".") : null;
      this.findings.roles.push({ name: written, dir: null, installed: false, collection, file: ctx.rel, line });
      return;
    }
    // A role given by a magic-variable path is named by where it is in the project (not by an absolute path).
    const rel = this.paths.rel(dir);
    const name = expanded === written ? written : rel === "." ? basename(dir) : rel;
    const installed = installedRoleOf(rel) !== null;
    this.findings.roles.push({ name, dir: installed ? null : rel, installed, collection: null, file: ctx.rel, line });
    this.walkRole(dir, ctx, line, opts);
  }

  /**
   * Role search as ansible-core's RoleDefinition does it: roles/ next to the playbook, roles_path (here also the
   * project's roles/), next to the current role, the playbook's directory; a nested name (`kubernetes/node`) is
   * a path under each of these. `ns.coll.role` looks in the project's collections.
   */
  private findRole(name: string, ctx: WalkContext): string | null {
    const root = this.paths.root;
    const parts = name.split(".");
    const fqcn = parts.length === 3 && !name.includes("/");
    const bases = [
      joinUnder(ctx.playDir, "roles"),
      joinUnder(root, "roles"),
      ...this.searchPaths.rolesPath,
      // At run time the venv's roles folder follows roles_path on ANSIBLE_ROLES_PATH (run-remote.ts).
      ...(this.paths.installedRoles ? [this.paths.installedRoles] : []),
      ...(ctx.roleDir ? [dirname(ctx.roleDir)] : []),
      ctx.playDir,
      root,
    ];
    // Each with the search folder it is in (null: none), so that a folder that is not there is one lookup.
    const candidates: [string, string | null][] = [
      ...(isAbsolute(name) ? [[name, null] as [string, null]] : bases.map((b): [string, string] => [resolveUnder(b, name), b])),
      ...(fqcn ? this.searchPaths.collectionDirs.map((d): [string, null] => [join(d, parts[0] ?? "", parts[1] ?? "", "roles", parts[2] ?? ""), null]) : []),
    ];
    for (const [c, base] of candidates) {
      // Lexical check first: a name like ../../x must not even be looked at outside the project.
      if (!this.paths.lexicallyInside(c)) continue;
      if (base !== null && c.startsWith(`${base}/`) && !this.paths.isDir(base)) continue;
      if (this.paths.isDir(c) && ROLE_PARTS.some((d) => this.paths.isDir(joinUnder(c, d)))) {
        return this.paths.inside(c, ctx.rel);
      }
    }
    return null;
  }

  private walkRole(dir: string, ctx: WalkContext, line: number, opts: RoleOptions): void {
    if (!this.enter(dir, ctx, line, opts.dynamic)) return;
    const key = `role|${dir}|${opts.tasksFrom ?? ""}|${opts.handlersFrom ?? ""}|${ctx.controller}`;
    if (this.walked.has(key)) return;
    this.walked.add(key);
    const metaFile = this.mainFile(joinUnder(dir, "meta"), "main", ctx.rel);
    const meta = metaFile ? this.load(metaFile) : null;
    const metaTop = meta?.docs[0];
    // A role searches its own collections: (meta/main.yml), not the play's; a role in a collection searches that too.
    const own = /\/ansible_collections\/([^/]+)\/([^/]+)\/roles\//.exec(dir);
    const searchList = [
      ...(own ? [`${own[1]}.${own[2]}`] : []),
      ...(isRecord(metaTop) && Array.isArray(metaTop["collections"]) ? metaTop["collections"].map(String) : []),
    ];
    const rctx: WalkContext = { ...ctx, roleDir: dir, searchList, chain: [...ctx.chain, dir] };
    if (meta && isRecord(metaTop)) {
      const mctx = { ...rctx, abs: metaFile ?? "", rel: meta.file, doc: meta };
      const deps = metaTop["dependencies"];
      for (const dep of Array.isArray(deps) ? deps : []) {
        const spec = isRecord(dep) && typeof (dep["role"] ?? dep["name"] ?? dep["src"]) !== "string" ? null : roleDependencySpec(dep);
        const dline = meta.lineOf(dep) || meta.lineOf(deps);
        if (spec) {
          // A dependency with src/version says how to install it, like a requirements file entry does.
          if (spec.src || spec.version) this.roleDeclared.roles.push({ ...spec, file: meta.file, line: dline });
          this.followRole(spec.name, mctx, dline, { dynamic: false });
        }
        if (isRecord(dep)) this.scanValue(dep, mctx, meta.lineOf(dep));
      }
    }
    const roleReqs = this.paths.firstFile(["requirements.yml", "requirements.yaml"].map((f) => joinUnder(dir, `meta/${f}`)), ctx.rel);
    if (roleReqs) readRoleRequirements(roleReqs, this.paths, (abs) => this.load(abs), this.roleDeclared);
    for (const sub of ["defaults", "vars"]) {
      const f = this.mainFile(joinUnder(dir, sub), "main", ctx.rel);
      if (f) this.scanVarsFile(f, rctx);
    }
    const tasks = this.mainFile(joinUnder(dir, "tasks"), opts.tasksFrom ?? "main", ctx.rel);
    if (tasks) this.walkTaskFile(tasks, rctx, line, false);
    else if (opts.tasksFrom) this.findings.warn(`${ctx.rel}:${line}: tasks_from ${opts.tasksFrom} not found in ${this.paths.rel(dir)}`);
    const handlers = this.mainFile(joinUnder(dir, "handlers"), opts.handlersFrom ?? "main", ctx.rel);
    if (handlers) this.walkTaskFile(handlers, rctx, line, false);
  }

  /** A role's `<dir>/<base>` with or without .yml/.yaml/.json; a folder that is not there is one lookup, not four. */
  private mainFile(dir: string, base: string, from: string): string | null {
    if (!base.includes("/") && base !== "." && base !== ".." && !this.paths.isDir(dir)) return null;
    return this.paths.firstFile(MAIN(dir, base), from);
  }

  /** Used by the play walker: has the file been seen with this key already? Marks it. */
  once(key: string): boolean {
    if (this.walked.has(key)) return false;
    this.walked.add(key);
    return true;
  }
}

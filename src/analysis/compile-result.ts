// Turns walk findings and declared requirements into the AnalysisResult: collections, roles, Python, ranges.
import type { AnsibleIndex } from "./ansible-index.js";
import type { Findings } from "./findings.js";
import { kindLabel, type NameResolver } from "./name-resolver.js";
import { addNeed, PluginNeedsMemo, type RangeNeeds } from "./plugin-needs.js";
import { collectionBounds, intersectRanges, mergeCollectionRange, mergeRequirements } from "./requirement-merge.js";
import { installedRoleOf } from "./project-files.js";
import type { Declared } from "./requirements-file.js";
import type { AnalysisResult, CollectionReason, DependencySet, RoleFinding, RoleInstallType, VersionConflict } from "./types.js";

export interface CompileInput {
  root: string;
  entry: string;
  index: AnsibleIndex;
  resolver: NameResolver;
  findings: Findings;
  declared: Declared;
  /** Collections shipped in the project (collections/ansible_collections): used, but not installed. */
  localCollections: ReadonlySet<string>;
}

interface CollectionState extends RangeNeeds {
  declared: boolean;
  used: boolean;
  reasons: CollectionReason[];
}

class Compiler {
  readonly collections = new Map<string, CollectionState>();
  /** Sets: every use of a plugin names the same requirements again (thousands of uses on a large project). */
  readonly controller = new Set<string>();
  readonly target = new Set<string>();
  readonly unresolved: AnalysisResult["unresolved"] = [];
  readonly suggestions: AnalysisResult["suggestions"] = [];
  readonly unverified = new Set<string>();
  private readonly needsOf: PluginNeedsMemo;

  constructor(readonly input: CompileInput) {
    this.needsOf = new PluginNeedsMemo(input.index);
  }

  collection(name: string): CollectionState {
    let c = this.collections.get(name);
    if (!c) {
      c = { declared: false, used: false, reasons: [], ranges: [], needs: new Map() };
      this.collections.set(name, c);
    }
    return c;
  }

  use(coll: string, reason: CollectionReason): void {
    const c = this.collection(coll);
    c.used = true;
    c.reasons.push(reason);
  }

  resolveUses(): void {
    const { findings, resolver } = this.input;
    for (const u of findings.uses) {
      const r = resolver.resolve(u.kind, u.name, u.searchList);
      if (r.status === "collection") {
        this.use(r.collection, { kind: u.kind, name: u.name, file: u.file, line: u.line });
        if (!r.verified) this.unverified.add(r.collection);
        const needs = this.needsOf.get(r, u.kind);
        if (needs.newer) {
          findings.warn(`${u.file}:${u.line}: ${kindLabel(u.kind)} ${u.name} is not in ${r.collection} ${needs.indexed} (the indexed version); requiring ${r.collection} >${needs.indexed}`);
          addNeed(this.collection(r.collection), `>${needs.indexed}`, `${r.fqcn} (${u.file}:${u.line}) is not in ${r.collection} ${needs.indexed}`);
        } else if (needs.added && !this.collection(r.collection).needs.has(`>=${needs.added}`)) {
          addNeed(this.collection(r.collection), `>=${needs.added}`, `${r.fqcn} (${u.file}:${u.line}) was added in ${r.collection} ${needs.added}`);
        }
        const side = u.kind !== "modules" || u.controller ? this.controller : this.target;
        for (const req of needs.python) side.add(req);
      } else if (r.status === "unresolved") {
        this.unresolved.push({ name: u.name, file: u.file, line: u.line });
        this.suggestions.push({ name: u.name, file: u.file, line: u.line, kind: u.kind, suggestion: r.suggestion });
        const hint = r.suggestion ? ` — did you mean ${r.suggestion}?` : "";
        findings.warn(`${u.file}:${u.line}: ${kindLabel(u.kind)} ${u.name} not resolved (${r.reason})${hint}`);
      }
    }
  }

  /** module_defaults `group/x`: a FQCN group names its collection; a short one goes through action_groups. */
  resolveGroups(): void {
    const { findings, index } = this.input;
    for (const g of findings.groups) {
      const parts = g.group.split(".");
      const reason = { kind: "module_defaults", name: `group/${g.group}`, file: g.file, line: g.line };
      if (parts.length >= 3) {
        const coll = parts.slice(0, 2).join(".");
        if (index.hasCollection(coll) && !index.collectionDefinesGroup(coll, parts.slice(2).join("."))) {
          findings.warn(`${g.file}:${g.line}: ${coll} defines no action group ${parts.slice(2).join(".")}`);
        }
        this.use(coll, reason);
        continue;
      }
      const extended = (index.builtinGroup(g.group) ?? []).map((x) => x.split(".").slice(0, 2).join("."));
      const candidates = [...new Set([...extended, ...index.groupDefiners(g.group)])].filter(
        (c) => index.hasCollection(c) && index.collectionDefinesGroup(c, g.group),
      );
      if (candidates.length === 0) {
        this.unresolved.push({ name: `group/${g.group}`, file: g.file, line: g.line });
        findings.warn(`${g.file}:${g.line}: module_defaults group/${g.group} is not an action group of any known collection`);
        continue;
      }
      // The group covers several collections; count those the project uses, or else the first (ansible-core's order).
      const used = candidates.filter((c) => this.collections.get(c)?.used);
      for (const c of used.length ? used : candidates.slice(0, 1)) this.use(c, reason);
    }
  }

  resolveRoles(): RoleFinding[] {
    const { findings, declared } = this.input;
    const roles = new Map<string, RoleFinding>();
    const declaredRoles = firstByName(declared.roles);
    for (const r of findings.roles) {
      if (roles.has(r.name)) continue;
      const decl = declaredRoles.get(r.name);
      let source: string;
      const from = installedRoleOf(r.file);
      if (r.dir) source = "project";
      else if (r.collection) {
        source = `collection:${r.collection}`;
        this.use(r.collection, { kind: "role", name: r.name, file: r.file, line: r.line });
      } else if (decl) source = decl.src ?? "galaxy";
      else if (r.installed && from) source = "galaxy"; // ansible-galaxy fetched it as the dependency of an installed role
      else if (/^[\w-]+\.[\w-]+$/.test(r.name)) {
        source = "galaxy";
        findings.warn(`${r.file}:${r.line}: role ${r.name} is neither in the project nor in a requirements file; assuming the Galaxy role`);
      } else {
        source = "missing";
        findings.warn(`${r.file}:${r.line}: role ${r.name} not found in the project (searched roles/, roles_path and the playbook's directory)`);
      }
      roles.set(r.name, { name: r.name, source, declared: !!decl, used: true, ...(from ? { from } : {}) });
    }
    for (const d of declared.roles) {
      if (!roles.has(d.name)) roles.set(d.name, { name: d.name, source: d.src ?? "galaxy", declared: true, used: false });
    }
    return [...roles.values()].sort((a, b) => cmp(a.name, b.name));
  }

  applyDeclared(): void {
    for (const d of this.input.declared.collections) {
      const c = this.collection(d.name);
      c.declared = true;
      c.reasons.push({ kind: "requirements", name: d.version ? `${d.name}:${d.version}` : d.name, file: d.file, line: d.line });
      if (d.version) c.ranges.push({ range: d.version, why: `${d.file}:${d.line} asks for ${d.version}`, declared: true });
    }
  }
}

/** The first declaration of each name wins: the project's requirements files are read before roles' own. */
function firstByName<T extends { name: string }>(items: readonly T[]): Map<string, T> {
  const m = new Map<string, T>();
  for (const i of items) if (!m.has(i.name)) m.set(i.name, i);
  return m;
}

/** How ansible-galaxy fetches a role: from Galaxy by name, by git clone (`git+…`, `git@…`, `….git`), or a URL/file archive. */
export function roleType(src: string | undefined): RoleInstallType {
  if (!src) return "galaxy";
  if (/^git\+|^git@|\.git(?:[,#]|$)/.test(src)) return "git";
  if (/^https?:\/\//.test(src)) return "url";
  return "file";
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function compileResult(input: CompileInput): AnalysisResult {
  const c = new Compiler(input);
  const { findings, index, declared } = input;
  c.resolveUses();
  c.resolveGroups();
  const roles = c.resolveRoles();
  c.applyDeclared();
  c.collections.delete("ansible.builtin");
  const usedNames = [...c.collections.entries()].filter(([, s]) => s.used).map(([n]) => n);
  const core = intersectRanges(usedNames.map((n) => index.requiresAnsible(n)).filter((r): r is string => !!r));
  if (core.conflict) findings.warn(`the collections' requires_ansible ranges cannot all be met: ${core.range}`);
  for (const coll of [...c.unverified].sort()) {
    findings.warn(`collection ${coll} is not in the index (${index.source.ansible} collections): its plugin names and Python requirements were not checked`);
  }
  summarise(c, findings, declared);
  const versions = collectionVersions(c);
  const collections = [...c.collections.entries()]
    .sort(([a], [b]) => cmp(a, b))
    .map(([name, s]) => ({ name, declared: s.declared, used: s.used, reasons: sortReasons(s.reasons) }));
  const python = { controller: mergeRequirements(c.controller), target: mergeRequirements(c.target) };
  const byLocation = (a: { file: string; line: number; name: string }, b: typeof a): number =>
    cmp(a.file, b.file) || a.line - b.line || cmp(a.name, b.name);
  return {
    entry: input.entry,
    collections,
    roles,
    python,
    ansibleCore: core.range,
    unresolved: dedupe(c.unresolved.sort(byLocation)),
    varsPrompt: findings.varsPrompt,
    warnings: findings.warnings,
    conflicts: versions.conflicts,
    root: input.root,
    dependencySet: dependencySet(collections, roles, python, core.range, input, versions),
    shellUses: findings.shellUses,
    vault: findings.vault,
    suggestions: dedupe(c.suggestions.sort(byLocation)),
    stats: { files: findings.files.size, tasks: findings.tasks },
  };
}

/**
 * One range per collection from its declared ranges and its used plugins' needs. A declared range alone is
 * kept as written; a range no version can meet is a conflict that names both sides and what the index has.
 */
function collectionVersions(c: Compiler): { ranges: Map<string, string>; conflicts: VersionConflict[] } {
  const ranges = new Map<string, string>();
  const conflicts: VersionConflict[] = [];
  for (const [name, s] of [...c.collections.entries()].sort(([a], [b]) => cmp(a, b))) {
    const seen = new Set<string>();
    const list = s.ranges.filter((r) => (seen.has(r.range + r.why) ? false : (seen.add(r.range + r.why), true)));
    if (list.length === 0) continue;
    if (list.every((r) => r.declared)) {
      ranges.set(name, list[0]?.range ?? "");
      if (list.length === 1) continue;
    }
    const merged = mergeCollectionRange(list.map((r) => r.range));
    if (merged.range && !list.every((r) => r.declared)) ranges.set(name, merged.range);
    if (merged.satisfiable) continue;
    const b = collectionBounds(list.map((r) => r.range));
    const sides = [...new Set([b.lower?.i, b.upper?.i, ...b.pins.map((p) => p.i), ...b.excluded.map((e) => e.i)])]
      .filter((i): i is number => i !== undefined)
      .map((i) => list[i]?.why ?? "");
    const indexed = c.input.index.collectionVersion(name);
    const reason = `${sides[0] ?? ""}${sides.length > 1 ? `, but ${sides.slice(1).join("; ")}` : ""}${indexed ? ` (the index has ${indexed})` : ""}`;
    conflicts.push({ collection: name, range: merged.range ?? "", reason });
  }
  return { ranges, conflicts };
}

function summarise(c: Compiler, findings: Findings, declared: Declared): void {
  // A collection only installed roles use is theirs to declare, not the project's.
  const ownUse = (s: CollectionState) => s.reasons.some((r) => r.kind !== "requirements" && installedRoleOf(r.file) === null);
  const undeclared = [...c.collections.entries()].filter(([n, s]) => s.used && !s.declared && ownUse(s) && !c.input.localCollections.has(n)).map(([n]) => n);
  const unused = [...c.collections.entries()].filter(([, s]) => s.declared && !s.used).map(([n]) => n);
  if (declared.files.length === 0 && undeclared.length) findings.warn(`no requirements file; collections needed: ${undeclared.sort().join(", ")}`);
  else if (undeclared.length) findings.warn(`used but not declared in ${declared.files.join(", ")}: ${undeclared.sort().join(", ")}`);
  if (unused.length) findings.warn(`declared but not used: ${unused.sort().join(", ")}`);
  for (const w of declared.warnings) findings.warn(w);
  const shell = findings.shellUses;
  if (shell.length) {
    const mods = [...new Set(shell.map((s) => s.module))].sort().join("/");
    findings.warn(`${mods} used ${shell.length} time(s), first at ${shell[0]?.file}:${shell[0]?.line}: these run arbitrary commands`);
  }
  if (findings.vault.length) {
    const where = findings.vault.slice(0, 5).map((v) => `${v.file}:${v.line}`).join(", ");
    findings.warn(`vault-encrypted content (${findings.vault.length}) at ${where}: running needs the vault password`);
  }
}

/** Sorted, de-duplicated, and each one inside an installed role says which ("from role X"). */
function sortReasons(reasons: CollectionReason[]): CollectionReason[] {
  const seen = new Set<string>();
  return reasons
    .map((r) => {
      const fromRole = installedRoleOf(r.file);
      return fromRole ? { ...r, fromRole } : r;
    })
    .sort((a, b) => cmp(a.file, b.file) || a.line - b.line || cmp(a.kind, b.kind) || cmp(a.name, b.name))
    .filter((r) => {
      const k = `${r.file}|${r.line}|${r.kind}|${r.name}`;
      return seen.has(k) ? false : (seen.add(k), true);
    });
}

function dedupe<T extends { file: string; line: number; name: string }>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((i) => {
    const k = `${i.file}|${i.line}|${i.name}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

function dependencySet(
  collections: { name: string; declared: boolean; used: boolean }[],
  roles: RoleFinding[],
  python: DependencySet["python"],
  ansibleCore: string | null,
  input: CompileInput,
  versions: { ranges: Map<string, string>; conflicts: VersionConflict[] },
): DependencySet {
  const decl = new Map(input.declared.collections.map((d) => [d.name, d]));
  const colls = collections
    .filter((c) => !input.localCollections.has(c.name))
    .map((c) => {
      const d = decl.get(c.name);
      const version = versions.ranges.get(c.name);
      return { name: c.name, ...(version ? { version } : {}), ...(d?.source ? { source: d.source } : {}), ...(d?.type ? { type: d.type } : {}) };
    });
  const declRoles = firstByName(input.declared.roles);
  const extRoles = roles
    .filter((r) => r.source !== "project" && !r.source.startsWith("collection:") && r.source !== "missing")
    .map((r) => {
      const d = declRoles.get(r.name);
      return { name: r.name, type: roleType(d?.src), ...(d?.src ? { source: d.src } : {}), ...(d?.version ? { version: d.version } : {}) };
    });
  const set: DependencySet = { ansibleCore, collections: colls, python, roles: extRoles };
  // Absent when empty, so a conflict-free set hashes as before; the venv build refuses a set that has it.
  if (versions.conflicts.length) set.conflicts = versions.conflicts;
  return set;
}

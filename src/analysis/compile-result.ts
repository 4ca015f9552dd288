// Turns walk findings and declared requirements into the AnalysisResult: collections, roles, Python, ranges.
import type { AnsibleIndex } from "./ansible-index.js";
import type { Findings } from "./findings.js";
import { kindLabel, type NameResolver } from "./name-resolver.js";
import { intersectRanges, mergeRequirements } from "./requirement-merge.js";
import type { Declared } from "./requirements-file.js";
import type { AnalysisResult, CollectionReason, DependencySet, RoleFinding } from "./types.js";

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

interface CollectionState {
  declared: boolean;
  used: boolean;
  reasons: CollectionReason[];
}

class Compiler {
  readonly collections = new Map<string, CollectionState>();
  readonly controller: string[] = [];
  readonly target: string[] = [];
  readonly unresolved: AnalysisResult["unresolved"] = [];
  readonly suggestions: AnalysisResult["suggestions"] = [];
  readonly unverified = new Set<string>();

  constructor(readonly input: CompileInput) {}

  collection(name: string): CollectionState {
    let c = this.collections.get(name);
    if (!c) {
      c = { declared: false, used: false, reasons: [] };
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
    const { findings, resolver, index } = this.input;
    for (const u of findings.uses) {
      const r = resolver.resolve(u.kind, u.name, u.searchList);
      if (r.status === "collection") {
        this.use(r.collection, { kind: u.kind, name: u.name, file: u.file, line: u.line });
        if (!r.verified) this.unverified.add(r.collection);
        const reqs = index.pythonFor(r.collection, u.kind, r.plugin);
        (u.kind !== "modules" || u.controller ? this.controller : this.target).push(...reqs);
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
    const declaredRoles = new Map(declared.roles.map((r) => [r.name, r]));
    for (const r of findings.roles) {
      if (roles.has(r.name)) continue;
      const decl = declaredRoles.get(r.name);
      let source: string;
      if (r.dir) source = "project";
      else if (r.collection) {
        source = `collection:${r.collection}`;
        this.use(r.collection, { kind: "role", name: r.name, file: r.file, line: r.line });
      } else if (decl) source = decl.src ?? "galaxy";
      else if (/^[\w-]+\.[\w-]+$/.test(r.name)) {
        source = "galaxy";
        findings.warn(`${r.file}:${r.line}: role ${r.name} is neither in the project nor in a requirements file; assuming the Galaxy role`);
      } else {
        source = "missing";
        findings.warn(`${r.file}:${r.line}: role ${r.name} not found in the project (searched roles/, roles_path and the playbook's directory)`);
      }
      roles.set(r.name, { name: r.name, source, declared: !!decl, used: true });
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
    }
  }
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
    root: input.root,
    dependencySet: dependencySet(collections, roles, python, core.range, input),
    shellUses: findings.shellUses,
    vault: findings.vault,
    suggestions: dedupe(c.suggestions.sort(byLocation)),
    stats: { files: findings.files.size, tasks: findings.tasks },
  };
}

function summarise(c: Compiler, findings: Findings, declared: Declared): void {
  const undeclared = [...c.collections.entries()].filter(([n, s]) => s.used && !s.declared && !c.input.localCollections.has(n)).map(([n]) => n);
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

function sortReasons(reasons: CollectionReason[]): CollectionReason[] {
  const seen = new Set<string>();
  return reasons
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
): DependencySet {
  const decl = new Map(input.declared.collections.map((d) => [d.name, d]));
  const colls = collections
    .filter((c) => !input.localCollections.has(c.name))
    .map((c) => {
      const d = decl.get(c.name);
      return { name: c.name, ...(d?.version ? { version: d.version } : {}), ...(d?.source ? { source: d.source } : {}), ...(d?.type ? { type: d.type } : {}) };
    });
  const declRoles = new Map(input.declared.roles.map((r) => [r.name, r]));
  const extRoles = roles
    .filter((r) => r.source !== "project" && !r.source.startsWith("collection:") && r.source !== "missing")
    .map((r) => {
      const d = declRoles.get(r.name);
      return { name: r.name, ...(d?.src ? { source: d.src } : {}), ...(d?.version ? { version: d.version } : {}) };
    });
  return { ansibleCore, collections: colls, python, roles: extRoles };
}

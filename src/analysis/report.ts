// Renders an AnalysisResult for people (chat, terminal) and as the stable JSON of docs/analysis.md.
import type { AnalysisJson, AnalysisResult } from "./types.js";

const MAX_REASONS = 3;

/** Exactly the documented JSON fields, in a fixed order. */
export function toAnalysisJson(r: AnalysisResult): AnalysisJson {
  return {
    entry: r.entry,
    collections: r.collections.map((c) => ({ name: c.name, declared: c.declared, used: c.used, reasons: c.reasons })),
    roles: r.roles.map((x) => ({ name: x.name, source: x.source, declared: x.declared, used: x.used, ...(x.from ? { from: x.from } : {}) })),
    python: { controller: r.python.controller, target: r.python.target },
    ansibleCore: r.ansibleCore,
    unresolved: r.unresolved.map((u) => ({ name: u.name, file: u.file, line: u.line })),
    varsPrompt: r.varsPrompt.map((p) => ({ name: p.name, prompt: p.prompt, private: p.private, default: p.default })),
    warnings: r.warnings,
    conflicts: r.conflicts.map((c) => ({ collection: c.collection, range: c.range, reason: c.reason })),
  };
}

export function renderReport(r: AnalysisResult): string {
  const out: string[] = [`Playbook ${r.entry}: ${r.stats.files} file(s), ${r.stats.tasks} task(s)`];
  out.push(`ansible-core: ${r.ansibleCore ?? "any"}`);
  out.push(section("Collections", r.collections.map((c) => {
    const uses = c.reasons.filter((x) => x.kind !== "requirements");
    const roles = [...new Set(c.reasons.map((x) => x.fromRole).filter(Boolean))];
    const onlyRoles = uses.length > 0 && uses.every((x) => x.fromRole);
    const tag = (c.used && c.declared) || onlyRoles ? "" : c.used ? " (used, not declared)" : " (declared, not used)";
    const from = roles.length ? ` (from role ${roles.join(", role ")})` : "";
    const shown = uses.slice(0, MAX_REASONS).map((x) => `${x.name} at ${x.file}:${x.line}`).join("; ");
    const more = uses.length > MAX_REASONS ? ` and ${uses.length - MAX_REASONS} more` : "";
    return `${c.name}${tag}${from}${shown ? ` — ${shown}${more}` : ""}`;
  })));
  out.push(section("Roles", r.roles.map((x) => {
    const note = x.from ? ` (dependency of role ${x.from})` : `${x.used ? "" : " (declared, not used)"}${x.declared || x.source === "project" ? "" : " (not declared)"}`;
    return `${x.name} [${x.source}]${note}`;
  })));
  out.push(section("Python on the controller (venv)", r.python.controller));
  out.push(section("Python on the managed hosts", r.python.target));
  out.push(section("Questions (vars_prompt)", r.varsPrompt.map((p) => `${p.name}: ${p.prompt}${p.private ? " (hidden)" : ""}${p.default !== null ? ` [default ${p.default}]` : ""}`)));
  out.push(section("Unresolved", r.suggestions.map((u) => `${u.name} at ${u.file}:${u.line}${u.suggestion ? ` — did you mean ${u.suggestion}?` : ""}`)));
  out.push(section("Version conflicts (nothing can be installed)", r.conflicts.map((c) => `${c.collection} ${c.range}: ${c.reason}`)));
  out.push(section("Warnings", r.warnings));
  return out.filter(Boolean).join("\n\n") + "\n";
}

function section(title: string, lines: string[]): string {
  return lines.length ? `${title}:\n${lines.map((l) => `  - ${l}`).join("\n")}` : "";
}

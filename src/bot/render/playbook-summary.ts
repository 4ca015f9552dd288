// Chat text for a playbook analysis: a Telegram HTML summary within the message limit, and the full plain-text report.
import { renderReport, type AnalysisResult } from "../../analysis/index.js";
import type { UploadAnalysis } from "../../jobs/playbook/analyse-upload.js";
import { code, escapeHtml, fitMessage } from "./telegram-html.js";

/** Items shown per list in the chat; the attached report has them all. */
const MAX_ITEMS = 12;
const HOW_TO_RUN = "Press ▶️ Run… to choose one of your hosts (/hosts), answer its questions and run it there.";

export interface PlaybookSummary {
  html: string;
  /** Something was left out of the chat message: send the full report too. */
  shortened: boolean;
}

function list(title: string, items: string[], state: { shortened: boolean }): string[] {
  if (items.length === 0) return [];
  const shown = items.slice(0, MAX_ITEMS).map((i) => `• ${i}`);
  if (items.length > MAX_ITEMS) {
    state.shortened = true;
    shown.push(`… and ${items.length - MAX_ITEMS} more (in the attached report)`);
  }
  return ["", `<b>${title}</b> (${items.length})`, ...shown];
}

function collectionLines(r: AnalysisResult): string[] {
  return r.collections.map((c) => {
    const use = c.reasons.find((x) => x.kind !== "requirements" && !x.fromRole) ?? c.reasons.find((x) => x.kind !== "requirements");
    const roles = [...new Set(c.reasons.map((x) => x.fromRole).filter((x): x is string => !!x))];
    const from = roles.length ? ` — from role ${roles.map(code).join(", ")}` : "";
    const where = use && !use.fromRole ? ` — ${escapeHtml(use.name)} at ${escapeHtml(`${use.file}:${use.line}`)}` : "";
    if (!c.declared && use?.fromRole) return `${code(c.name)}${from}`;
    if (c.used && !c.declared) return `⚠️ ${code(c.name)} <b>used but not declared</b>${where}${from}`;
    if (!c.used) return `${code(c.name)} — declared, not used`;
    return `${code(c.name)}${where}${from}`;
  });
}

function roleLines(r: AnalysisResult): string[] {
  return r.roles.map((x) => {
    const flags = x.from
      ? [x.source, `dependency of role ${x.from}`]
      : [x.source === "missing" ? "⚠️ not found" : x.source, x.used ? "" : "declared, not used", x.declared || x.source === "project" ? "" : "not declared"];
    return `${code(x.name)} — ${escapeHtml(flags.filter(Boolean).join(", "))}`;
  });
}

function unresolvedLines(r: AnalysisResult): string[] {
  return r.unresolved.map((u) => {
    const s = r.suggestions.find((x) => x.name === u.name && x.file === u.file && x.line === u.line)?.suggestion;
    return `${code(u.name)} at ${escapeHtml(`${u.file}:${u.line}`)}${s ? ` — did you mean ${code(s)}?` : ""}`;
  });
}

/** Warnings the sections above already show (collections declared/used, unresolved names) are left out of the chat. */
function otherWarnings(r: AnalysisResult): string[] {
  const shown = /^(used but not declared in |declared but not used: |no requirements file; )|: \S+ \S+ not resolved \(/;
  return r.warnings.filter((w) => !shown.test(w)).map(escapeHtml);
}

function pythonLines(r: AnalysisResult): string[] {
  const out: string[] = [];
  if (r.python.controller.length) out.push(`controller (into the virtualenv): ${r.python.controller.map(code).join(", ")}`);
  if (r.python.target.length) out.push(`managed hosts: ${r.python.target.map(code).join(", ")}`);
  return out.length ? ["", "<b>Python packages</b>", ...out] : [];
}

export function renderPlaybookSummary(a: UploadAnalysis, fileName: string, jobId: number): PlaybookSummary {
  const r = a.result;
  const state = { shortened: false };
  const venv = "name" in a.venv ? `${code(a.venv.name)} (Python ${escapeHtml(a.venv.pythonVersion)})` : `none yet — ${escapeHtml(a.venv.error)}`;
  const lines = [
    `📋 <b>Playbook analysis</b> · job #${jobId}`,
    `Entry: ${code(r.entry)} from ${code(fileName)} (${r.stats.files} file(s), ${r.stats.tasks} task(s))`,
    `ansible-core: ${r.ansibleCore ? code(r.ansibleCore) : "any version"}`,
    `Virtualenv: ${venv}`,
    ...list("Collections", collectionLines(r), state),
    ...list("Roles", roleLines(r), state),
    ...pythonLines(r),
    ...list("Questions it will ask (vars_prompt)", r.varsPrompt.map((p) =>
      `${code(p.name)} — ${escapeHtml(p.prompt)}${p.private ? " (hidden)" : ""}${p.default !== null ? ` [default ${escapeHtml(p.default)}]` : ""}`), state),
    ...list("⚠️ Unresolved names", unresolvedLines(r), state),
    ...list("Warnings", otherWarnings(r), state),
    "",
    `<i>${"name" in a.venv ? HOW_TO_RUN : "It cannot be run until the virtualenv can be named."}</i>`,
  ];
  const html = lines.join("\n");
  const fitted = fitMessage(html);
  return { html: fitted, shortened: state.shortened || fitted !== html };
}

/** The full report as a plain-text document: everything the analysis found, uncut. */
export function renderPlaybookReportText(a: UploadAnalysis, fileName: string, jobId: number): string {
  const venv = "name" in a.venv ? `${a.venv.name} (Python ${a.venv.pythonVersion})` : `none yet: ${a.venv.error}`;
  return [`Dropship job #${jobId}: analysis of ${fileName}`, `Virtualenv: ${venv}`, "", renderReport(a.result)].join("\n");
}

/** A document name for the report: the upload's name without its archive suffix. */
export function reportFileName(fileName: string): string {
  const base = fileName.replace(/\.(tar\.gz|tgz|zip|ya?ml)$/i, "").replace(/[^\w.@+-]/g, "_").slice(0, 60) || "playbook";
  return `${base}-analysis.txt`;
}

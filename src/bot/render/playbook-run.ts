// Chat text of a playbook run, as pure functions: the approval card, the progress message, the recap.
import type { UsedContent } from "../../jobs/playbook/playbook-runner.js";
import type { RunProgress } from "../../jobs/playbook/run-progress.js";
import { code, escapeHtml, fitMessage } from "./telegram-html.js";

export interface ApprovalFacts {
  jobId: number;
  fileName: string;
  entry: string;
  host: string;
  hostAddress: string;
  venv: string | null;
  collections: string[];
  /** Roles installed for it (Galaxy, git, archives), with the version asked for when there is one. */
  roles: string[];
  packages: string[];
  /** In question order; private answers are never passed in, only their names. */
  answers: { name: string; value: string | null }[];
}

export function renderApprovalCard(f: ApprovalFacts): string {
  const list = (items: string[]) => (items.length ? items.map(code).join(", ") : "none");
  const answers = f.answers.map((a) => `• ${code(a.name)} = ${a.value === null ? "<i>(hidden)</i>" : code(a.value)}`);
  return fitMessage(
    [
      `▶️ <b>Run job #${f.jobId}?</b>`,
      `Host: <b>${escapeHtml(f.host)}</b> (${code(f.hostAddress)})`,
      `Entry: ${code(f.entry)} from ${code(f.fileName)}`,
      `Virtualenv: ${f.venv ? code(f.venv) : "named on the host"}`,
      `Collections: ${list(f.collections)}`,
      `Roles: ${list(f.roles)}`,
      `Python packages: ${list(f.packages)}`,
      ...(answers.length ? ["<b>Answers</b>", ...answers] : []),
      "",
      "Press <b>Start</b> to build or reuse the virtualenv on the host and run the playbook there.",
    ].join("\n"),
  );
}

export function renderRunHeader(jobId: number, entry: string, host: string): string {
  return `▶️ <b>Job #${jobId}</b>: ${code(entry)} on <b>${escapeHtml(host)}</b>`;
}

export function renderStep(header: string, step: string): string {
  return fitMessage(`${header}\n⏳ ${escapeHtml(step)}`);
}

function counts(p: RunProgress): string {
  return `ok ${p.ok} · changed ${p.changed} · failed ${p.failed} · unreachable ${p.unreachable}${p.skipped ? ` · skipped ${p.skipped}` : ""}`;
}

export function renderProgress(header: string, p: RunProgress): string {
  const task = p.task === null ? "starting…" : `task ${p.index} of ${p.total}: ${code(p.task)}`;
  return fitMessage([header, p.play ? `Play: ${escapeHtml(p.play)}` : "", `⏳ ${task}`, counts(p)].filter(Boolean).join("\n"));
}

const ENDINGS = { done: "✅ finished", failed: "❌ failed", cancelled: "🛑 cancelled" } as const;

export function renderFinalProgress(header: string, state: keyof typeof ENDINGS, p: RunProgress): string {
  return fitMessage([header, `${ENDINGS[state]} · ${counts(p)}`].join("\n"));
}

/** "Used: …": the venv and what was installed in it, so a run can be repeated by hand with the same versions. */
function usedLines(used: UsedContent | null): string[] {
  if (!used) return [];
  const items = <T extends { name: string; version: string | null }>(xs: T[]) =>
    xs.length ? xs.map((x) => `${code(x.name)}${x.version ? ` ${escapeHtml(x.version)}` : ""}`).join(", ") : "none";
  return ["", `<b>Used</b> virtualenv ${code(used.venv)}`, `Roles: ${items(used.roles)}`, `Collections: ${items(used.collections)}`];
}

/** The recap message: one line per host as Ansible's PLAY RECAP has it, what the run used, and the failure if any. */
export function renderRecap(jobId: number, state: keyof typeof ENDINGS, p: RunProgress, error: string | null, used: UsedContent | null = null): string {
  const hosts = Object.entries(p.recap ?? {}).map(
    ([h, c]) => `${code(h)}: ok=${c.ok} changed=${c.changed} unreachable=${c.unreachable} failed=${c.failures} skipped=${c.skipped} rescued=${c.rescued} ignored=${c.ignored}`,
  );
  const lines = [`${ENDINGS[state].split(" ")[0]} <b>Job #${jobId} ${state}</b>`];
  if (hosts.length) lines.push("<b>Recap</b>", ...hosts);
  lines.push(...usedLines(used));
  if (error) lines.push("", escapeHtml(error));
  if (state === "cancelled") lines.push("ansible-playbook was stopped; the work directory on the host was removed.");
  return fitMessage(lines.join("\n"));
}

// Plain-text views of venvs for the chat (/venvs): per host, with size and last use. No Telegram here.
import type { VenvRecord } from "./venv-store.js";
import { formatAgo, formatBytes } from "../shared/text-format.js";

/** What the spec holds, in a few words: "ansible-core >=2.15 · 2 packages · 3 collections". */
function describeSpec(specJson: string): string {
  try {
    const s = JSON.parse(specJson) as { pythonVersion?: string; ansibleCore?: string | null; python?: string[]; collections?: { name: string }[]; roles?: { name: string }[] };
    const parts = [`ansible-core ${s.ansibleCore ?? "any"}`, `Python ${s.pythonVersion ?? "?"}`];
    if (s.python?.length) parts.push(`${s.python.length} package${s.python.length === 1 ? "" : "s"}`);
    if (s.collections?.length) parts.push(s.collections.map((c) => c.name).join(", "));
    if (s.roles?.length) parts.push(`role${s.roles.length === 1 ? "" : "s"} ${s.roles.map((r) => r.name).join(", ")}`);
    return parts.join(" · ");
  } catch {
    return "unreadable spec";
  }
}

function formatVenvLine(v: VenvRecord, now: number): string {
  const flags = [v.pinned ? "pinned" : "", v.inUse > 0 ? `in use (${v.inUse})` : "", v.status !== "ready" ? v.status : ""].filter(Boolean);
  return `${v.name} — ${v.sizeBytes === null ? "size unknown" : formatBytes(v.sizeBytes)}, used ${formatAgo(now - v.lastUsedAt)}${flags.length ? ` [${flags.join(", ")}]` : ""}\n  ${describeSpec(v.spec)}`;
}

/** The /venvs message body: grouped by host, most recently used first, with a total per host. */
export function formatVenvList(venvs: VenvRecord[], now: number): string {
  if (venvs.length === 0) return "No virtualenvs yet. They are created the first time a playbook needs one.";
  const byHost = new Map<string, VenvRecord[]>();
  for (const v of venvs) byHost.set(v.host, [...(byHost.get(v.host) ?? []), v]);
  const blocks = [...byHost.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([host, list]) => {
      const sorted = [...list].sort((a, b) => b.lastUsedAt - a.lastUsedAt);
      const total = sorted.reduce((sum, v) => sum + (v.sizeBytes ?? 0), 0);
      return [`${host} — ${sorted.length} venv${sorted.length === 1 ? "" : "s"}, ${formatBytes(total)}`, ...sorted.map((v) => formatVenvLine(v, now))].join("\n");
    });
  return blocks.join("\n\n");
}

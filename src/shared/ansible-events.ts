// The JSON-lines events of Dropship's callback plugin (playbooks/callback_plugins/dropship_events.py): one
// protocol, read by the droplet provisioning (src/ansible) and by playbook runs on hosts (src/jobs/playbook).
export type PlaybookEvent =
  | { event: "play"; name: string; tasks: number }
  | { event: "task"; name: string; action: string; index?: number; total?: number; handler?: boolean }
  | { event: "result"; status: "ok" | "failed" | "ignored" | "skipped" | "unreachable"; host: string; task: string; changed: boolean; msg: string | null }
  | { event: "recap"; hosts: Record<string, { ok: number; changed: number; failures: number; unreachable: number; skipped: number; rescued: number; ignored: number }> };

const EVENTS = new Set(["play", "task", "result", "recap"]);

/** A line of the event stream as an event, or null when the line is something else (ansible's own stderr). */
export function parseEventLine(line: string): PlaybookEvent | null {
  if (!line.startsWith("{")) return null;
  try {
    const v = JSON.parse(line) as { event?: unknown };
    return v && typeof v === "object" && typeof v.event === "string" && EVENTS.has(v.event) ? (v as PlaybookEvent) : null;
  } catch {
    return null;
  }
}

/** Splits a byte stream into whole lines; the last, unfinished line waits for the next chunk. */
export class LineSplitter {
  private rest = "";
  constructor(private readonly onLine: (line: string) => void) {}
  push(chunk: string): void {
    const text = this.rest + chunk;
    const lines = text.split("\n");
    this.rest = lines.pop() ?? "";
    for (const l of lines) this.onLine(l);
  }
  end(): void {
    if (this.rest) this.onLine(this.rest);
    this.rest = "";
  }
}

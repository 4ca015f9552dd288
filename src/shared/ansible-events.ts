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

/** A task that failed, or whose host was unreachable, as a run reports it to a person. */
export interface FailedTask {
  host: string;
  task: string;
  status: string;
  msg: string | null;
}

/** A result that stops its host's play: failed or unreachable (an ignored failure is not one). */
export function isFailedResult(e: PlaybookEvent): e is Extract<PlaybookEvent, { event: "result" }> {
  return e.event === "result" && (e.status === "failed" || e.status === "unreachable");
}

/** The first failed task among a run's events, or null. */
export function firstFailedTask(events: readonly PlaybookEvent[]): FailedTask | null {
  const e = events.find(isFailedResult);
  return e ? { host: e.host, task: e.task, status: e.status, msg: e.msg } : null;
}

/**
 * Why a run failed, for a person: the first failed task and its message; without one (a syntax error, a missing
 * file), how ansible-playbook ended and the last lines it printed.
 */
export function describeFailedRun(failure: FailedTask | null, end: { code: number | null; signal: string | null; output: string }): string {
  if (failure) return `task "${failure.task}" ${failure.status} on ${failure.host}${failure.msg ? `: ${failure.msg}` : ""}`;
  const tail = end.output.trim().split("\n").slice(-4).join("\n").slice(-600);
  const how = end.code === null ? `was stopped (${end.signal ?? "timeout"})` : `exited with ${end.code}`;
  return `ansible-playbook ${how}${tail ? `:\n${tail}` : ""}`;
}

/** Longest line kept whole; longer ones keep their start and say how much was cut (an event line is far shorter). */
export const MAX_LINE_CHARS = 1024 * 1024;

/**
 * Splits a byte stream into whole lines; the last, unfinished line waits for the next chunk. A line longer than
 * `maxLineChars` (say a 10 MB line with no newline yet) keeps its first `maxLineChars` characters and drops the
 * rest as it arrives, so waiting for its end costs neither memory nor time.
 */
export class LineSplitter {
  private rest = "";
  private dropped = 0;
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineChars = MAX_LINE_CHARS,
  ) {}
  push(chunk: string): void {
    let from = 0;
    for (let nl = chunk.indexOf("\n"); nl >= 0; nl = chunk.indexOf("\n", from)) {
      this.keep(chunk.slice(from, nl));
      this.emit();
      from = nl + 1;
    }
    this.keep(chunk.slice(from));
  }
  end(): void {
    if (this.rest || this.dropped) this.emit();
  }
  private keep(part: string): void {
    const room = this.maxLineChars - this.rest.length;
    if (part.length <= room) this.rest += part;
    else {
      this.rest += part.slice(0, room);
      this.dropped += part.length - room;
    }
  }
  private emit(): void {
    const line = this.dropped ? `${this.rest}[… ${this.dropped.toLocaleString("en")} more characters of this line cut …]` : this.rest;
    this.rest = "";
    this.dropped = 0;
    this.onLine(line);
  }
}

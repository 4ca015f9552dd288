// Folds the callback plugin's JSON-lines events (playbooks/callback_plugins/dropship_events.py) into what the
// progress message shows: the current task, n of m, and ok/changed/failed/unreachable counts; and the recap.
import { isFailedResult, type FailedTask, type PlaybookEvent } from "../../shared/ansible-events.js";

export type RecapCounts = Extract<PlaybookEvent, { event: "recap" }>["hosts"][string];

export interface RunProgress {
  play: string | null;
  task: string | null;
  /** 1-based index of the current task in its play, and the play's task count (handlers are not counted). */
  index: number;
  total: number;
  ok: number;
  changed: number;
  failed: number;
  unreachable: number;
  skipped: number;
  recap: Record<string, RecapCounts> | null;
  /** The first failure, for the final message. */
  firstFailure: FailedTask | null;
}

export function emptyProgress(): RunProgress {
  return { play: null, task: null, index: 0, total: 0, ok: 0, changed: 0, failed: 0, unreachable: 0, skipped: 0, recap: null, firstFailure: null };
}

export function applyEvent(p: RunProgress, e: PlaybookEvent): RunProgress {
  switch (e.event) {
    case "play":
      return { ...p, play: e.name, total: e.tasks, index: 0, task: null };
    case "task":
      return { ...p, task: e.name, index: e.handler ? p.index : (e.index ?? p.index + 1), total: e.total ?? p.total };
    case "result": {
      const next = { ...p };
      // As in Ansible's recap: a changed result is also ok; an ignored failure counts as ok.
      if (e.status === "ok" || e.status === "ignored") next.ok += 1;
      if (e.changed && e.status === "ok") next.changed += 1;
      if (e.status === "failed") next.failed += 1;
      if (e.status === "unreachable") next.unreachable += 1;
      if (e.status === "skipped") next.skipped += 1;
      if (isFailedResult(e) && !p.firstFailure) {
        next.firstFailure = { host: e.host, task: e.task, status: e.status, msg: e.msg };
      }
      return next;
    }
    case "recap":
      return { ...p, recap: e.hosts };
    default:
      return p;
  }
}

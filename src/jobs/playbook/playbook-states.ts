// The playbook job's states after the analysis, as data: what may follow what, and which states a run is in.
// analysed → host_chosen → answered → approved → venv_ready → running → done | failed | cancelled.

type PlaybookRunState = "analysed" | "host_chosen" | "answered" | "approved" | "venv_ready" | "running" | "done" | "failed" | "cancelled";

/**
 * Allowed moves. The dialogue states (host_chosen, answered) may go back to analysed when the user leaves the
 * dialogue: nothing ran, so the job can be run later. Any state of a started run may end failed or cancelled.
 */
const PLAYBOOK_RUN_TRANSITIONS: Record<PlaybookRunState, readonly PlaybookRunState[]> = {
  analysed: ["host_chosen"],
  host_chosen: ["host_chosen", "answered", "analysed"],
  answered: ["host_chosen", "approved", "analysed"],
  approved: ["venv_ready", "failed", "cancelled"],
  venv_ready: ["running", "failed", "cancelled"],
  running: ["done", "failed", "cancelled"],
  done: [],
  failed: [],
  cancelled: [],
};

/** States from which the Run… button (re)starts the dialogue. */
export const RUNNABLE_STATES: ReadonlySet<string> = new Set(["analysed", "host_chosen", "answered"]);

/** The whole playbook flow, for the job store: the upload's analysis (received → analysed | failed), then the run. */
export function playbookMayMove(from: string, to: string): boolean {
  if (from === "received") return to === "analysed" || to === "failed";
  return canMove(from, to);
}

function canMove(from: string, to: string): boolean {
  return (PLAYBOOK_RUN_TRANSITIONS as Record<string, readonly string[]>)[from]?.includes(to) ?? false;
}

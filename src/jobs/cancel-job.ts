// Cancelling a user's job, whichever kind it is: each kind registers how it is stopped (the torrent runner, the
// playbook runner); this module decides what may be cancelled and says what cancelling meant.
import { FINAL_STATES, type JobKind, type JobStore } from "./job-store.js";

/** What the generic cancel needs from one job kind. */
export interface CancellableKind {
  /** States in which the job waits for its owner and nothing runs yet (a card before Start): cancelling just records it. */
  waitingStates: readonly string[];
  isRunning(jobId: number): boolean;
  /** Stops a running job; resolves once it has stopped and cleaned up. */
  stop(jobId: number): Promise<void>;
  /** What stopping meant, for the owner, e.g. "its droplet is destroyed. It cost $0.0042." */
  describeStopped(jobId: number): string;
}

export type CancelOutcome =
  /** Not the user's job, or no such job. */
  | { kind: "not-found"; message: string }
  /** It was waiting for its owner: now cancelled, nothing was created. */
  | { kind: "cancelled"; message: string }
  /** It was running and has stopped (`wait: true`). */
  | { kind: "stopped"; message: string }
  /** It was running and is being stopped in the background (`wait: false`). */
  | { kind: "stopping"; message: string; stopped: Promise<void> }
  | { kind: "finished"; message: string; state: string }
  | { kind: "not-running"; message: string };

export class JobCanceller {
  constructor(
    private readonly jobs: Pick<JobStore, "get" | "transitionIf">,
    private readonly kinds: Partial<Record<JobKind, CancellableKind>>,
  ) {}

  /**
   * Cancels job `jobId` for `userId`, who must own it. `via` goes into the job's event log ("the card", "/cancel").
   * With `wait: false` a running job is stopped in the background and `stopped` settles when it has.
   */
  async cancel(jobId: number, userId: number, opts: { via: string; wait?: boolean }): Promise<CancelOutcome> {
    const job = this.jobs.get(jobId);
    if (!job || job.ownerId !== userId) return { kind: "not-found", message: `You have no job ${jobId}.` };
    const kind = this.kinds[job.kind];
    if (!kind) throw new Error(`no cancel registered for ${job.kind} jobs`);
    if (kind.waitingStates.includes(job.state) && this.jobs.transitionIf(jobId, job.state, "cancelled", { detail: `cancelled with ${opts.via}` })) {
      return { kind: "cancelled", message: `Job ${jobId} cancelled; nothing was created.` };
    }
    if (kind.isRunning(jobId)) {
      const stopped = kind.stop(jobId);
      if (opts.wait === false) return { kind: "stopping", message: `Job ${jobId} is being cancelled.`, stopped };
      await stopped;
      return { kind: "stopped", message: `Job ${jobId} cancelled; ${kind.describeStopped(jobId)}` };
    }
    const state = this.jobs.get(jobId)!.state;
    if (FINAL_STATES.has(state)) return { kind: "finished", message: `Job ${jobId} has already finished (${state}).`, state };
    return { kind: "not-running", message: `Job ${jobId} is not running; nothing to stop.` };
  }
}

// After a magnet's metadata: the real size (of the files chosen to fetch) replaces the claimed one (a magnet's `xl=` is
// only a claim, and most magnets have none). The job's reservation becomes the new estimate; if that breaks a money cap, the job pauses — its droplet
// up, aria2 holding the download — and asks its owner to Continue or Cancel, for a bounded time.
import type { Logger } from "../../shared/logger.js";
import type { JobStore } from "../job-store.js";
import { JobCancelled, type TorrentJobData, type TorrentJobInput } from "./torrent-job-model.js";
import type { TorrentMetadata } from "./torrent-ports.js";

/** What the real size means for the money, from the quoter and the budget (wired in src/app). */
export interface RealSizeCheck {
  estimateUsd: number | null;
  estimateSeconds: number | null;
  /** Why the new estimate breaks a cap, with the numbers; null when it fits. */
  overCap: string | null;
}

export type RealSizeChecker = (jobId: number, ownerId: number, realBytes: number) => Promise<RealSizeCheck>;

/** The question the card shows while the job waits (also kept in the job's data, so a restart asks again). */
export interface SizeQuestion {
  realBytes: number;
  /** The size the link claimed (`xl=`), or null when it said none. */
  claimedBytes: number | null;
  fileCount: number;
  /** The torrent's file count when only some files were chosen (fileCount and realBytes are then the chosen ones'). */
  chosenOf?: number | null;
  estimateUsd: number | null;
  estimateSeconds: number | null;
  overCap: string;
  /** When an unanswered question ends the job (ms since epoch). */
  deadline: number;
}

export type SizeAnswer = "continue" | "cancel";

/** Jobs waiting for their owner's answer; the bot's button handler answers through the runner. */
export class SizeQuestions {
  private readonly waiting = new Map<number, (answer: SizeAnswer) => void>();

  /** Waits for the answer to job `jobId`'s question; "timeout" after `ms`; rejects if `signal` aborts. */
  ask(jobId: number, ms: number, signal: AbortSignal): Promise<SizeAnswer | "timeout"> {
    return new Promise((resolve, reject) => {
      const done = (a: SizeAnswer | "timeout") => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        this.waiting.delete(jobId);
        resolve(a);
      };
      const onAbort = () => {
        clearTimeout(timer);
        this.waiting.delete(jobId);
        reject(signal.reason as Error);
      };
      const timer = setTimeout(() => done("timeout"), ms);
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiting.set(jobId, done);
    });
  }

  /** Whether job `jobId` was waiting (an answer for a job that is not is ignored). */
  answer(jobId: number, answer: SizeAnswer): boolean {
    const resolve = this.waiting.get(jobId);
    if (!resolve) return false;
    resolve(answer);
    return true;
  }

  isWaiting(jobId: number): boolean {
    return this.waiting.has(jobId);
  }
}

/** What settling a real size needs, the same for every job of a runner. */
export interface SizeCheckDeps {
  jobs: JobStore;
  check: RealSizeChecker | undefined;
  questions: SizeQuestions;
  timeoutMs: number;
  now: () => number;
}

/**
 * A magnet's real size is in (aria2 holds the download): the reservation follows it, and if the new estimate breaks
 * a cap the job asks its owner and waits. Throws to end the job (Cancel, or no answer in time).
 */
export async function settleRealSize(
  deps: SizeCheckDeps,
  ctx: {
    jobId: number;
    meta: TorrentMetadata;
    /** Puts the question on the job's card. */
    show(question: SizeQuestion): void;
    /** The new estimate, whether or not it breaks a cap. */
    onChecked?(check: RealSizeCheck): void;
    /** The torrent's file count when `meta` holds only the files chosen. */
    chosenOf?: number | null;
    abort: AbortController;
    log: Logger;
  },
): Promise<void> {
  const { jobs } = deps;
  const { jobId, meta } = ctx;
  const job = jobs.get<TorrentJobInput, TorrentJobData>(jobId)!;
  if (!deps.check) return;
  const check = await deps.check(jobId, job.ownerId, meta.totalBytes);
  ctx.onChecked?.(check);
  if (!check.overCap || job.data.sizeAccepted) return;
  // A restart mid-question asks again, keeping the first deadline.
  const deadline = job.data.sizeQuestion?.deadline ?? deps.now() + deps.timeoutMs;
  const question = { ...sizeQuestion(meta, job.input.sizeBytes, { ...check, overCap: check.overCap }, deadline), chosenOf: ctx.chosenOf ?? null };
  jobs.patchData(jobId, { sizeQuestion: question });
  ctx.log.info({ realBytes: meta.totalBytes, claimedBytes: job.input.sizeBytes, overCap: check.overCap }, "waiting for the owner: the real size breaks a cap");
  ctx.show(question);
  const answer = await deps.questions.ask(jobId, Math.max(0, deadline - deps.now()), ctx.abort.signal);
  jobs.patchData(jobId, { sizeQuestion: null, sizeAccepted: answer === "continue" });
  if (answer === "continue") return;
  if (answer === "cancel") {
    jobs.patchData(jobId, { cancelRequested: true });
    ctx.abort.abort(new JobCancelled());
    throw ctx.abort.signal.reason;
  }
  throw new Error(`nobody said within ${Math.round(deps.timeoutMs / 60_000)} min whether to go on: ${check.overCap}`);
}

function sizeQuestion(meta: TorrentMetadata, claimedBytes: number | null, check: RealSizeCheck & { overCap: string }, deadline: number): SizeQuestion {
  return {
    realBytes: meta.totalBytes,
    claimedBytes,
    fileCount: meta.files.length,
    estimateUsd: check.estimateUsd,
    estimateSeconds: check.estimateSeconds,
    overCap: check.overCap,
    deadline,
  };
}

// What a user does with a torrent, told without any chat: ask for one (quote it, record the job and its estimate),
// press Start on its card, press Cancel on its card. The bot's torrent feature only translates updates and answers.
import type { CancelOutcome, JobCanceller } from "../cancel-job.js";
import { FINAL_STATES, type Job, type JobStore } from "../job-store.js";
import type { TorrentJobInput } from "./torrent-job.js";
import type { TorrentQuote, TorrentQuoter } from "./torrent-quote.js";
import type { TorrentRequest } from "./torrent-request.js";

export interface TorrentUseCaseDeps {
  jobs: JobStore;
  quoter: Pick<TorrentQuoter, "quote" | "admit">;
  /** The generic cancel, with the torrent kind registered (torrentCancellation). */
  canceller: Pick<JobCanceller, "cancel">;
  /** A card's buttons stop working after this long. */
  cardTtlMs: number;
  now?: () => number;
}

/** A requested torrent, waiting for Start: its job and what its card shows. */
export interface RequestedTorrent {
  jobId: number;
  quote: TorrentQuote;
  name: string | null;
  sizeBytes: number | null;
  /** Known only from a .torrent document. */
  fileCount: number | null;
  infoHash: string;
}

/** The facts Start re-checks, recorded with the job when its card is made. */
interface CardFacts {
  estimateUsd?: number | null;
}

/** Quotes a torrent for `ownerId` and records it as a job waiting on its card ("estimated"), with its estimate. */
export async function requestTorrent(
  deps: Pick<TorrentUseCaseDeps, "jobs" | "quoter">,
  who: { ownerId: number; chatId: number },
  req: TorrentRequest,
): Promise<RequestedTorrent> {
  const quote = await deps.quoter.quote({ sizeBytes: req.sizeBytes, hasTorrentFile: Boolean(req.torrentFile) }, who.ownerId);
  const input: TorrentJobInput = {
    infoHash: req.infoHash,
    name: req.name,
    sizeBytes: req.sizeBytes,
    magnetUri: req.magnetUri,
    torrentFile: req.torrentFile ? req.torrentFile.toString("base64") : null,
  };
  const job = deps.jobs.create({ kind: "torrent", ownerId: who.ownerId, chatId: who.chatId, state: "estimated", input });
  if (quote.usd !== null) deps.jobs.recordSpend({ jobId: job.id, userId: who.ownerId, kind: "estimate", usd: quote.usd });
  deps.jobs.patchData(job.id, { size: quote.size, region: quote.region, priceHourly: quote.priceHourly, estimateUsd: quote.usd, estimateSeconds: quote.seconds });
  return { jobId: job.id, quote, name: req.name, sizeBytes: req.sizeBytes, fileCount: req.files?.length ?? null, infoHash: req.infoHash };
}

/** Remembers which chat message is the job's card: its progress is later edited into it. */
export function recordCardMessage(jobs: Pick<JobStore, "patchData">, jobId: number, messageId: number): void {
  jobs.patchData(jobId, { cardMessageId: messageId });
}

export type StartOutcome =
  /** This press approved the job ("estimated" → "approved"): the caller shows its progress and starts the runner. */
  | { kind: "started" }
  | { kind: "already-started" }
  /**
   * The card no longer starts anything: the job already ended (`finished`), or the card outlived its time (`too-old`);
   * `closedNow` when this press is the one that cancelled the stale card.
   */
  | { kind: "expired"; why: "finished" | "too-old"; closedNow: boolean }
  /** A budget refuses the job now; the card stays usable. */
  | { kind: "blocked"; reason: string }
  | { kind: "not-yours" }
  /** No such torrent job (a forged or stale button). */
  | { kind: "invalid" };

/** Start pressed on job `jobId`'s card by `userId`: checks owner, state, the card's age and the budgets, then approves. */
export function startTorrent(deps: Omit<TorrentUseCaseDeps, "canceller">, jobId: number, userId: number): StartOutcome {
  const found = findOwnTorrent(deps.jobs, jobId, userId);
  if (found.kind !== "found") return found;
  const job = found.job;
  if (job.state !== "estimated") return FINAL_STATES.has(job.state) ? { kind: "expired", why: "finished", closedNow: false } : { kind: "already-started" };
  if ((deps.now ?? Date.now)() - job.createdAt > deps.cardTtlMs) {
    const closedNow = deps.jobs.transitionIf(jobId, "estimated", "cancelled", { detail: "card expired" });
    return { kind: "expired", why: "too-old", closedNow };
  }
  // Spending and running droplets may have changed since the card was shown. The check and the move out of
  // "estimated" are one transaction: of two presses only one starts the job, and of ten Starts only those that fit.
  const admission = deps.quoter.admit(jobId, userId, job.data.estimateUsd ?? null);
  if (admission.kind === "blocked") return { kind: "blocked", reason: admission.reason };
  if (admission.kind === "not-waiting") return { kind: "already-started" };
  return { kind: "started" };
}

/** The generic cancel's outcome, with the torrent's name for the cancelled card. */
export type CardCancelOutcome = { kind: "not-yours" } | { kind: "invalid" } | (CancelOutcome & { name: string | null });

/**
 * Cancel pressed on job `jobId`'s card by `userId`: a card not yet started is cancelled; a running job is stopped in
 * the background (`stopping`, its runner reports the end through the progress message).
 */
export async function cancelTorrentFromCard(
  deps: Pick<TorrentUseCaseDeps, "jobs" | "canceller">,
  jobId: number,
  userId: number,
): Promise<CardCancelOutcome> {
  const found = findOwnTorrent(deps.jobs, jobId, userId);
  if (found.kind !== "found") return found;
  const outcome = await deps.canceller.cancel(jobId, userId, { via: "the card", wait: false });
  return { ...outcome, name: found.job.input.name };
}

/** Continue pressed on a job waiting because its real size breaks a cap (metadata-check.ts). */
export type ContinueOutcome = { kind: "continued" } | { kind: "not-waiting" } | { kind: "not-yours" } | { kind: "invalid" };

export function continueTorrent(
  deps: Pick<TorrentUseCaseDeps, "jobs"> & { runner: { answerSizeQuestion(jobId: number, answer: "continue"): boolean } },
  jobId: number,
  userId: number,
): ContinueOutcome {
  const found = findOwnTorrent(deps.jobs, jobId, userId);
  if (found.kind !== "found") return found;
  return deps.runner.answerSizeQuestion(jobId, "continue") ? { kind: "continued" } : { kind: "not-waiting" };
}

/** Only the user who sent the torrent may press its buttons, in whatever chat the card is. */
function findOwnTorrent(
  jobs: Pick<JobStore, "get">,
  jobId: number,
  userId: number,
): { kind: "found"; job: Job<TorrentJobInput, CardFacts> } | { kind: "invalid" } | { kind: "not-yours" } {
  const job = jobs.get<TorrentJobInput, CardFacts>(jobId);
  if (!job || job.kind !== "torrent") return { kind: "invalid" };
  if (job.ownerId !== userId) return { kind: "not-yours" };
  return { kind: "found", job };
}

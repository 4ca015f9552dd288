// What a user does with a torrent, told without any chat: ask for one (quote it, record the job and its estimate),
// press Start on its card, press Cancel on its card. The bot's torrent feature only translates updates and answers.
import type { CancelOutcome, JobCanceller } from "../cancel-job.js";
import { FINAL_STATES, type Job, type JobStore } from "../job-store.js";
import type { PickOutcome } from "./after-metadata.js";
import {
  applyPick,
  buildFileTree,
  decodePick,
  initialPickerState,
  pickerView,
  selectFileOption,
  selectedBytes,
  type PickAction,
  type PickerFile,
  type PickerState,
  type PickerView,
} from "./file-picker.js";
import type { TorrentJobData, TorrentJobInput } from "./torrent-job.js";
import { decodeSeedPolicy, encodeSeedPolicy, NO_SEEDING, seedingCost, seedPolicyOf, type SeedingCost, type SeedPolicy } from "./seeding-policy.js";
import { torrentStateReached } from "./torrent-states.js";
import type { TorrentQuote, TorrentQuoter } from "./torrent-quote.js";
import type { TorrentFileEntry, TorrentRequest } from "./torrent-request.js";

export interface TorrentUseCaseDeps {
  jobs: JobStore;
  quoter: Pick<TorrentQuoter, "quote" | "admit">;
  /** The generic cancel, with the torrent kind registered (torrentCancellation). */
  canceller: Pick<JobCanceller, "cancel">;
  /** A card's buttons stop working after this long. */
  cardTtlMs: number;
  now?: () => number;
  /** The owner's default seeding policy (/settings) and the per-job budget a ratio's seeding may cost up to. */
  seeding?: SeedingDefaults;
}

export interface SeedingDefaults {
  perJobBudgetUsd: number;
  defaultFor(ownerId: number): SeedPolicy;
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
  /** A .torrent of several files: the picker on its card (every file chosen at first). */
  picker: PickerView | null;
  /** The files chosen on the card (all of a .torrent's at first); null for a magnet. */
  chosenFiles: TorrentFileEntry[] | null;
  /** "Seed after download": the policy chosen on the card (the owner's default at first) and what it adds. */
  seed: { policy: SeedPolicy; cost: SeedingCost };
}

/** The facts Start re-checks, recorded with the job when its card is made. */
type CardFacts = Pick<TorrentJobData, "picker" | "torrentFiles" | "selectFiles" | "selectedBytes" | "seedPolicy" | "volume"> & {
  estimateUsd?: number | null;
  priceHourly?: number;
  /** What the seeding policy adds to the reservation: a number, or null for "up to the per-job budget" (a ratio). */
  seedingUsd?: number | null;
};

/** Quotes a torrent for `ownerId` and records it as a job waiting on its card ("estimated"), with its estimate. */
export async function requestTorrent(
  deps: Pick<TorrentUseCaseDeps, "jobs" | "quoter" | "seeding">,
  who: { ownerId: number; chatId: number },
  req: TorrentRequest,
): Promise<RequestedTorrent> {
  const quote = await deps.quoter.quote({ sizeBytes: req.sizeBytes, hasTorrentFile: Boolean(req.torrentFile) }, who.ownerId);
  // A .torrent names its files at once: its card carries the picker, every file chosen until the owner says otherwise.
  const files = req.torrentFile && req.files && req.files.length > 1 ? req.files.map((f): PickerFile => ({ index: f.index, path: f.path, size: f.sizeBytes })) : null;
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
  let picker: PickerView | null = null;
  if (files) {
    const tree = buildFileTree(files);
    const state = initialPickerState(tree);
    deps.jobs.patchData(job.id, { torrentFiles: files, picker: state, selectFiles: null, selectedBytes: selectedBytes(tree, state.selected) });
    picker = pickerView(tree, state);
  }
  const seed = recordSeeding(deps, job.id, deps.seeding?.defaultFor(who.ownerId) ?? NO_SEEDING, quote.priceHourly ?? 0);
  const base = { jobId: job.id, name: req.name, sizeBytes: req.sizeBytes, fileCount: req.files?.length ?? null, infoHash: req.infoHash };
  return { ...base, quote, picker, chosenFiles: req.files ?? null, seed };
}

/** Records a job's seeding policy and what it adds to its reservation, at the droplet's (and volume's) hourly price. */
function recordSeeding(
  deps: Pick<TorrentUseCaseDeps, "jobs" | "seeding">,
  jobId: number,
  policy: SeedPolicy,
  dropletHourly: number,
  volumeHourly = 0,
): { policy: SeedPolicy; cost: SeedingCost } {
  const cost = seedingCost(policy, { dropletHourly, volumeHourly, perJobBudgetUsd: deps.seeding?.perJobBudgetUsd ?? 0 });
  const seedingUsd = cost.kind === "exact" ? cost.usd : cost.kind === "up-to-budget" ? null : 0;
  deps.jobs.patchData(jobId, { seedPolicy: encodeSeedPolicy(policy), seedingUsd });
  return { policy, cost };
}

/** The estimate Start admits: the download's, plus the seeding's (null, the per-job budget, for a ratio). */
function admittedEstimate(data: CardFacts): number | null {
  if (data.seedingUsd === null) return null;
  const base = data.estimateUsd ?? null;
  return base === null ? null : base + (data.seedingUsd ?? 0);
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
  /** The card's picker has no file chosen. */
  | { kind: "nothing-chosen" }
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
  if (job.data.picker && job.data.picker.selected.length === 0) return { kind: "nothing-chosen" };
  // Spending and running droplets may have changed since the card was shown. The check and the move out of
  // "estimated" are one transaction: of two presses only one starts the job, and of ten Starts only those that fit.
  // The estimate is the chosen files' (the card's picker re-prices every change).
  const admission = deps.quoter.admit(jobId, userId, admittedEstimate(job.data));
  if (admission.kind === "blocked") return { kind: "blocked", reason: admission.reason };
  if (admission.kind === "not-waiting") return { kind: "already-started" };
  // The choice is made: the job takes `selectFiles` to aria2, and the picker takes no more presses.
  if (job.data.picker) deps.jobs.patchData(jobId, { picker: null });
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

/** A press on a file picker: on a .torrent's card before Start, or on a running job's card after the metadata. */
export type PickOnCardOutcome =
  /** The card's picker changed: render the card again. */
  | { kind: "card"; requested: RequestedTorrent }
  /** A running job's picker took the press (the runner shows the result on the card). */
  | { kind: "running"; outcome: PickOutcome }
  | { kind: "expired" }
  /** The job has ended. */
  | { kind: "finished" }
  | { kind: "not-waiting" }
  | { kind: "not-yours" }
  | { kind: "invalid" };

/** Press `code` (file-picker.ts's encoding) on job `jobId`'s picker, by `userId`. */
export async function pickOnCard(
  deps: Pick<TorrentUseCaseDeps, "jobs" | "quoter" | "cardTtlMs" | "now" | "seeding"> & { runner: { pickFiles(jobId: number, action: PickAction): Promise<PickOutcome> } },
  jobId: number,
  userId: number,
  code: string,
): Promise<PickOnCardOutcome> {
  const action = decodePick(code);
  const found = findOwnTorrent(deps.jobs, jobId, userId);
  if (found.kind !== "found") return found;
  if (!action) return { kind: "invalid" };
  const job = found.job;
  if (job.state !== "estimated") {
    if (FINAL_STATES.has(job.state)) return { kind: "finished" };
    return { kind: "running", outcome: await deps.runner.pickFiles(jobId, action) };
  }
  if ((deps.now ?? Date.now)() - job.createdAt > deps.cardTtlMs) return { kind: "expired" };
  const files = job.data.torrentFiles;
  if (!job.data.picker || !files || action.kind === "confirm") return { kind: "not-waiting" };
  return { kind: "card", requested: await repriceCard(deps, job, files, applyPick(buildFileTree(files), job.data.picker, action)) };
}

/** The card again for a new choice: the picker's state, the chosen size, and the estimate Start will admit. */
async function repriceCard(
  deps: Pick<TorrentUseCaseDeps, "jobs" | "quoter" | "seeding">,
  job: Job<TorrentJobInput, CardFacts>,
  files: PickerFile[],
  state: PickerState,
): Promise<RequestedTorrent> {
  const tree = buildFileTree(files);
  const bytes = selectedBytes(tree, state.selected);
  const quote = await deps.quoter.quote({ sizeBytes: bytes, hasTorrentFile: true }, job.ownerId);
  deps.jobs.patchData(job.id, {
    picker: state,
    selectFiles: selectFileOption(tree, state.selected),
    selectedBytes: bytes,
    size: quote.size,
    region: quote.region,
    priceHourly: quote.priceHourly,
    estimateUsd: quote.usd,
    estimateSeconds: quote.seconds,
  });
  const chosen = new Set(state.selected);
  const seed = recordSeeding(deps, job.id, seedPolicyOf(job.data.seedPolicy), quote.priceHourly ?? 0);
  return {
    seed,
    jobId: job.id,
    quote,
    name: job.input.name,
    sizeBytes: tree.files.reduce((n, f) => n + f.size, 0),
    fileCount: files.length,
    infoHash: job.input.infoHash,
    picker: pickerView(tree, state),
    chosenFiles: files.filter((f) => chosen.has(f.index)).map((f) => ({ index: f.index, path: f.path, sizeBytes: f.size })),
  };
}

/** A press of "Seed after download" (a policy) or "Stop seeding" on a job's card. */
export type SeedChoiceOutcome =
  /** The card before Start changed: render it again. */
  | { kind: "card"; requested: RequestedTorrent }
  /** A running job takes the new policy (aria2 is told if it runs). */
  | { kind: "changed"; policy: SeedPolicy }
  /** aria2 already has every byte: only "Stop seeding" is left. */
  | { kind: "too-late" }
  | { kind: "stopping" }
  | { kind: "not-seeding" }
  | { kind: "expired" }
  | { kind: "finished" }
  | { kind: "not-yours" }
  | { kind: "invalid" };

export interface SeedingRunner {
  applySeedPolicy(jobId: number): Promise<void>;
  stopSeeding(jobId: number): boolean;
}

/**
 * `code` (seeding-policy.ts) pressed on job `jobId`'s card by `userId`: before Start it re-prices the card with the
 * seeding's cost; on a running job it is recorded (the reservation with it) and given to aria2, until aria2 has every
 * byte. Changing how long to seed once aria2 seeds would make aria2 restart the download (aria2's changeOption), so
 * from then on the card offers "Stop seeding" only.
 */
export async function chooseSeeding(
  deps: Pick<TorrentUseCaseDeps, "jobs" | "quoter" | "cardTtlMs" | "now" | "seeding"> & { runner: SeedingRunner },
  jobId: number,
  userId: number,
  code: string,
): Promise<SeedChoiceOutcome> {
  const policy = decodeSeedPolicy(code);
  const found = findOwnTorrent(deps.jobs, jobId, userId);
  if (found.kind !== "found") return found;
  if (!policy) return { kind: "invalid" };
  const job = found.job;
  if (FINAL_STATES.has(job.state)) return { kind: "finished" };
  if (job.state === "estimated") {
    if ((deps.now ?? Date.now)() - job.createdAt > deps.cardTtlMs) return { kind: "expired" };
    deps.jobs.patchData(jobId, { seedPolicy: encodeSeedPolicy(policy) });
    return { kind: "card", requested: await cardAgain(deps, deps.jobs.get<TorrentJobInput, CardFacts>(jobId)!) };
  }
  if (torrentStateReached(job.state, "downloaded")) return { kind: "too-late" };
  recordSeeding(deps, jobId, policy, job.data.priceHourly ?? 0, job.data.volume?.priceHourly ?? 0);
  await deps.runner.applySeedPolicy(jobId);
  return { kind: "changed", policy };
}

/** "Stop seeding" on a job whose files are home: its droplet is destroyed now and the job ends done. */
export function stopSeeding(deps: Pick<TorrentUseCaseDeps, "jobs"> & { runner: SeedingRunner }, jobId: number, userId: number): SeedChoiceOutcome {
  const found = findOwnTorrent(deps.jobs, jobId, userId);
  if (found.kind !== "found") return found;
  if (FINAL_STATES.has(found.job.state)) return { kind: "finished" };
  return deps.runner.stopSeeding(jobId) ? { kind: "stopping" } : { kind: "not-seeding" };
}

/** The card before Start again, for its current facts (a choice of files, the seeding), re-quoted. */
async function cardAgain(deps: Pick<TorrentUseCaseDeps, "jobs" | "quoter" | "seeding">, job: Job<TorrentJobInput, CardFacts>): Promise<RequestedTorrent> {
  const files = job.data.torrentFiles;
  if (files && job.data.picker) return repriceCard(deps, job, files, job.data.picker);
  const quote = await deps.quoter.quote({ sizeBytes: job.input.sizeBytes, hasTorrentFile: Boolean(job.input.torrentFile) }, job.ownerId);
  deps.jobs.patchData(job.id, { size: quote.size, region: quote.region, priceHourly: quote.priceHourly, estimateUsd: quote.usd, estimateSeconds: quote.seconds });
  const seed = recordSeeding(deps, job.id, seedPolicyOf(job.data.seedPolicy), quote.priceHourly ?? 0);
  const single = job.input.torrentFile && job.input.sizeBytes !== null ? [{ index: 1, path: job.input.name ?? "", sizeBytes: job.input.sizeBytes }] : null;
  const { input } = job;
  return { jobId: job.id, quote, name: input.name, sizeBytes: input.sizeBytes, fileCount: single ? 1 : null, infoHash: input.infoHash, picker: null, chosenFiles: single, seed };
}

// What happens once a magnet's metadata is in and aria2 holds the download: the card learns the real name, size and
// file count with a new estimate; a torrent of several files waits (bounded) for its owner to choose which files to
// fetch, unless their /settings say "download all"; the chosen size is checked against the money caps; the choice
// goes back to aria2. The picker's state is in the job's data, so a restart shows the same choice again.
import type { Logger } from "../../shared/logger.js";
import { DEFAULT_FILE_CHOICE, type FileChoiceSettings } from "../user-settings.js";
import {
  applyPick,
  buildFileTree,
  initialPickerState,
  pickerView,
  selectFileOption,
  selectedBytes,
  type FileTree,
  type PickAction,
  type PickerFile,
  type PickerState,
  type PickerView,
} from "./file-picker.js";
import { settleRealSize, type SizeCheckDeps, type SizeQuestion } from "./metadata-check.js";
import { JobCancelled, type TorrentJobData, type TorrentJobInput } from "./torrent-job-model.js";
import type { TorrentMetadata } from "./torrent-ports.js";

/** A user's standing choices about file selection (/settings, stored by UserSettings). */
export type FilePreferences = FileChoiceSettings;
export const DEFAULT_FILE_PREFERENCES: FilePreferences = DEFAULT_FILE_CHOICE;

/** A cost estimate for a number of bytes on the job's droplet (from the quoter; null when it cannot price). */
export type SelectionEstimator = (ownerId: number, bytes: number) => Promise<{ usd: number | null; seconds: number | null } | null>;

/** What the card shows once the metadata is in. */
export interface TorrentSummary {
  name: string | null;
  totalBytes: number;
  fileCount: number;
  /** The estimate for everything, or (once chosen) for the chosen files. */
  estimateUsd: number | null;
  estimateSeconds: number | null;
  /** Set once files are chosen: how many and how big. */
  chosen?: { count: number; bytes: number } | null;
}

/** The picker as the card shows it while the job waits. */
export interface PickerShown {
  view: PickerView;
  /** The estimate for the current selection. */
  estimateUsd: number | null;
  estimateSeconds: number | null;
  /** When an unanswered picker follows `onTimeout` (ms since epoch). */
  deadline: number;
  onTimeout: FilePreferences["onPickerTimeout"];
}

/** What aria2 is told: `select-file` (null: every file), and the chosen size. */
export interface FileChoice {
  selectFiles: string | null;
  bytes: number;
}

export type PickOutcome =
  | { kind: "changed" }
  | { kind: "confirmed"; count: number; bytes: number }
  /** Confirm with nothing chosen: the picker stays. */
  | { kind: "empty" }
  | { kind: "not-waiting" };

interface OpenPicker {
  press(action: PickAction): Promise<PickOutcome>;
}

/** Jobs whose picker is open, and where their owner's presses go. */
export class FilePickers {
  private readonly open = new Map<number, OpenPicker>();

  press(jobId: number, action: PickAction): Promise<PickOutcome> {
    return this.open.get(jobId)?.press(action) ?? Promise.resolve({ kind: "not-waiting" });
  }

  isOpen(jobId: number): boolean {
    return this.open.has(jobId);
  }

  /**
   * Holds job `jobId` until its owner confirms a non-empty selection ("chosen") or `timeoutMs` passes without a press
   * ("timeout"); every press moves the deadline. Rejects when `signal` aborts (Cancel, shutdown, the budget).
   */
  wait(
    jobId: number,
    o: { timeoutMs: number; now: () => number; signal: AbortSignal; onPress(action: PickAction): Promise<PickOutcome>; onDeadline(deadline: number): void },
  ): Promise<"chosen" | "timeout"> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const end = () => {
        clearTimeout(timer);
        o.signal.removeEventListener("abort", onAbort);
        this.open.delete(jobId);
      };
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => (end(), resolve("timeout")), o.timeoutMs);
        o.onDeadline(o.now() + o.timeoutMs);
      };
      const onAbort = () => (end(), reject(o.signal.reason as Error));
      if (o.signal.aborted) return onAbort();
      o.signal.addEventListener("abort", onAbort, { once: true });
      this.open.set(jobId, {
        press: async (action) => {
          // Any press but Confirm gives the owner the full time again, and the card shows the new deadline.
          if (action.kind !== "confirm") arm();
          const outcome = await o.onPress(action);
          if (outcome.kind === "confirmed" && this.open.has(jobId)) {
            end();
            resolve("chosen");
          }
          return outcome;
        },
      });
      arm();
    });
  }
}

export interface MetadataDeps {
  sizes: SizeCheckDeps;
  pickers: FilePickers;
  pickerTimeoutMs: number;
  preferences: (ownerId: number) => FilePreferences;
  estimate?: SelectionEstimator;
}

/** aria2 lists BEP 47 padding files as files (it does not know the extension): they are never worth choosing. */
const PADDING = /(^|\/)\.pad\/\d+$/;

/**
 * The single step after a magnet's metadata (aria2 holding the download): returns which files to fetch. Throws to end
 * the job (Cancel, the picker's default is cancel, a size question unanswered).
 */
export async function settleMetadata(
  deps: MetadataDeps,
  ctx: {
    jobId: number;
    meta: TorrentMetadata;
    /** Puts the summary, the picker or a size question on the job's card. */
    show(extra: { summary: TorrentSummary; picker?: PickerShown; question?: SizeQuestion }): void;
    abort: AbortController;
    log: Logger;
  },
): Promise<FileChoice> {
  const { jobs } = deps.sizes;
  const { jobId, meta } = ctx;
  const job = jobs.get<TorrentJobInput, TorrentJobData>(jobId)!;
  const files: PickerFile[] = meta.files.filter((f) => !PADDING.test(f.path)).map((f) => ({ index: f.index, path: f.path, size: f.size }));
  const tree = buildFileTree(files);
  const totalBytes = files.reduce((n, f) => n + f.size, 0);
  jobs.patchData(jobId, { name: meta.name, realSizeBytes: totalBytes, torrentFiles: files });
  const whole = await estimateOf(deps, job.ownerId, totalBytes, ctx.log);
  const summary: TorrentSummary = { name: meta.name, totalBytes, fileCount: files.length, estimateUsd: whole?.usd ?? null, estimateSeconds: whole?.seconds ?? null };
  ctx.show({ summary });

  const selected = await chooseFiles(deps, { ...ctx, tree, summary, ownerId: job.ownerId });
  const bytes = selectedBytes(tree, selected);
  const choice: FileChoice = { selectFiles: selectFileOption(tree, selected), bytes };
  jobs.patchData(jobId, { picker: null, selectFiles: choice.selectFiles, selectedBytes: bytes });
  if (choice.selectFiles !== null) ctx.log.info({ chosen: selected.length, of: files.length, bytes }, "files chosen");
  const chosenFiles = files.filter((f) => selected.includes(f.index));
  const chosenSummary: TorrentSummary = { ...summary, chosen: choice.selectFiles === null ? null : { count: chosenFiles.length, bytes } };
  // The money caps are checked for what will actually be fetched.
  await settleRealSize(deps.sizes, {
    jobId,
    meta: { name: meta.name, totalBytes: bytes, files: chosenFiles },
    abort: ctx.abort,
    log: ctx.log,
    show: (question) => ctx.show({ summary: chosenSummary, question }),
    chosenOf: choice.selectFiles === null ? null : files.length,
    onChecked: (check) => ctx.show({ summary: { ...chosenSummary, estimateUsd: check.estimateUsd, estimateSeconds: check.estimateSeconds } }),
  });
  return choice;
}

/** The files to fetch: chosen before a restart, every file, or what the owner picks (or their default on timeout). */
async function chooseFiles(
  deps: MetadataDeps,
  ctx: { jobId: number; ownerId: number; tree: FileTree; summary: TorrentSummary; show(extra: { summary: TorrentSummary; picker?: PickerShown }): void; abort: AbortController; log: Logger },
): Promise<number[]> {
  const { jobs, now } = deps.sizes;
  const { jobId, tree } = ctx;
  const every = initialPickerState(tree).selected;
  const data = jobs.get<TorrentJobInput, TorrentJobData>(jobId)!.data;
  // Chosen before a restart (aria2 was still holding the download): the same choice again.
  if (data.selectFiles !== undefined) return data.selectFiles === null ? every : data.selectFiles.split(",").map(Number);
  const prefs = deps.preferences(ctx.ownerId);
  if (tree.files.length < 2 || prefs.afterMetadata === "all") return every;

  // A picker open when the process stopped comes back with the same selection and a fresh deadline.
  let state: PickerState = data.picker ?? initialPickerState(tree);
  let deadline = 0;
  let shownEstimate: { usd: number | null; seconds: number | null } | null = null;
  const show = async (refreshEstimate: boolean) => {
    if (refreshEstimate || shownEstimate === null) shownEstimate = (await estimateOf(deps, ctx.ownerId, selectedBytes(tree, state.selected), ctx.log)) ?? { usd: null, seconds: null };
    const picker: PickerShown = { view: pickerView(tree, state), estimateUsd: shownEstimate.usd, estimateSeconds: shownEstimate.seconds, deadline, onTimeout: prefs.onPickerTimeout };
    ctx.show({ summary: ctx.summary, picker });
  };
  ctx.log.info({ files: tree.files.length, timeoutMs: deps.pickerTimeoutMs }, "waiting for the owner to choose files");
  // wait() sets the first deadline before it returns, so the first showing can say it.
  const waiting = deps.pickers.wait(jobId, {
    timeoutMs: deps.pickerTimeoutMs,
    now,
    signal: ctx.abort.signal,
    onDeadline: (d) => {
      deadline = d;
      jobs.patchData(jobId, { picker: state, pickerDeadline: d });
    },
    onPress: async (action) => {
      const next = applyPick(tree, state, action);
      if (action.kind === "confirm") {
        if (next.selected.length === 0) return { kind: "empty" };
        return { kind: "confirmed", count: next.selected.length, bytes: selectedBytes(tree, next.selected) };
      }
      const selectionChanged = next.selected.join() !== state.selected.join();
      state = next;
      jobs.patchData(jobId, { picker: state });
      await show(selectionChanged);
      return { kind: "changed" };
    },
  });
  // An abort while the first showing is priced is answered below, when `waiting` is awaited.
  waiting.catch(() => undefined);
  await show(true);
  const answer = await waiting;
  if (answer === "chosen") return state.selected;
  if (prefs.onPickerTimeout === "all") {
    ctx.log.info("no files chosen in time: fetching every file, as the owner's settings say");
    return every;
  }
  jobs.patchData(jobId, { cancelRequested: true });
  ctx.abort.abort(new JobCancelled(`no files were chosen within ${describeWait(deps.pickerTimeoutMs)}, and your /settings say to cancel then`));
  throw ctx.abort.signal.reason;
}

/** A picker's figures are a help, not a gate: a quoter that cannot price now leaves them out rather than failing the job. */
async function estimateOf(deps: MetadataDeps, ownerId: number, bytes: number, log: Logger): Promise<{ usd: number | null; seconds: number | null } | null> {
  try {
    return (await deps.estimate?.(ownerId, bytes)) ?? null;
  } catch (err) {
    log.warn({ err }, "could not price the selection");
    return null;
  }
}

/** "3 min", or "20 s" for the short waits of tests. */
export function describeWait(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}

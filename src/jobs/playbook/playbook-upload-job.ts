// The "analyse an upload" use-case: a downloaded playbook or project becomes a playbook job, analysed (its data is
// what the run step reads later) or failed with the refusal the user can act on. No Telegram here.
import { AnalysisInputError } from "../../analysis/index.js";
import { RoleFetchError, type RoleStager } from "../../venv/role-closure.js";
import type { JobStore } from "../job-store.js";
import { analyseUpload, type UploadAnalysis } from "./analyse-upload.js";
import { UnpackError } from "./unpack-project.js";

/** The playbook job's input, as the job row stores it. */
export interface PlaybookJobInput {
  fileName: string;
  /** Lets a later step (running it) fetch the same upload again; temp copies are never kept. */
  fileId: string;
  fileSize: number | null;
  /** The entry asked for in the caption, if any. */
  entry: string | null;
}

/** The controller's Python version, or why it is unknown (the venv's name hashes its minor version). */
export type ControllerPython = () => Promise<string | { error: string }>;

export interface PlaybookUploadDeps {
  jobs: Pick<JobStore, "create" | "transition">;
  controllerPython: ControllerPython;
  /** Fetches the roles a project installs (ansible-galaxy on the bot's host) so what they use is found too. */
  roleStager: RoleStager | null;
  /** Where uploads are unpacked (default: the OS temp dir). */
  tmpDir?: string;
}

export interface PlaybookUpload {
  ownerId: number;
  chatId: number;
  input: PlaybookJobInput;
  bytes: Buffer;
}

export type PlaybookUploadOutcome =
  | { kind: "analysed"; jobId: number; analysis: UploadAnalysis }
  /** The upload or the project was refused; the job is failed with `error.message`. */
  | { kind: "refused"; jobId: number; error: UnpackError | AnalysisInputError | RoleFetchError };

/**
 * Analyses the upload, then records it as a job moved at once to `analysed` or `failed`. Any other error is a bug:
 * it is thrown and no job is recorded.
 */
export async function analysePlaybookUpload(
  deps: PlaybookUploadDeps,
  upload: PlaybookUpload,
  onProgress?: (text: string) => void,
): Promise<PlaybookUploadOutcome> {
  const { input } = upload;
  let analysis: UploadAnalysis;
  try {
    analysis = await analyseUpload(upload.bytes, input.fileName, {
      ...(input.entry ? { entry: input.entry } : {}),
      pythonVersion: await deps.controllerPython(),
      roleStager: deps.roleStager,
      ...(onProgress ? { onProgress } : {}),
      ...(deps.tmpDir ? { tmpDir: deps.tmpDir } : {}),
    });
  } catch (err) {
    if (!(err instanceof UnpackError || err instanceof AnalysisInputError || err instanceof RoleFetchError)) throw err;
    const jobId = recordJob(deps, upload);
    deps.jobs.transition(jobId, "failed", { error: err.message });
    return { kind: "refused", jobId, error: err };
  }
  const jobId = recordJob(deps, upload);
  deps.jobs.transition(jobId, "analysed", { data: jobData(analysis) });
  return { kind: "analysed", jobId, analysis };
}

function recordJob(deps: PlaybookUploadDeps, upload: PlaybookUpload): number {
  return deps.jobs.create({ kind: "playbook", ownerId: upload.ownerId, chatId: upload.chatId, state: "received", input: upload.input }).id;
}

/**
 * Probes the controller's Python once per process. A failure is not remembered: the next upload probes again, and
 * meanwhile gets the reason instead of a version.
 */
export function cachedControllerPython(probe: () => Promise<string>): ControllerPython {
  let python: Promise<string> | null = null;
  return async () => {
    python ??= probe();
    try {
      return await python;
    } catch (err) {
      python = null;
      return { error: `the controller's Python version is unknown (${(err as Error).message})` };
    }
  };
}

/** What the job row keeps of an analysis: enough for /jobs and for the run step, not the whole report. */
export function jobData(a: UploadAnalysis): Record<string, unknown> {
  const r = a.result;
  return {
    entry: r.entry,
    dependencySet: r.dependencySet,
    venv: "name" in a.venv ? a.venv.name : null,
    ...("name" in a.venv ? { venvPythonVersion: a.venv.pythonVersion } : { venvError: a.venv.error }),
    varsPrompt: r.varsPrompt,
    counts: {
      files: r.stats.files,
      tasks: r.stats.tasks,
      collections: r.collections.length,
      roles: r.roles.length,
      pythonController: r.python.controller.length,
      pythonTarget: r.python.target.length,
      varsPrompt: r.varsPrompt.length,
      unresolved: r.unresolved.length,
      warnings: r.warnings.length,
    },
    project: a.project,
  };
}

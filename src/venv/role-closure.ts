// The dependency closure of a project: analyse, fetch the Galaxy/git/URL roles it needs into a staging folder,
// analyse their content too, and repeat until nothing new is needed. (Stub: the fixed point lands next.)
import { analyzeProject, type AnalysisResult, type AnalyzeOptions } from "../analysis/index.js";
import type { NormalisedRole } from "./venv-spec.js";

/** Installs roles (and the roles they depend on) into a folder on the bot's own machine. */
export interface RoleStager {
  /** Throws an Error whose message names each role that could not be fetched and why. */
  stage(roles: NormalisedRole[], dir: string, signal?: AbortSignal): Promise<void>;
}

export interface ClosureOptions extends AnalyzeOptions {
  /** null: roles are not fetched (their content stays unknown; the result says so in a warning). */
  stager: RoleStager | null;
  signal?: AbortSignal;
  onProgress?(text: string): void;
}

/** Analyses a project and the roles it installs, to a fixed point. Throws AnalysisInputError for bad input. */
export async function analyseClosure(projectDir: string, opts: ClosureOptions): Promise<AnalysisResult> {
  return analyzeProject(projectDir, opts.entry ? { entry: opts.entry } : {});
}

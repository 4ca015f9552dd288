// The use-case behind `npm run venv`: analyse a project (and the roles it installs), build or reuse its venv on the
// bot's machine or a registered host, and report what the venv holds and how to run the playbook with it.
// Knows no process: arguments in, {stdout, stderr, exitCode} out; the entry (src/cli/venv.ts) wires the rest.
import { parseArgs } from "node:util";
import { AnalysisInputError, type AnalysisResult } from "../analysis/index.js";
import { CommandFailedError, HostConnectError, type Host } from "../hosts/host.js";
import { VenvError } from "./host-probe.js";
import { analyseClosure, type RoleStager } from "./role-closure.js";
import { readVenvContents } from "./venv-contents.js";
import type { EnsuredVenv, EnsureOptions } from "./venv-manager.js";
import { renderVenvReport, venvReport } from "./venv-report.js";
import { InvalidVenvSpecError, venvSpecFromDependencySet, type NormalisedVenvSpec, type VenvSpec } from "./venv-spec.js";

export const VENV_USAGE = "usage: npm run venv -- <playbook.yml | project-dir> [--entry FILE] [--host NAME] [--json]";

/** Bad input found outside the analysis (an unknown host, an invalid setting): exit 2, like a bad playbook. */
export class VenvCommandInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VenvCommandInputError";
  }
}

/** Where the venv goes: the host, what builds venvs on it, and how to let go of both. */
export interface VenvTarget {
  host: Host;
  venvs: { ensure(host: Host, spec: VenvSpec, opts?: EnsureOptions): Promise<EnsuredVenv> };
  /** The bot's own machine: the project is here too, so the command can cd into it. */
  local: boolean;
  close(): Promise<void>;
}

export interface VenvCommandDeps {
  /** The bot's own machine (null) or the registered host of that name; throws VenvCommandInputError when there is none. */
  openTarget(hostName: string | null): Promise<VenvTarget>;
  /**
   * What fetches the roles a project installs so their content is analysed too (null: their content stays unknown).
   * Called once, after the arguments are read; a VenvCommandInputError from it (a bad setting) is bad input.
   */
  roleStager(): RoleStager | null;
  /** Each progress line as it happens (the entry writes them to stderr). */
  progress?(line: string): void;
  signal?: AbortSignal;
}

export interface VenvCommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

interface VenvArgs {
  project: string;
  entry?: string;
  host: string | null;
  json: boolean;
}

/** Exit codes: 0 done; 1 the host or a source failed (worth retrying); 2 bad input or nothing can satisfy it; 130 cancelled. */
export async function runVenvCommand(argv: string[], deps: VenvCommandDeps): Promise<VenvCommandResult> {
  const args = parseVenvArgs(argv);
  if ("exit" in args) return args.exit;
  const progress = deps.progress ?? (() => {});
  let target: VenvTarget | null = null;
  try {
    progress(`analysing ${args.project}`);
    const stager = deps.roleStager();
    const analysis = await analyseClosure(args.project, { ...(args.entry ? { entry: args.entry } : {}), stager, signal: deps.signal, onProgress: progress });
    const spec = venvSpecFromDependencySet(analysis.dependencySet);
    target = await deps.openTarget(args.host);
    const venv = await target.venvs.ensure(target.host, spec, { onProgress: (p) => progress(p.message), signal: deps.signal });
    return { stdout: await report(target, venv, spec, analysis, args.json), stderr: "", exitCode: 0 };
  } catch (err) {
    return failure(err, deps.signal);
  } finally {
    await target?.close().catch(() => {});
  }
}

async function report(target: VenvTarget, venv: EnsuredVenv, spec: NormalisedVenvSpec, analysis: AnalysisResult, json: boolean): Promise<string> {
  const contents = await readVenvContents(target.host, venv, spec);
  const r = venvReport(venv, { label: target.host.label, local: target.local }, contents, analysis);
  return json ? `${JSON.stringify(r, null, 2)}\n` : renderVenvReport(r, target.local);
}

function parseVenvArgs(argv: string[]): VenvArgs | { exit: VenvCommandResult } {
  const usage = (stderr: string, exitCode = 2) => ({ exit: { stdout: exitCode === 0 ? `${VENV_USAGE}\n` : "", stderr, exitCode } });
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { entry: { type: "string" }, host: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    });
  } catch (err) {
    return usage(`error: ${(err as Error).message}\n${VENV_USAGE}\n`);
  }
  if (parsed.values.help) return usage("", 0);
  const [project, ...extra] = parsed.positionals;
  if (!project || extra.length > 0) return usage(`error: ${project ? `one project at a time (also got ${extra.join(" ")})` : "which playbook or project?"}\n${VENV_USAGE}\n`);
  if (parsed.values.host !== undefined && parsed.values.host.trim() === "") return usage(`error: --host needs a host name\n${VENV_USAGE}\n`);
  return { project, entry: parsed.values.entry, host: parsed.values.host ?? null, json: parsed.values.json ?? false };
}

function failure(err: unknown, signal: AbortSignal | undefined): VenvCommandResult {
  const message = err instanceof Error ? err.message : String(err);
  if (signal?.aborted) return { stdout: "", stderr: `cancelled: ${message}\n`, exitCode: 130 };
  const badInput =
    err instanceof AnalysisInputError || err instanceof InvalidVenvSpecError || err instanceof VenvCommandInputError || (err instanceof VenvError && err.unsatisfiable);
  if (badInput) return { stdout: "", stderr: `error: ${message}\n`, exitCode: 2 };
  if (err instanceof VenvError || err instanceof HostConnectError || err instanceof CommandFailedError) return { stdout: "", stderr: `error: ${message}\n`, exitCode: 1 };
  throw err;
}

// Runs an approved playbook job on its chosen host: venv (ensured and marked in use), the upload fetched again and
// shipped, ansible-playbook with the answers, progress from the event stream; always cleans up. No Telegram here.
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "../../shared/logger.js";
import { describeFailedRun } from "../../shared/ansible-events.js";
import { CappedText } from "../../shared/capped-text.js";
import { createRedactor, redactCutEdges, redactStrings } from "../../shared/redact.js";
import type { CancellableKind } from "../cancel-job.js";
import type { JobStore } from "../job-store.js";
import { run, type Host } from "../../hosts/host.js";
import type { VenvManager, EnsuredVenv } from "../../venv/venv-manager.js";
import type { VenvProgress } from "../../venv/venv-builder.js";
import { venvSpecFromDependencySet } from "../../venv/venv-spec.js";
import { projectSearchPaths, type DependencySet } from "../../analysis/index.js";
import { unpackProject, type UnpackedProject } from "./unpack-project.js";
import { applyEvent, emptyProgress, type RunProgress } from "./run-progress.js";
import { findInventory, packProject, prepareWorkDir, removeWorkDir, runAnsible, type RemoteWorkDir } from "./run-remote.js";

export type RunEvent =
  | { kind: "step"; jobId: number; text: string }
  | { kind: "progress"; jobId: number; progress: RunProgress }
  | { kind: "finished"; jobId: number; state: "done" | "failed" | "cancelled"; progress: RunProgress; log: string; error: string | null; used: UsedContent | null };

/** What the run had at hand: the venv and the roles and collections installed in it (dependencies included). */
export interface UsedContent {
  venv: string;
  collections: { name: string; version: string }[];
  roles: { name: string; version: string | null }[];
}

function usedContent(venv: EnsuredVenv | null): UsedContent | null {
  if (!venv) return null;
  const byName = <T>(o: Record<string, T>) => Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    venv: venv.name,
    collections: byName(venv.installed?.collections ?? {}).map(([name, version]) => ({ name, version })),
    roles: byName(venv.installed?.roles ?? {}).map(([name, version]) => ({ name, version })),
  };
}

/** The job row's view of a run: what the analysis and the dialogue stored. */
export interface PlaybookRunJobData {
  entry: string;
  dependencySet: DependencySet;
  run?: { host: string };
}

export interface PlaybookRunnerDeps {
  jobs: Pick<JobStore, "get" | "transition" | "transitionIf" | "patchData" | "listUnfinished">;
  connectHost(name: string): Promise<Host>;
  venvs: Pick<VenvManager, "ensure">;
  /** The upload again, by Telegram file id (no copy of it is kept between analysis and run). */
  fetchUpload(fileId: string): Promise<Buffer>;
  /** playbooks/callback_plugins/dropship_events.py */
  callbackPluginFile: string;
  logger: Logger;
  onEvent(e: RunEvent): void;
  /** Longest an ansible-playbook run may take (default 2 h). */
  runTimeoutMs?: number;
  tmpDir?: string;
}

export { REDACTED, MIN_REDACTED_LENGTH } from "../../shared/redact.js";

/**
 * Replaces every secret value in `text` (longest first, so a secret containing another is hidden whole) and
 * anything shaped like a token or a private key: the logs' redaction (src/shared/redact.ts).
 */
export function redact(text: string, secrets: string[]): string {
  return createRedactor({ values: secrets })(text);
}

/** The log document keeps the start and the end of ansible's output (a run printing 50 MB keeps 2 MiB). */
export const RUN_LOG_LIMITS = { headChars: 512 * 1024, tailChars: 1536 * 1024 };

/** The kept log, redacted, with any piece of a secret a cut went through hidden too. */
function redactedLog(log: CappedText, secrets: string[]): string {
  const r = createRedactor({ values: secrets });
  return r(log.text((head, tail) => ({ head: redactCutEdges(head, secrets, "end"), tail: redactCutEdges(tail, secrets, "start") })));
}

interface Running {
  abort: AbortController;
  done: Promise<void>;
}

export class PlaybookRunner {
  private readonly running = new Map<number, Running>();

  constructor(private readonly deps: PlaybookRunnerDeps) {}

  isRunning(jobId: number): boolean {
    return this.running.has(jobId);
  }

  runningJobIds(): number[] {
    return [...this.running.keys()];
  }

  /**
   * Starts the run in the background. The job must be in `approved`. `vars` are the vars_prompt answers;
   * `secrets` the private ones among them, hidden in the log and in error messages.
   */
  start(jobId: number, vars: Record<string, string>, secrets: string[]): void {
    if (this.running.has(jobId)) throw new Error(`job ${jobId} is already running`);
    const abort = new AbortController();
    // execute() reports its own failures; anything escaping it is a bug, logged rather than crashing the bot.
    const done = this.execute(jobId, vars, secrets, abort.signal)
      .catch((err: unknown) => this.deps.logger.error({ err, job: jobId }, "playbook run crashed"))
      .finally(() => this.running.delete(jobId));
    this.running.set(jobId, { abort, done });
  }

  /** Kills the remote ansible (its whole process group) and waits for the cleanup; false if it was not running. */
  async cancel(jobId: number): Promise<boolean> {
    const r = this.running.get(jobId);
    if (!r) return false;
    r.abort.abort(new Error("cancelled by the user"));
    await r.done;
    return true;
  }

  /**
   * Call once at start: runs a previous process was doing died with it (their SSH session did). Marks them failed
   * and returns them so their owners can be told. Dialogue states (host_chosen, answered) are left: Run… resumes them.
   */
  failInterrupted(): { jobId: number; chatId: number; message: string }[] {
    const out: { jobId: number; chatId: number; message: string }[] = [];
    for (const job of this.deps.jobs.listUnfinished("playbook")) {
      if (!["approved", "venv_ready", "running"].includes(job.state) || this.running.has(job.id)) continue;
      const message = "interrupted: the bot restarted while this playbook ran; check the host, then send the playbook again";
      this.deps.jobs.transition(job.id, "failed", { error: message });
      out.push({ jobId: job.id, chatId: job.chatId, message });
    }
    return out;
  }

  /**
   * After failInterrupted(): removes the work directories those runs left on their hosts (the project and the
   * answers file, private answers included). A host that cannot be reached is logged; its /tmp is its own to clear.
   */
  async cleanUpInterrupted(jobIds: number[]): Promise<void> {
    // Read everything first: the cleanup runs in the background and must not touch the store later.
    const targets = jobIds.map((jobId) => ({ jobId, hostName: (this.deps.jobs.get(jobId)?.data as { run?: { host?: string } } | undefined)?.run?.host }));
    for (const { jobId, hostName } of targets) {
      if (!hostName) continue;
      let host: Host | null = null;
      try {
        host = await this.deps.connectHost(hostName);
        // No shell and no glob: find matches this job's mktemp names only.
        await run(host, ["find", "/tmp", "-maxdepth", "1", "-name", `dropship-run-${jobId}-*`, "-exec", "rm", "-rf", "{}", "+"]);
      } catch (err) {
        this.deps.logger.warn({ err, job: jobId, host: hostName }, "could not remove an interrupted run's work directory");
      } finally {
        await host?.close().catch(() => undefined);
      }
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.runningJobIds().map((id) => this.cancel(id)));
  }

  private async execute(jobId: number, vars: Record<string, string>, secrets: string[], signal: AbortSignal): Promise<void> {
    const d = this.deps;
    const log = new CappedText(RUN_LOG_LIMITS);
    let progress = emptyProgress();
    // Ansible renders variables into task names and messages: everything shown goes through the redaction.
    const redactor = createRedactor({ values: secrets });
    const step = (text: string) => d.onEvent({ kind: "step", jobId, text: redactor(text) });
    let host: Host | null = null;
    let venv: EnsuredVenv | null = null;
    let project: UnpackedProject | null = null;
    let work: RemoteWorkDir | null = null;
    let outcome: { state: "done" | "failed" | "cancelled"; error: string | null };
    try {
      const job = d.jobs.get<{ fileName: string; fileId: string }, PlaybookRunJobData>(jobId);
      if (!job || job.state !== "approved" || !job.data.run) throw new Error(`job ${jobId} is not approved to run`);
      step(`connecting to ${job.data.run.host}`);
      host = await d.connectHost(job.data.run.host);
      venv = await d.venvs.ensure(host, venvSpecFromDependencySet(job.data.dependencySet), {
        use: true,
        signal,
        onProgress: (p: VenvProgress) => step(`virtualenv: ${p.message}`),
      });
      d.jobs.transition(jobId, "venv_ready", { detail: `${venv.name}${venv.reused ? " (reused)" : " (built)"}`, data: { venvName: venv.name, venvPath: venv.path } });
      step("sending the project");
      project = await unpackProject(await d.fetchUpload(job.input.fileId), job.input.fileName, d.tmpDir ? { tmpDir: d.tmpDir } : {});
      const entry = project.playbook ?? job.data.entry;
      const inventory = findInventory(project.root);
      const searchPaths = projectSearchPaths(project.root);
      work = await prepareWorkDir(host, { jobId, tarball: await packProject(project.root), callbackPlugin: fs.readFileSync(d.callbackPluginFile), vars });
      signal.throwIfAborted();
      d.jobs.transition(jobId, "running", { detail: `ansible-playbook ${entry} on ${host.label}${inventory ? ` (inventory ${inventory})` : ""}` });
      step(`running ${entry}`);
      const result = await runAnsible(host, {
        work,
        entry,
        inventory,
        venvEnv: venv.env,
        searchPaths,
        signal,
        timeoutMs: d.runTimeoutMs ?? 2 * 3_600_000,
        onLog: (t) => log.push(t),
        onEvent: (e) => {
          progress = applyEvent(progress, e);
          d.onEvent({ kind: "progress", jobId, progress: redactStrings(progress, redactor) });
        },
      });
      outcome = result.code === 0 ? { state: "done", error: null } : { state: "failed", error: describeFailedRun(progress.firstFailure, { code: result.code, signal: result.signal, output: log.text() }) };
    } catch (err) {
      outcome = signal.aborted ? { state: "cancelled", error: null } : { state: "failed", error: (err as Error).message };
    } finally {
      if (host) await removeWorkDir(host, work);
      venv?.release();
      project?.remove();
      await host?.close().catch(() => undefined);
    }
    this.finish(jobId, outcome, redactStrings(progress, redactor), redactedLog(log, secrets), secrets, usedContent(venv));
  }

  private finish(
    jobId: number,
    outcome: { state: "done" | "failed" | "cancelled"; error: string | null },
    progress: RunProgress,
    log: string,
    secrets: string[],
    used: UsedContent | null,
  ): void {
    const error = outcome.error === null ? null : redact(outcome.error, secrets);
    const detail = outcome.state === "cancelled" ? "cancelled by the user; ansible was stopped" : undefined;
    try {
      this.deps.jobs.transition(jobId, outcome.state, { ...(error ? { error } : { detail }), data: { recap: progress.recap } });
    } catch (err) {
      this.deps.logger.error({ err, job_id: jobId }, "could not record the end of a playbook run");
    }
    this.deps.logger.info({ job_id: jobId, state: outcome.state }, "playbook run finished");
    this.deps.onEvent({ kind: "finished", jobId, state: outcome.state, progress, log, error, used });
  }
}

/** Where the callback plugin lives in this checkout. */
export function defaultCallbackPluginFile(playbooksDir: string): string {
  return path.join(playbooksDir, "callback_plugins", "dropship_events.py");
}

/** How the generic cancel (jobs/cancel-job.ts) stops playbook runs: only a running one can be stopped. */
export function playbookCancellation(runner: Pick<PlaybookRunner, "isRunning" | "cancel">): CancellableKind {
  return {
    waitingStates: [],
    isRunning: (jobId) => runner.isRunning(jobId),
    stop: async (jobId) => void (await runner.cancel(jobId)),
    describeStopped: () => "ansible-playbook was stopped and its work directory removed.",
  };
}

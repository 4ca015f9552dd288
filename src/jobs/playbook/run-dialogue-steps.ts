// The run dialogue's steps as the job store sees them: who may run a job, what the dialogue shows, and each answer
// recorded as a state (host_chosen → answered → approved, or back to analysed when the dialogue is left). Only hosts
// the job's owner may use (HostAccess) are offered, and the host is checked again when chosen and at Start. The
// conversation in src/bot only talks; every decision and every write is here. No Telegram here.
import type { VarsPrompt } from "../../analysis/index.js";
import type { HostAccess, HostRefusal } from "../../hosts/host-access.js";
import { hostAddressText } from "../../hosts/host-registry.js";
import type { JobStore } from "../job-store.js";
import type { PlaybookRunner } from "./playbook-runner.js";
import { RUNNABLE_STATES } from "./playbook-states.js";

export interface RunDialogueDeps {
  jobs: Pick<JobStore, "get" | "transition" | "transitionIf" | "patchData">;
  hosts: Pick<HostAccess, "usableBy" | "checkRun">;
  runner: Pick<PlaybookRunner, "start">;
}

/** What the dialogue asks about and shows on the approval card. */
export interface RunDialogueFacts {
  ownerId: number;
  fileName: string;
  entry: string;
  venv: string | null;
  collections: string[];
  /** Roles installed for the run, "name version" where a version is asked for. */
  roles: string[];
  packages: string[];
  questions: VarsPrompt[];
  /** The hosts the job's owner may run it on, in the order the host buttons list them. */
  hosts: HostChoice[];
}

/** A host offered in the dialogue; `id` tells it apart from a host added later under the same name. */
export interface HostChoice {
  name: string;
  address: string;
  id?: number;
}

export type ApproveOutcome =
  | { started: true }
  /** Already started, or the dialogue was left. */
  | { started: false; reason: "not-answered" }
  /** The host was removed or unshared since it was chosen: the job is back in analysed, nothing ran. */
  | { started: false; reason: "host-refused"; message: string };

export type RunPermission =
  | { allowed: true }
  /** No such playbook job, or someone else's: the same answer, so a stranger learns nothing. */
  | { allowed: false; reason: "not-owner" }
  | { allowed: false; reason: "not-runnable"; state: string };

/** The job row's view of the analysis, as jobData() in playbook-upload-job.ts wrote it. */
interface AnalysedJobData {
  entry: string;
  venv?: string | null;
  dependencySet: { collections: { name: string }[]; python: { controller: string[] }; roles?: { name: string; version?: string }[] };
  varsPrompt?: VarsPrompt[];
  run?: { host: string; hostId?: number };
}

const LEFT = { detail: "run dialogue left" };

export class RunDialogueSteps {
  constructor(private readonly deps: RunDialogueDeps) {}

  /** Only the job's owner may run it, and only before a run has started (Run… again restarts the dialogue). */
  mayRun(jobId: number, userId: number): RunPermission {
    const job = this.deps.jobs.get(jobId);
    if (!job || job.kind !== "playbook" || job.ownerId !== userId) return { allowed: false, reason: "not-owner" };
    if (!RUNNABLE_STATES.has(job.state)) return { allowed: false, reason: "not-runnable", state: job.state };
    return { allowed: true };
  }

  /** The facts the dialogue needs; null when the job cannot be run now. */
  facts(jobId: number): RunDialogueFacts | null {
    const job = this.deps.jobs.get<{ fileName: string }, AnalysedJobData>(jobId);
    if (!job || job.kind !== "playbook" || !RUNNABLE_STATES.has(job.state)) return null;
    return {
      ownerId: job.ownerId,
      fileName: job.input.fileName,
      entry: String(job.data.entry),
      venv: typeof job.data.venv === "string" ? job.data.venv : null,
      collections: job.data.dependencySet.collections.map((c) => c.name),
      // Jobs analysed before roles were recorded have none.
      roles: (job.data.dependencySet.roles ?? []).map((r) => (r.version ? `${r.name} ${r.version}` : r.name)),
      packages: job.data.dependencySet.python.controller,
      questions: this.questions(job.data),
      hosts: this.deps.hosts.usableBy(job.ownerId).map((h) => ({ name: h.name, address: hostAddressText(h), id: h.id })),
    };
  }

  /** The job's owner picked a host from the list: recorded if they may still use it, else the refusal to show. */
  chooseHost(jobId: number, host: Pick<HostChoice, "name" | "id">): { ok: true } | HostRefusal {
    const check = this.deps.hosts.checkRun(this.analysedJob(jobId).ownerId, host.name, host.id);
    if (!check.ok) return check;
    this.deps.jobs.transition(jobId, "host_chosen", { detail: host.name, data: { run: { host: host.name, hostId: check.host.id } } });
    return { ok: true };
  }

  /** Records which questions were answered (their names, never the values: those stay out of the job row). */
  recordAnswers(jobId: number): void {
    const job = this.analysedJob(jobId);
    const answered = this.questions(job.data).map((q) => q.name);
    this.deps.jobs.transition(jobId, "answered", { detail: answered.join(", ") || "no questions", data: { run: { ...job.data.run, answered } } });
  }

  /**
   * Start pressed: the host is checked again (it may have been unshared or removed since it was chosen), then
   * answered → approved once (a double press starts one run), then the runner with the answers; the private ones are
   * hidden in its log. `showProgress` attaches the progress message before the runner's first event. The check, the
   * move and the runner's lookup of the host happen in one synchronous stretch, so nothing changes in between.
   */
  approve(jobId: number, answers: Record<string, string>, progressMessageId: number, showProgress: () => void): ApproveOutcome {
    const job = this.analysedJob(jobId);
    if (job.state !== "answered") return { started: false, reason: "not-answered" };
    const check = this.deps.hosts.checkRun(job.ownerId, job.data.run?.host ?? "", job.data.run?.hostId);
    if (!check.ok) {
      this.deps.jobs.transitionIf(jobId, "answered", "analysed", { detail: `not started: ${check.message}` });
      return { started: false, reason: "host-refused", message: check.message };
    }
    if (!this.deps.jobs.transitionIf(jobId, "answered", "approved", { detail: "Start pressed" })) return { started: false, reason: "not-answered" };
    this.deps.jobs.patchData(jobId, { progressMessageId });
    const secrets = this.questions(job.data).flatMap((q) => (q.private && q.name in answers ? [answers[q.name]!] : []));
    showProgress();
    this.deps.runner.start(jobId, answers, secrets);
    return { started: true };
  }

  /** The dialogue was left before Start: nothing ran, so the job can be run later. */
  leave(jobId: number): void {
    this.deps.jobs.transitionIf(jobId, "host_chosen", "analysed", LEFT);
    this.deps.jobs.transitionIf(jobId, "answered", "analysed", LEFT);
  }

  private analysedJob(jobId: number) {
    const job = this.deps.jobs.get<{ fileName: string }, AnalysedJobData>(jobId);
    if (!job) throw new Error(`job ${jobId} does not exist`);
    return job;
  }

  private questions(data: AnalysedJobData): VarsPrompt[] {
    return data.varsPrompt ?? [];
  }
}

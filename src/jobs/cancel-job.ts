// /cancel <id>: stops whatever a user's job is doing, whichever kind it is, and says what that meant.
import type { PlaybookRunner } from "./playbook/playbook-runner.js";
import type { JobStore } from "./job-store.js";
import type { TorrentJobRunner } from "./torrent/torrent-job.js";

export async function cancelJob(
  jobs: JobStore,
  runner: TorrentJobRunner,
  playbooks: PlaybookRunner,
  jobId: number,
  userId: number,
): Promise<{ ok: boolean; message: string }> {
  const job = jobs.get(jobId);
  if (!job || job.ownerId !== userId) return { ok: false, message: `You have no job ${jobId}.` };
  if (job.kind === "playbook") {
    if (await playbooks.cancel(jobId)) return { ok: true, message: `Job ${jobId} cancelled; ansible-playbook was stopped and its work directory removed.` };
    const final = jobs.get(jobId)!.state;
    return { ok: false, message: ["done", "failed", "cancelled"].includes(final) ? `Job ${jobId} has already finished (${final}).` : `Job ${jobId} is not running; nothing to stop.` };
  }
  if (job.state === "estimated" && jobs.transitionIf(jobId, "estimated", "cancelled", { detail: "cancelled with /cancel" })) {
    return { ok: true, message: `Job ${jobId} cancelled; nothing was created.` };
  }
  if (runner.isRunning(jobId)) {
    await runner.cancel(jobId);
    const cost = jobs.spendForJob(jobId).actual ?? 0;
    return { ok: true, message: `Job ${jobId} cancelled; its droplet is destroyed. It cost $${cost.toFixed(4)}.` };
  }
  return { ok: false, message: `Job ${jobId} has already finished (${job.state}).` };
}

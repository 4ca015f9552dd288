// Scheduled venv garbage collection: daily, on every known host, removing venvs unused for VENV_GC_UNUSED_DAYS.
import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "../shared/logger.js";
import type { Host } from "../hosts/host.js";
import type { GarbageReport } from "./venv-gc.js";

export interface VenvCollectorDeps {
  collect(host: Host): Promise<GarbageReport>;
  hosts: () => Host[];
  logger: Logger;
}

export class VenvCollector {
  private task: ScheduledTask | null = null;

  constructor(private readonly deps: VenvCollectorDeps) {}

  /** One pass over every host; a host that fails is logged and the others still run. */
  async runOnce(): Promise<Map<string, GarbageReport | Error>> {
    const out = new Map<string, GarbageReport | Error>();
    for (const host of this.deps.hosts()) {
      try {
        const report = await this.deps.collect(host);
        out.set(host.label, report);
        if (report.removed.length > 0) this.deps.logger.info({ host: host.label, removed: report.removed }, "removed unused virtualenvs");
      } catch (err) {
        out.set(host.label, err as Error);
        this.deps.logger.warn({ err, host: host.label }, "virtualenv garbage collection failed");
      }
    }
    return out;
  }

  start(schedule = "17 4 * * *"): void {
    this.task = cron.schedule(schedule, () => void this.runOnce());
  }

  stop(): void {
    void this.task?.stop();
    this.task = null;
  }
}

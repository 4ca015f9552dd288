// Scheduled venv garbage collection: daily, on the bot's host and every registered host (over SSH, one at a time),
// removing venvs unused for VENV_GC_UNUSED_DAYS; pinned and in-use ones stay.
import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "../shared/logger.js";
import type { Host } from "../hosts/host.js";
import type { GarbageReport } from "./venv-gc.js";

/** A host to collect on, opened only when its turn comes (and closed after). */
export interface CollectableHost {
  /** How logs name it: "local", or a registered host's name. */
  name: string;
  connect(): Promise<Host>;
}

export interface VenvCollectorDeps {
  collect(host: Host): Promise<GarbageReport>;
  /** Read at every pass, so hosts registered since the start are collected too. */
  hosts: () => CollectableHost[];
  logger: Logger;
}

export class VenvCollector {
  private task: ScheduledTask | null = null;
  private running: Promise<Map<string, GarbageReport | Error>> | null = null;

  constructor(private readonly deps: VenvCollectorDeps) {}

  /**
   * One pass over every host, one connection at a time; a host that cannot be reached or fails is logged and
   * skipped, the others still run. A pass asked for while one runs joins it.
   */
  runOnce(): Promise<Map<string, GarbageReport | Error>> {
    this.running ??= this.pass().finally(() => (this.running = null));
    return this.running;
  }

  private async pass(): Promise<Map<string, GarbageReport | Error>> {
    const out = new Map<string, GarbageReport | Error>();
    for (const target of this.deps.hosts()) {
      let host: Host;
      try {
        host = await target.connect();
      } catch (err) {
        out.set(target.name, err as Error);
        this.deps.logger.warn({ err, host: target.name }, "virtualenv garbage collection skipped a host it cannot reach");
        continue;
      }
      try {
        const report = await this.deps.collect(host);
        out.set(target.name, report);
        if (report.removed.length > 0) this.deps.logger.info({ host: target.name, removed: report.removed }, "removed unused virtualenvs");
      } catch (err) {
        out.set(target.name, err as Error);
        this.deps.logger.warn({ err, host: target.name }, "virtualenv garbage collection failed");
      } finally {
        await host.close().catch(() => {});
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

// One torrent job's droplet from intent to destruction: each step written to the ledger before DigitalOcean is
// called, so a crash leaves nothing the reaper cannot find; and what the droplet (and any volume attached to it for
// room, which goes with it) has cost so far.
import { abortableSleep } from "../../shared/abortable-sleep.js";
import { billDropletSeconds } from "./pricing.js";
import { DROPSHIP_TAG, jobTag, type DropletLedger, type DropletRecord } from "./droplet-ledger.js";
import type { CloudInitPort, DropletPort } from "./torrent-ports.js";
import type { JobVolumes } from "./job-volumes.js";

/** The droplet a torrent runs on, as configured (DO_REGION, DO_SIZE, DO_IMAGE, DO_BOOT_TIMEOUT_SECONDS). */
export interface DropletSettings {
  region: string;
  size: string;
  image: string;
  bootTimeoutMs: number;
}

export interface DropletLifecycleDeps {
  cloud: DropletPort;
  cloudInit: CloudInitPort;
  ledger: DropletLedger;
  settings: DropletSettings;
  /** The job's block storage volumes, deleted once its droplets are gone (absent: the job never has any). */
  volumes?: JobVolumes;
}

/** How long a resumed job looks for a droplet whose create answer was lost (DigitalOcean lists new droplets late). */
const LOST_CREATE_SEARCH_MS = 30_000;

export class DropletLifecycle {
  /** The ledger's row, kept current after every change; null until the droplet is asked for. */
  private record: DropletRecord | null = null;
  /**
   * Whether a droplet may exist that the ledger has no id for: from the create call until it answers cleanly. A create
   * that failed, or answered after an attempt's answer was lost, may have made one (or a second one).
   */
  private mayHaveStrays = false;
  /** When the create call answered or failed (this clock is DigitalOcean's lag's, not the ledger's). */
  private createSettledAt = 0;

  constructor(private readonly deps: DropletLifecycleDeps) {}

  /**
   * Creates job `jobId`'s droplet and waits until it is active. `onRequested` runs once the intent is recorded and
   * before the create call (throwing there stops before anything is created); `onCreated` once DigitalOcean has
   * given the droplet's id.
   */
  async create(
    jobId: number,
    signal: AbortSignal,
    hooks: { onRequested(priceHourly: number): void; onCreated(dropletId: number): void },
    /** The size the job's card chose for its disk (default: DO_SIZE). */
    size: string = this.deps.settings.size,
  ): Promise<{ ip: string; hostKeyPublic: string }> {
    const { cloud, cloudInit, ledger, settings } = this.deps;
    const priceHourly = await cloud.priceHourly(size);
    const hostKey = cloudInit.generateHostKey();
    const sshKeyId = await cloud.ensureSshKey();
    signal.throwIfAborted();
    const name = `dropship-job-${jobId}`;
    // Intent first: if the process dies during the create call, the reaper finds the droplet by its job tag.
    this.record = ledger.recordIntent({ jobId, name, region: settings.region, size, priceHourly, hostKeyPublic: hostKey.publicKey });
    hooks.onRequested(priceHourly);
    this.mayHaveStrays = true;
    const spec = {
      name,
      region: settings.region,
      size,
      image: settings.image,
      tags: [DROPSHIP_TAG, jobTag(jobId)],
      sshKeyIds: [sshKeyId],
      userData: cloudInit.userData(hostKey),
    };
    const { id: doId, afterLostAnswer } = await cloud.create(spec).finally(() => (this.createSettledAt = Date.now()));
    this.mayHaveStrays = afterLostAnswer === true;
    ledger.markCreated(this.record.id, doId);
    this.record = ledger.get(this.record.id)!;
    hooks.onCreated(doId);
    const { ip } = await cloud.waitUntilActive(doId, { timeoutMs: settings.bootTimeoutMs, signal });
    ledger.markActive(this.record.id, ip);
    this.record = ledger.get(this.record.id)!;
    return { ip, hostKeyPublic: hostKey.publicKey };
  }

  /**
   * Takes over the droplet an earlier process recorded for this job (a resume after a restart). Returns false when
   * there is nothing to take over: no record, or a create whose answer never reached the ledger (its droplet, if
   * any, is the reaper's: it is found by its job tag).
   */
  adopt(record: DropletRecord | undefined): boolean {
    if (!record) return false;
    this.record = record;
    // A create cut short by the restart may have made a droplet the ledger has no id for: its destroy looks by tag.
    if (record.doId === null) this.mayHaveStrays = true;
    return record.state !== "destroyed" && record.doId !== null;
  }

  /**
   * The adopted droplet, once active, for a job resumed after a restart; throws a reason for its owner when it cannot
   * be found (a create whose answer was lost, and no droplet with its tag) or is gone.
   */
  async resumeActive(signal: AbortSignal): Promise<{ ip: string; hostKeyPublic: string }> {
    // The create call may have reached DigitalOcean although its answer did not reach the ledger: find it by its tag.
    if (!this.created && !(await this.findByTag(signal, LOST_CREATE_SEARCH_MS))) {
      throw new Error("the bot restarted while DigitalOcean was creating this job's droplet and the droplet could not be found; anything created is being destroyed, send the link again");
    }
    try {
      return await this.whenActive(signal);
    } catch (err) {
      if (signal.aborted) throw err;
      throw new Error(`its droplet is gone or not answering (${(err as Error).message}); send the link again`, { cause: err });
    }
  }

  /**
   * For an adopted record whose create call never answered (the process died during it): looks for the droplet by
   * its job tag for `withinMs` (DigitalOcean lists a new droplet only after a lag) and records it if found. Returns
   * whether there is now a droplet to carry on with.
   */
  private async findByTag(signal: AbortSignal, withinMs: number): Promise<boolean> {
    const rec = this.record;
    if (!rec || rec.doId !== null || rec.state === "destroyed") return rec?.doId != null;
    const { cloud, ledger } = this.deps;
    const deadline = Date.now() + withinMs;
    for (;;) {
      const found = await cloud.listByTag(rec.tag);
      if (found.length === 1) {
        ledger.markCreated(rec.id, found[0]!.id, Date.parse(found[0]!.createdAt) || undefined);
        this.record = ledger.get(rec.id)!;
        return true;
      }
      // Two droplets for one job cannot be told apart: leave both to the failure path, which destroys by tag.
      if (found.length > 1 || Date.now() > deadline) return false;
      await abortableSleep(1000, signal);
    }
  }

  /**
   * The adopted droplet's address once DigitalOcean says it is active (at once if the ledger has it, after one call
   * that confirms it still exists). Throws if it is gone.
   */
  async whenActive(signal: AbortSignal): Promise<{ ip: string; hostKeyPublic: string }> {
    const rec = this.record;
    if (!rec || rec.doId === null) throw new Error("no droplet to wait for");
    const { cloud, ledger, settings } = this.deps;
    const { ip } = await cloud.waitUntilActive(rec.doId, { timeoutMs: settings.bootTimeoutMs, signal });
    if (rec.state === "requested" || rec.state === "created") ledger.markActive(rec.id, ip);
    this.record = ledger.get(rec.id)!;
    return { ip, hostKeyPublic: rec.hostKeyPublic };
  }

  /**
   * Destroys every droplet of the job: the one it knows, and any its tag shows — a create whose answer was lost may
   * have made one after all, and a create repeated after such a loss may have made a second. Each is recorded in the
   * ledger, so its cost is booked to the job. Lists lag new droplets: soon after a create, they are read until it
   * would show.
   */
  async destroy(): Promise<void> {
    const rec = this.record;
    if (!rec) return;
    if (rec.state === "destroyed") return this.deleteVolumes(rec);
    const { ledger, cloud } = this.deps;
    ledger.markDestroying(rec.id);
    try {
      if (rec.doId !== null) {
        // The known droplet first: should the look for others fail, the one that surely exists is gone already.
        await cloud.destroy(rec.doId);
        ledger.markDestroyed(rec.id);
      }
      if (this.mayHaveStrays) {
        for (const d of await cloud.listByTag(rec.tag, { settleSince: this.createSettledAt })) {
          if (d.id === rec.doId) continue;
          const known = ledger.byDoId(d.id);
          if (known?.state === "destroyed") continue;
          const row = known ?? this.recordUnknown(rec, d.id, Date.parse(d.createdAt));
          await cloud.destroy(d.id);
          ledger.markDestroyed(row.id);
        }
      }
      ledger.markDestroyed(rec.id);
    } finally {
      this.record = ledger.get(rec.id)!;
    }
    await this.deleteVolumes(rec);
  }

  /** The droplet is gone: its volumes go too (DigitalOcean releases them a few seconds after the droplet). */
  private async deleteVolumes(rec: DropletRecord): Promise<void> {
    if (this.deps.volumes && rec.jobId !== null) await this.deps.volumes.deleteAll(rec.jobId);
  }

  /** The droplet's id at DigitalOcean, once the create answered. */
  get dropletDoId(): number | null {
    return this.record?.doId ?? null;
  }

  /** A droplet of this job the ledger has no id for: the job's own (its create's answer was lost), or a duplicate. */
  private recordUnknown(rec: DropletRecord, doId: number, listedCreatedAt: number): DropletRecord {
    const { ledger } = this.deps;
    // DigitalOcean's clock and precision (seconds) are not ours: kept between the intent and now.
    const createdAt = Math.min(Date.now(), Math.max(rec.requestedAt, Number.isNaN(listedCreatedAt) ? rec.requestedAt : listedCreatedAt));
    const current = ledger.get(rec.id)!;
    if (current.doId === null) {
      ledger.markCreated(rec.id, doId, createdAt);
      ledger.markDestroying(rec.id);
      return ledger.get(rec.id)!;
    }
    return ledger.recordFound(current, doId, createdAt);
  }

  /** Whether DigitalOcean created one: only then is it billed. */
  get created(): boolean {
    return this.rows().some((r) => r.createdAt !== null);
  }

  /** Whether all are confirmed gone, their volumes too (or none was ever asked for). */
  get destroyed(): boolean {
    if (this.record === null) return true;
    const volumesGone = !this.deps.volumes || this.record.jobId === null || this.deps.volumes.allDeleted(this.record.jobId);
    return volumesGone && this.rows().every((r) => r.state === "destroyed");
  }

  lifetimeSeconds(): number {
    return this.record ? this.deps.ledger.lifetimeSeconds(this.record) : 0;
  }

  /** DigitalOcean's per-second bill for the job's droplets (a duplicate's too) and volumes so far; 0 before one exists. */
  costUsd(): number {
    const { ledger, volumes } = this.deps;
    const droplets = this.rows()
      .filter((r) => r.createdAt !== null)
      .reduce((n, r) => n + billDropletSeconds(ledger.lifetimeSeconds(r), r.priceHourly), 0);
    const jobId = this.record?.jobId;
    return droplets + (volumes && jobId != null ? volumes.costUsd(jobId) : 0);
  }

  /** The job's volumes' share of costUsd(). */
  volumeCostUsd(): number {
    const jobId = this.record?.jobId;
    return this.deps.volumes && jobId != null ? this.deps.volumes.costUsd(jobId) : 0;
  }

  /** For the spend ledger: "droplet 120 s" and each volume's size and lifetime. */
  describeCost(): string {
    const jobId = this.record?.jobId;
    const volumes = this.deps.volumes && jobId != null ? this.deps.volumes.describe(jobId) : null;
    return [`droplet ${this.lifetimeSeconds().toFixed(0)} s`, ...(volumes ? [volumes] : [])].join(", ");
  }

  /** The ledger's rows for this job's droplets: its own and any duplicate found by its tag. */
  private rows(): DropletRecord[] {
    const rec = this.record;
    if (!rec) return [];
    return rec.jobId === null ? [this.deps.ledger.get(rec.id)!] : this.deps.ledger.forJob(rec.jobId);
  }
}

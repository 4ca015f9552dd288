// One torrent job's droplet from intent to destruction: each step written to the ledger before DigitalOcean is
// called, so a crash leaves nothing the reaper cannot find; and what the droplet has cost so far.
import { billDropletSeconds } from "./pricing.js";
import { DROPSHIP_TAG, jobTag, type DropletLedger, type DropletRecord } from "./droplet-ledger.js";
import type { CloudInitPort, DropletPort } from "./torrent-ports.js";

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
}

export class DropletLifecycle {
  /** The ledger's row, kept current after every change; null until the droplet is asked for. */
  private record: DropletRecord | null = null;

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
  ): Promise<{ ip: string; hostKeyPublic: string }> {
    const { cloud, cloudInit, ledger, settings } = this.deps;
    const priceHourly = await cloud.priceHourly(settings.size);
    const hostKey = cloudInit.generateHostKey();
    const sshKeyId = await cloud.ensureSshKey();
    signal.throwIfAborted();
    const name = `dropship-job-${jobId}`;
    // Intent first: if the process dies during the create call, the reaper finds the droplet by its job tag.
    this.record = ledger.recordIntent({ jobId, name, region: settings.region, size: settings.size, priceHourly, hostKeyPublic: hostKey.publicKey });
    hooks.onRequested(priceHourly);
    const { id: doId } = await cloud.create({
      name,
      region: settings.region,
      size: settings.size,
      image: settings.image,
      tags: [DROPSHIP_TAG, jobTag(jobId)],
      sshKeyIds: [sshKeyId],
      userData: cloudInit.userData(hostKey),
    });
    ledger.markCreated(this.record.id, doId);
    this.record = ledger.get(this.record.id)!;
    hooks.onCreated(doId);
    const { ip } = await cloud.waitUntilActive(doId, { timeoutMs: settings.bootTimeoutMs, signal });
    ledger.markActive(this.record.id, ip);
    this.record = ledger.get(this.record.id)!;
    return { ip, hostKeyPublic: hostKey.publicKey };
  }

  /** Destroys the droplet if one was asked for; by tag when the create call never answered. */
  async destroy(): Promise<void> {
    const rec = this.record;
    if (!rec || rec.state === "destroyed") return;
    const { ledger, cloud } = this.deps;
    ledger.markDestroying(rec.id);
    const ids = rec.doId !== null ? [rec.doId] : (await cloud.listByTag(rec.tag)).map((d) => d.id);
    for (const id of ids) await cloud.destroy(id);
    ledger.markDestroyed(rec.id);
    this.record = ledger.get(rec.id)!;
  }

  /** Whether DigitalOcean created it: only then is it billed. */
  get created(): boolean {
    return Boolean(this.record?.createdAt);
  }

  /** Whether it is confirmed gone (or was never asked for). */
  get destroyed(): boolean {
    return this.record === null || this.record.state === "destroyed";
  }

  lifetimeSeconds(): number {
    return this.record ? this.deps.ledger.lifetimeSeconds(this.record) : 0;
  }

  /** DigitalOcean's per-second bill for the droplet's lifetime so far; 0 before it exists. */
  costUsd(): number {
    if (!this.record || this.record.createdAt === null) return 0;
    return billDropletSeconds(this.lifetimeSeconds(), this.record.priceHourly);
  }
}

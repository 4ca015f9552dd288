// Finds and destroys droplets that carry Dropship's tag but belong to no live job (a crash between create
// and record, a failed destroy). The job engine runs it on a schedule and supplies what counts as "known".
import type { Logger } from "../../shared/logger.js";
import type { DropletFleet } from "./torrent-ports.js";

export type TaggedDroplet = Awaited<ReturnType<DropletFleet["listDropletsByTag"]>>[number];

export interface OrphanQuery {
  /** The tag every Dropship droplet carries, e.g. "dropship". */
  tag: string;
  /**
   * True for droplets a live job still owns (by id, or by its dropship-job-<id> tag). Asked after the listing and
   * again just before each destroy: a job may start while the listing (or an earlier destroy) is slow.
   */
  isKnown: (droplet: TaggedDroplet) => boolean;
  /** Younger droplets are left alone: their job may be between the create call and recording its id. */
  minAgeMs: number;
  now?: () => number;
}

export async function findOrphanDroplets(cloud: Pick<DropletFleet, "listDropletsByTag">, q: OrphanQuery): Promise<TaggedDroplet[]> {
  const now = (q.now ?? Date.now)();
  const tagged = await cloud.listDropletsByTag(q.tag);
  return tagged.filter((d) => !q.isKnown(d) && now - d.createdAt.getTime() >= q.minAgeMs);
}

export interface ReapResult {
  destroyed: number[];
  failed: { id: number; error: string }[];
}

/** Destroys every orphan (each told to `onDestroyed`); one failure does not stop the others. */
export async function reapOrphanDroplets(
  cloud: DropletFleet,
  q: OrphanQuery & { logger: Logger; onDestroyed?: (droplet: TaggedDroplet) => void },
): Promise<ReapResult> {
  const orphans = await findOrphanDroplets(cloud, q);
  const result: ReapResult = { destroyed: [], failed: [] };
  for (const d of orphans) {
    if (q.isKnown(d)) continue;
    try {
      await cloud.destroyDroplet(d.id);
    } catch (err) {
      result.failed.push({ id: d.id, error: (err as Error).message });
      q.logger.error({ dropletId: d.id, err: (err as Error).message }, "could not destroy an orphan droplet");
      continue;
    }
    result.destroyed.push(d.id);
    q.logger.warn({ dropletId: d.id, name: d.name, tags: d.tags, createdAt: d.createdAt }, "destroyed an orphan droplet");
    q.onDestroyed?.(d);
  }
  return result;
}

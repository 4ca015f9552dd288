// Block storage volumes on DigitalOcean: created once (found by name after a lost answer), attached with the action
// waited for, deleted once the destroyed droplet has let go of them (409 until then), listed by tag.
import type { modules } from "dots-wrapper";
import type { Logger } from "../shared/logger.js";
import type { CloudProvider, CloudVolume, CreateVolumeRequest, WaitOptions } from "./cloud-provider.js";
import type { DigitalOceanClient } from "./digitalocean-client.js";
import { CloudError } from "./digitalocean-errors.js";
import type { PollPacer } from "./status-polls.js";

type IVolume = modules.volume.IVolume;
type VolumeOperations = Pick<CloudProvider, "createVolume" | "findVolume" | "attachVolume" | "deleteVolume" | "listVolumesByTag">;

const PAGE = 200;
/** How often an attach action, or a delete still refused while the volume is attached, is asked about again. */
const ACTION_POLL_MS = 1000;

// eslint-disable-next-line max-lines-per-function -- a closure module: short functions sharing one client and the poll pacer
export function createVolumeOperations(o: { client: DigitalOceanClient; logger: Logger; pacer: PollPacer; now: () => number }): VolumeOperations {
  const { client, pacer, now } = o;
  const log = o.logger.child({ component: "cloud" });

  async function listAll(name?: string): Promise<IVolume[]> {
    const out: IVolume[] = [];
    for (let page = 1; ; page++) {
      const data = await client.call(name ? `looking up volume ${name}` : "listing volumes", (api) =>
        api.volume.listVolumes({ name, page, per_page: PAGE }),
      );
      out.push(...data.volumes);
      const total = data.meta?.total;
      if (!data.links?.pages?.next || data.volumes.length === 0 || (total !== undefined && out.length >= total)) return out;
    }
  }

  async function findRaw(name: string, region: string): Promise<IVolume | undefined> {
    return (await listAll(name)).find((v) => v.name === name && toVolume(v).region === region);
  }

  async function findVolume(name: string, region: string): Promise<CloudVolume | null> {
    const found = await findRaw(name, region);
    return found ? toVolume(found) : null;
  }

  /** A volume of this name that the request made (it carries the request's unique tag), or a refusal to take it. */
  async function ownVolume(req: CreateVolumeRequest): Promise<IVolume | undefined> {
    const found = await findRaw(req.name, req.region);
    if (!found) return undefined;
    const uniqueTag = req.tags.at(-1);
    if (uniqueTag && !(found.tags ?? []).includes(uniqueTag)) {
      throw new CloudError(`DigitalOcean already has a volume called ${req.name} in ${req.region} that Dropship did not make; delete or rename it.`, "conflict", {
        operation: "creating the volume",
      });
    }
    return found;
  }

  return {
    async createVolume(req, opts = {}) {
      try {
        const data = await client.call(
          "creating the volume",
          (api) =>
            api.volume.createVolume({
              name: req.name,
              region: req.region,
              size_gigabytes: req.sizeGib,
              filesystem_type: "ext4",
              tags: req.tags,
              description: req.description,
            }),
          // A 5xx or a lost answer may still have created it: its name is unique in the region, so look it up first.
          {
            signal: opts.signal,
            recover: async () => {
              const mine = await ownVolume(req);
              return mine ? { volume: mine } : undefined;
            },
          },
        );
        const volume = toVolume(data.volume);
        log.info({ volumeId: volume.id, name: req.name, sizeGib: req.sizeGib, region: req.region }, "volume created");
        return volume;
      } catch (err) {
        // The name is taken: an earlier attempt (its answer lost, or a process that died) made it.
        if (err instanceof CloudError && (err.kind === "conflict" || err.kind === "unprocessable")) {
          const mine = await ownVolume(req);
          if (mine) return toVolume(mine);
        }
        throw err;
      }
    },

    findVolume,

    async attachVolume(volumeId, dropletId, region, w: WaitOptions) {
      const current = await client.call(`reading volume ${volumeId}`, (api) => api.volume.getVolume({ volume_id: volumeId }), { signal: w.signal });
      if ((current.volume.droplet_ids ?? []).includes(dropletId)) return;
      const { action } = await client.call(
        `attaching volume ${volumeId} to droplet ${dropletId}`,
        (api) => api.volume.attachVolumeToDroplet({ volume_id: volumeId, droplet_id: dropletId, region }),
        { signal: w.signal, retry: false },
      );
      const deadline = now() + w.timeoutMs;
      let status = action.status;
      while (status !== "completed") {
        if (status === "errored") {
          throw new CloudError(`DigitalOcean could not attach volume ${volumeId} to droplet ${dropletId} (the attach action errored).`, "invalid_response", {
            operation: "attaching the volume",
          });
        }
        if (now() > deadline) {
          throw new CloudError(`Attaching volume ${volumeId} to droplet ${dropletId} did not complete within ${Math.round(w.timeoutMs / 1000)} s.`, "timeout", {
            operation: "attaching the volume",
          });
        }
        await pacer.wait(ACTION_POLL_MS, w.signal);
        const polled = await client.call(`reading the attach of volume ${volumeId}`, (api) => api.volume.getVolumeAction({ volume_id: volumeId, action_id: action.id }), {
          signal: w.signal,
        });
        status = polled.action.status;
      }
      log.info({ volumeId, dropletId }, "volume attached");
    },

    async deleteVolume(volumeId, opts = {}) {
      const deadline = now() + (opts.timeoutMs ?? 60_000);
      for (;;) {
        try {
          await client.call(`deleting volume ${volumeId}`, (api) => api.volume.deleteVolume({ volume_id: volumeId }));
          log.info({ volumeId }, "volume deleted");
          return;
        } catch (err) {
          if (err instanceof CloudError && err.kind === "not_found") return;
          // Still attached: a destroyed droplet lets go of its volumes a few seconds later.
          if (!(err instanceof CloudError && err.kind === "conflict") || now() > deadline) throw err;
        }
        await pacer.wait(ACTION_POLL_MS);
      }
    },

    async listVolumesByTag(tag) {
      return (await listAll()).map(toVolume).filter((v) => v.tags.includes(tag));
    },
  };
}

function toVolume(v: IVolume): CloudVolume {
  const region = typeof v.region === "string" ? v.region : v.region?.slug;
  return {
    id: v.id,
    name: v.name,
    sizeGib: v.size_gigabytes,
    region: region ?? "",
    dropletIds: [...(v.droplet_ids ?? [])],
    tags: [...(v.tags ?? [])],
    createdAt: new Date(v.created_at),
  };
}

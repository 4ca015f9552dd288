// The torrent job's view of DigitalOcean (DropletPort, VolumePort), made from the cloud adapter, the bot's key and its sizes.
import type { DropletPort, VolumePort } from "../jobs/torrent/torrent-ports.js";
import type { BotKey } from "../remote/bot-key.js";
import type { CloudProvider } from "../cloud/cloud-provider.js";

/** The job engine's view of DigitalOcean, with the bot's key and the configured size. */
export function dropletPort(cloud: CloudProvider, botKey: BotKey): DropletPort {
  return {
    async priceHourly(size) {
      const s = await cloud.getSize(size);
      if (!s) throw new Error(`DigitalOcean does not offer the size ${size}; set DO_SIZE to one it lists`);
      return s.priceHourly;
    },
    ensureSshKey: () => cloud.ensureSshKey("dropship", botKey.publicKey),
    create: (spec) => cloud.createDroplet(spec),
    waitUntilActive: async (id, o) => ({ ip: (await cloud.waitUntilActive(id, o)).ip }),
    destroy: (id) => cloud.destroyDroplet(id),
    listByTag: async (tag, o = {}) =>
      (await cloud.listDropletsByTag(tag, { settleSince: o.settleSince === undefined ? undefined : new Date(o.settleSince) })).map((d) => ({
        id: d.id,
        name: d.name,
        createdAt: d.createdAt.toISOString(),
      })),
  };
}

/** The job engine's view of DigitalOcean's block storage. */
export function volumePort(cloud: CloudProvider, attachPollTimeoutMs = 120_000): VolumePort {
  return {
    create: async (spec, o = {}) => {
      const v = await cloud.createVolume(spec, o);
      return { id: v.id, createdAt: v.createdAt.getTime() };
    },
    find: async (name, region) => {
      const v = await cloud.findVolume(name, region);
      return v ? { id: v.id, createdAt: v.createdAt.getTime() } : null;
    },
    attach: (volumeId, dropletId, region, o) => cloud.attachVolume(volumeId, dropletId, region, { timeoutMs: Math.min(o.timeoutMs, attachPollTimeoutMs), signal: o.signal }),
    delete: (volumeId) => cloud.deleteVolume(volumeId),
  };
}

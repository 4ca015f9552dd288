// CloudProvider on DigitalOcean: sizes cached with a TTL, the bot's SSH key registered once, droplets
// created (not twice after an ambiguous failure), polled quickly at first within one shared budget of requests
// (status-polls.ts), and destroyed until gone; volumes in digitalocean-volumes.ts.
import type { modules } from "dots-wrapper";
import type { Logger } from "../shared/logger.js";
import { abortableSleep } from "../shared/abortable-sleep.js";
import type { CloudDroplet, CloudProvider, CloudSize, CreateDropletRequest, DropletStatus, WaitOptions } from "./cloud-provider.js";
import type { DigitalOceanClient } from "./digitalocean-client.js";
import { CloudError } from "./digitalocean-errors.js";
import { sizeProblem } from "./size-advice.js";
import { createVolumeOperations } from "./digitalocean-volumes.js";
import { md5Fingerprint } from "./ssh-key-fingerprint.js";
import { createPollPacer, DEFAULT_BOOT_POLLS, nextBootPollMs, type BootPollSchedule, type PollPacer } from "./status-polls.js";

type IDroplet = modules.droplet.IDroplet;
type ISize = modules.size.ISize;

export interface DigitalOceanProviderOptions {
  client: DigitalOceanClient;
  logger: Logger;
  /** How long the sizes list is trusted (default 1 h). */
  sizesTtlMs?: number;
  /** First and longest interval between polls while a destroy shows (defaults 1 s and 10 s). */
  pollInitialMs?: number;
  pollMaxMs?: number;
  /** Polls while a droplet boots (default: 500 ms for the first 5 s, then ×1.5 up to 3 s). */
  bootPolls?: Partial<BootPollSchedule>;
  /** The budget every status poll shares (default: 120 a minute, half the token's 250). */
  pollPacer?: PollPacer;
  /** How long a destroy may take to show as gone (default 60 s). */
  destroyTimeoutMs?: number;
  /**
   * How long a new droplet may be missing from list calls: after an unanswered create, how long to look for the
   * droplet it may have made before creating again, and how long a settled tag list waits (default: the client's
   * policy.listLagMs, 10 s).
   */
  createLookupMs?: number;
  now?: () => number;
}

const PAGE = 200; // the API's largest per_page

// eslint-disable-next-line max-lines-per-function -- a closure module: short functions sharing one client, the sizes cache and key ids
export function createDigitalOceanProvider(opts: DigitalOceanProviderOptions): CloudProvider {
  const { client } = opts;
  const log = opts.logger.child({ component: "cloud" });
  const now = opts.now ?? Date.now;
  const ttl = opts.sizesTtlMs ?? 3_600_000;
  const pollInitial = Math.min(opts.pollInitialMs ?? 1000, 1000);
  const pollMax = opts.pollMaxMs ?? 10_000;
  const bootPolls: BootPollSchedule = { ...DEFAULT_BOOT_POLLS, ...opts.bootPolls };
  const pacer = opts.pollPacer ?? createPollPacer({ now });
  const destroyTimeout = opts.destroyTimeoutMs ?? 60_000;
  const createLookupMs = opts.createLookupMs ?? client.policy.listLagMs;
  // Three reads over the lag, not one a second: they count against the rate limit, and one after the lag suffices.
  const lookupPollMs = Math.max(250, Math.round(createLookupMs / 2));
  let sizesCache: { at: number; sizes: Promise<CloudSize[]> } | null = null;
  const keyIds = new Map<string, number>();

  async function fetchAllSizes(): Promise<CloudSize[]> {
    const out: CloudSize[] = [];
    for (let page = 1; ; page++) {
      const data = await client.call("listing droplet sizes", (api) => api.size.listSizes({ page, per_page: PAGE }));
      out.push(...data.sizes.map(toSize));
      if (lastPage(data, data.sizes.length, out.length)) return out;
    }
  }

  async function listSizes(o: { refresh?: boolean } = {}): Promise<CloudSize[]> {
    if (!o.refresh && sizesCache && now() - sizesCache.at < ttl) return sizesCache.sizes;
    // Concurrent callers share one fetch; a failed fetch is not cached.
    const entry = { at: now(), sizes: fetchAllSizes() };
    sizesCache = entry;
    entry.sizes.catch(() => {
      if (sizesCache === entry) sizesCache = null;
    });
    return entry.sizes;
  }

  async function getDroplet(id: number, signal?: AbortSignal): Promise<CloudDroplet | null> {
    try {
      const data = await client.call(`reading droplet ${id}`, (api) => api.droplet.getDroplet({ droplet_id: id }), { signal });
      return toDroplet(data.droplet);
    } catch (err) {
      if (err instanceof CloudError && err.kind === "not_found") return null;
      throw err;
    }
  }

  async function listRawByTag(tag: string): Promise<IDroplet[]> {
    const out: IDroplet[] = [];
    for (let page = 1; ; page++) {
      const data = await client.call(`listing droplets tagged ${tag}`, (api) =>
        api.droplet.listDroplets({ tag_name: tag, page, per_page: PAGE }),
      );
      out.push(...data.droplets);
      if (lastPage(data, data.droplets.length, out.length)) return out;
    }
  }

  async function listDropletsByTag(tag: string, o: { settleSince?: Date } = {}): Promise<CloudDroplet[]> {
    if (!o.settleSince) return (await listRawByTag(tag)).map(toDroplet);
    // Lists lag new droplets: read again until a droplet created at settleSince must show, keeping all seen.
    const settledAt = o.settleSince.getTime() + createLookupMs;
    const seen = new Map<number, CloudDroplet>();
    while (true) {
      const readAt = now();
      for (const d of await listRawByTag(tag)) seen.set(d.id, toDroplet(d));
      if (readAt >= settledAt) return [...seen.values()];
      await abortableSleep(Math.max(0, Math.min(lookupPollMs, settledAt - now())));
    }
  }

  async function createDroplet(req: CreateDropletRequest, o: { signal?: AbortSignal } = {}): Promise<CloudDroplet & { afterLostAnswer: boolean }> {
    const uniqueTag = req.tags[req.tags.length - 1];
    let afterLostAnswer = false;
    try {
      const data = await client.call(
        "creating the droplet",
        (api) =>
          api.droplet.createDroplet({
            name: req.name,
            region: req.region,
            size: req.size,
            image: req.image,
            ssh_keys: req.sshKeyIds,
            tags: req.tags,
            user_data: req.userData,
            ipv6: false,
            monitoring: false,
            backups: false,
          }),
        {
          signal: o.signal,
          // A 5xx or a lost answer may still have created it: look before creating a second one.
          recover: uniqueTag
            ? () => {
                afterLostAnswer = true;
                return findCreatedOrSay(uniqueTag, req.name, o.signal);
              }
            : undefined,
        },
      );
      const result = toDroplet(data.droplet);
      log.info({ dropletId: result.id, name: req.name, size: req.size, region: req.region, afterLostAnswer }, "droplet requested");
      return { ...result, afterLostAnswer };
    } catch (err) {
      if (err instanceof CloudError && err.kind === "unprocessable") throw await explainRefusal(err, req);
      throw err;
    }
  }

  /**
   * Looks for a droplet an earlier, unanswered create may have made. New droplets can be missing from list
   * calls for a few seconds (digitalocean/api-v2#202), so the list is read again for a while before
   * concluding there is none. Should one still slip through, it carries the job's tag like the other.
   */
  async function findCreated(tag: string, name: string, signal?: AbortSignal): Promise<{ droplet: IDroplet } | undefined> {
    const deadline = now() + createLookupMs;
    while (true) {
      const readAt = now();
      const found = (await listRawByTag(tag)).find((d) => d.name === name);
      if (found) return { droplet: found };
      // Concluded only from a read that began once the lag had passed.
      if (readAt >= deadline) return undefined;
      await abortableSleep(Math.max(0, Math.min(lookupPollMs, deadline - now())), signal);
    }
  }

  /** findCreated, with its failure worded as what it means for the create. */
  async function findCreatedOrSay(tag: string, name: string, signal?: AbortSignal): Promise<{ droplet: IDroplet } | undefined> {
    try {
      return await findCreated(tag, name, signal);
    } catch (err) {
      if (signal?.aborted || !(err instanceof CloudError)) throw err;
      throw new CloudError(
        `The answer to creating the droplet was lost, and checking whether it was created failed: ${err.message}`,
        err.kind,
        { ...err.details, operation: "creating the droplet" },
      );
    }
  }

  /** A 422 on create, reworded with what to try instead. */
  async function explainRefusal(err: CloudError, req: CreateDropletRequest): Promise<CloudError> {
    const said = err.details.doMessage ?? "";
    const fromApi = err.details.body?.available_regions;
    const regions = Array.isArray(fromApi) ? fromApi.filter((r): r is string => typeof r === "string") : undefined;
    let advice: string | null = null;
    if (/size|region|capacity/i.test(said) || regions) {
      const sizes = await listSizes().catch(() => [] as CloudSize[]);
      advice = sizes.length > 0 ? sizeProblem(sizes, req.size, req.region, regions) : null;
      if (advice === null && /region/i.test(said) && !/size/i.test(said)) advice = `the region ${req.region} is not available — try DO_REGION with another region`;
    }
    const message = advice ? `DigitalOcean refused the droplet: ${advice}.` : `DigitalOcean refused the droplet: ${said || "422 unprocessable entity"}.`;
    return new CloudError(message, "unprocessable", err.details);
  }

  async function waitUntilActive(id: number, o: WaitOptions): Promise<{ droplet: CloudDroplet; ip: string }> {
    const started = now();
    const deadline = started + o.timeoutMs;
    let interval: number | null = null;
    let last: CloudDroplet | null = null;
    while (true) {
      // Every poll, the first too, takes a turn of the shared budget: many boots at once stay within the rate limit.
      await pacer.wait(interval === null ? 0 : Math.min(interval, Math.max(0, deadline - now())), o.signal);
      last = await getDroplet(id, o.signal);
      if (last === null) throw new CloudError(`Droplet ${id} no longer exists; it was destroyed while we waited for it.`, "not_found", { operation: "waiting for the droplet" });
      if (last.status === "active" && last.publicIpv4) return { droplet: last, ip: last.publicIpv4 };
      if (last.status === "off" || last.status === "archive") {
        throw new CloudError(`Droplet ${id} went ${last.status} instead of becoming active.`, "invalid_response", { operation: "waiting for the droplet" });
      }
      if (deadline - now() <= 0) {
        throw new CloudError(
          `Droplet ${id} did not become active within ${Math.round(o.timeoutMs / 1000)} s (last status: ${last.status}); ` +
            "DigitalOcean may be slow in this region — raise DO_BOOT_TIMEOUT_SECONDS or try another DO_REGION.",
          "timeout",
          { operation: "waiting for the droplet" },
        );
      }
      interval = nextBootPollMs(bootPolls, now() - started, interval);
    }
  }

  async function untilGone(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = now() + timeoutMs;
    let interval = pollInitial;
    while (!(await check())) {
      if (now() >= deadline) {
        throw new CloudError(
          `DigitalOcean still lists ${what} ${Math.round(timeoutMs / 1000)} s after it was destroyed; ` +
            "check the DigitalOcean control panel — it may still be billed.",
          "timeout",
          { operation: `destroying ${what}` },
        );
      }
      await pacer.wait(interval);
      interval = Math.min(pollMax, Math.round(interval * 1.5));
    }
  }

  return {
    ...createVolumeOperations({ client, logger: opts.logger, pacer, now }),
    async describeAccount() {
      const { account } = await client.call("reading the account", (api) => api.account.getAccount());
      return { email: account.email, status: account.status, dropletLimit: account.droplet_limit };
    },
    listSizes,
    async getSize(slug) {
      return (await listSizes()).find((s) => s.slug === slug) ?? null;
    },
    async sizeProblem(size, region) {
      return sizeProblem(await listSizes(), size, region);
    },
    async ensureSshKey(name, publicKey) {
      const fingerprint = md5Fingerprint(publicKey);
      const known = keyIds.get(fingerprint);
      if (known !== undefined) return known;
      const lookup = async () => {
        try {
          const data = await client.call("looking up the bot's SSH key", (api) => api.sshKey.getSshKey({ ssh_key_id: fingerprint }));
          return data.ssh_key.id;
        } catch (err) {
          if (err instanceof CloudError && err.kind === "not_found") return null;
          throw err;
        }
      };
      let id = await lookup();
      if (id === null) {
        try {
          const data = await client.call("registering the bot's SSH key", (api) => api.sshKey.createSshKey({ name, public_key: publicKey.trim() }));
          id = data.ssh_key.id;
          log.info({ sshKeyId: id, fingerprint }, "SSH key registered with DigitalOcean");
        } catch (err) {
          // Registered meanwhile (another process, or an earlier attempt whose answer was lost): it is there now.
          id = err instanceof CloudError && err.kind === "unprocessable" ? await lookup() : null;
          if (id === null) throw err;
        }
      }
      keyIds.set(fingerprint, id);
      return id;
    },
    createDroplet,
    getDroplet: (id) => getDroplet(id),
    waitUntilActive,
    async destroyDroplet(id, o = {}) {
      try {
        await client.call(`destroying droplet ${id}`, (api) => api.droplet.deleteDroplet({ droplet_id: id }));
      } catch (err) {
        if (!(err instanceof CloudError && err.kind === "not_found")) throw err;
      }
      await untilGone(`droplet ${id}`, async () => (await getDroplet(id)) === null, o.timeoutMs ?? destroyTimeout);
      log.info({ dropletId: id }, "droplet destroyed");
    },
    listDropletsByTag,
    async destroyByTag(tag, o = {}) {
      const before = await listDropletsByTag(tag);
      try {
        await client.call(`destroying droplets tagged ${tag}`, (api) => api.droplet.deleteDropletsByTag({ tag_name: tag }));
      } catch (err) {
        // The spec allows a 404 for a tag that no longer exists: nothing to destroy.
        if (!(err instanceof CloudError && err.kind === "not_found")) throw err;
      }
      await untilGone(`droplets tagged ${tag}`, async () => (await listDropletsByTag(tag)).length === 0, o.timeoutMs ?? destroyTimeout);
      if (before.length > 0) log.info({ tag, dropletIds: before.map((d) => d.id) }, "droplets destroyed by tag");
      return before.map((d) => d.id);
    },
  };
}

function toSize(s: ISize & { description?: string }): CloudSize {
  return {
    slug: s.slug,
    priceHourly: Number(s.price_hourly),
    priceMonthly: Number(s.price_monthly),
    transferTb: Number(s.transfer),
    regions: [...(s.regions ?? [])],
    available: s.available !== false,
    vcpus: s.vcpus,
    memoryMb: s.memory,
    diskGb: s.disk,
    description: s.description ?? "",
  };
}

function toDroplet(d: IDroplet): CloudDroplet {
  const pub = d.networks?.v4?.find((n) => n.type === "public");
  const region = typeof d.region === "string" ? d.region : d.region?.slug;
  return {
    id: d.id,
    name: d.name,
    status: d.status as DropletStatus,
    publicIpv4: pub?.ip_address ?? null,
    tags: [...(d.tags ?? [])],
    sizeSlug: d.size_slug ?? d.size?.slug,
    region: region ?? "",
    createdAt: new Date(d.created_at),
  };
}

/** Pages end when there is no `next` link, a page is empty, or `meta.total` items have been read. */
function lastPage(data: { links?: { pages?: { next?: string } }; meta?: { total?: number } }, pageItems: number, readSoFar: number): boolean {
  const total = data.meta?.total;
  return !data.links?.pages?.next || pageItems === 0 || (total !== undefined && readSoFar >= total);
}

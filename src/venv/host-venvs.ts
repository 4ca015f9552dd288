// The /venvs use-cases: list and remove the venvs Dropship keeps on the bot's own host or on a registered host, and
// the one rule of who may remove them. No Telegram here: the bot feature reads the update and renders the result.
import type { Host } from "../hosts/host.js";
import type { HostRecord } from "../hosts/host-registry.js";
import type { VenvManager } from "./venv-manager.js";
import type { VenvRecord } from "./venv-store.js";

/** How the bot's own host is named in /venvs. */
export const LOCAL_HOST_NAME = "local";

/**
 * Who may remove venvs on a host (and so free its disk, or break a run that was about to reuse one): the bot's owner
 * anywhere; a registered host's owner on that host (a host without a recorded owner is the bot owner's, as in
 * HostAccess). `host` is null for the bot's own host. The one place this rule lives.
 */
export function mayManageVenvs(userId: number, host: HostRecord | null, ownerId: number): boolean {
  return userId === ownerId || (host !== null && (host.ownerId ?? ownerId) === userId);
}

export interface HostVenvsDeps {
  venvs: Pick<VenvManager, "list" | "remove">;
  /** The bot's own host. */
  localHost: Host;
  /** The registered hosts (the HostRegistry). */
  hosts: { get(name: string): HostRecord | undefined; list(): HostRecord[]; connect(name: string): Promise<Host> };
  ownerId: number;
}

// "The owner": the bot's, or the host's.
const REFUSAL = "Only the owner can remove virtualenvs.";

export type VenvsAnswer = { ok: true; text: string; venvs?: VenvRecord[] } | { ok: false; text: string };

/**
 * The label a venv row of a registered host carries: the SSH connection's default label ("user@address[:port]").
 * Only used to find rows without connecting; anything that touches the host uses the label of the live connection.
 */
function labelOf(h: HostRecord): string {
  return `${h.username}@${h.address}${h.port === 22 ? "" : `:${h.port}`}`;
}

/** A venv row's host as a person names it: "local", a registered host's name, or the label of a host since removed. */
export function hostNameOfLabel(deps: Pick<HostVenvsDeps, "localHost" | "hosts">, label: string): string {
  if (label === deps.localHost.label) return LOCAL_HOST_NAME;
  return deps.hosts.list().find((h) => labelOf(h) === label)?.name ?? label;
}

async function open(deps: HostVenvsDeps, hostName: string): Promise<{ host: Host; record: HostRecord | null } | { error: string }> {
  if (hostName === LOCAL_HOST_NAME) return { host: deps.localHost, record: null };
  const record = deps.hosts.get(hostName);
  if (!record) return { error: `There is no host called ${hostName}; /hosts lists them (the bot's own is "${LOCAL_HOST_NAME}").` };
  try {
    return { host: await deps.hosts.connect(hostName), record };
  } catch (err) {
    return { error: `Cannot reach ${hostName}: ${(err as Error).message.replace(/\.$/, "")}.` };
  }
}

/** The venvs recorded for every host, or for one named host (connecting to it, so its rows are found by its real label). */
export async function listHostVenvs(deps: HostVenvsDeps, hostName?: string): Promise<VenvsAnswer> {
  if (!hostName) {
    const venvs = deps.venvs.list().map((v) => ({ ...v, host: hostNameOfLabel(deps, v.host) }));
    return { ok: true, text: "", venvs };
  }
  const opened = await open(deps, hostName);
  if ("error" in opened) return { ok: false, text: opened.error };
  try {
    return { ok: true, text: "", venvs: deps.venvs.list(opened.host.label).map((v) => ({ ...v, host: hostName })) };
  } finally {
    if (opened.record) await opened.host.close().catch(() => {});
  }
}

/**
 * Removes one venv from a host over its connection, with the manager's rules (pinned and in-use venvs are kept).
 * Without a host name, the venv's name must be recorded on exactly one host.
 */
export async function removeHostVenv(deps: HostVenvsDeps, userId: number, venvName: string, hostName?: string): Promise<VenvsAnswer> {
  // Someone who may remove on no host at all learns nothing about which venvs exist where.
  const ownsSome = deps.hosts.list().some((h) => mayManageVenvs(userId, h, deps.ownerId));
  if (!mayManageVenvs(userId, null, deps.ownerId) && !ownsSome) return { ok: false, text: REFUSAL };
  let target = hostName;
  if (!target) {
    const found = deps.venvs.list().filter((v) => v.name === venvName);
    if (found.length === 0) return { ok: false, text: `There is no virtualenv ${venvName}; /venvs lists them.` };
    const names = [...new Set(found.map((v) => hostNameOfLabel(deps, v.host)))];
    if (names.length > 1) return { ok: false, text: `${venvName} exists on several hosts (${names.join(", ")}); add the host: /venvs remove ${venvName} <host>` };
    target = names[0]!;
  }
  const record = target === LOCAL_HOST_NAME ? null : deps.hosts.get(target);
  if (target !== LOCAL_HOST_NAME && !record) return { ok: false, text: `There is no host called ${target} any more; nothing was removed. /hosts lists them.` };
  // Checked before connecting: a refusal costs the host nothing.
  if (!mayManageVenvs(userId, record ?? null, deps.ownerId)) return { ok: false, text: REFUSAL };
  const opened = await open(deps, target);
  if ("error" in opened) return { ok: false, text: `${opened.error} Nothing was removed.` };
  try {
    await deps.venvs.remove(opened.host, venvName);
    return { ok: true, text: `Removed ${venvName} from ${target}.` };
  } catch (err) {
    return { ok: false, text: `Not removed: ${(err as Error).message}` };
  } finally {
    if (opened.record) await opened.host.close().catch(() => {});
  }
}

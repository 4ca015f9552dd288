// Who may do what with a host. A host belongs to a person: the allowed user who added it, or the one the bot's owner
// added it for. Its owner decides who else may run playbooks on it (shares, in the host_shares table). The bot's owner
// administers: adds hosts for others, removes any host and changes any host's shares — but, like everyone, runs only
// on hosts they own or that are shared with them (sharing one with themselves shows in the owner's /hosts).
// No Telegram here: the bot's handlers call these and render the outcome.
import type { Db } from "../storage/database.js";
import { HostRegistryError, type HostAddress, type HostRecord, type HostRegistry } from "./host-registry.js";

/** The people the bot serves (from OWNER_ID and ALLOWED_USER_IDS). */
export interface HostPeople {
  botOwnerId: number;
  allowedUserIds: readonly number[];
}

export type HostRefusal = {
  ok: false;
  /** no-such-host: gone, or not the caller's to see; not-allowed: seen but not theirs to change or use. */
  reason: "no-such-host" | "not-allowed" | "not-a-user" | "owner-already";
  /** What to tell the person, as is. */
  message: string;
};

export type HostOutcome<T extends object = object> = ({ ok: true } & T) | HostRefusal;

/** A host as one user sees it in /hosts. */
export interface HostView {
  host: HostRecord;
  ownerId: number;
  /** Users it is shared with, in the order they were added. */
  sharedWith: number[];
  /** The viewer may run playbooks on it (its owner, or shared with them). */
  mayRun: boolean;
  /** The viewer may share, unshare and remove it (its owner, or the bot's owner). */
  mayManage: boolean;
}

export interface HostAccessOptions {
  db: Db;
  registry: Pick<HostRegistry, "list" | "get" | "getById" | "add" | "remove">;
  people: HostPeople;
  now?: () => number;
}

const refuse = (reason: HostRefusal["reason"], message: string): HostRefusal => ({ ok: false, reason, message });

export class HostAccess {
  private readonly now: () => number;

  constructor(private readonly opts: HostAccessOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The bot's owner or an allowed user. */
  isUser(userId: number): boolean {
    const p = this.opts.people;
    return userId === p.botOwnerId || p.allowedUserIds.includes(userId);
  }

  ownerOf(host: HostRecord): number {
    return host.ownerId ?? this.opts.people.botOwnerId;
  }

  sharedWith(hostId: number): number[] {
    return this.opts.db
      .prepare<[number], { user_id: number }>("SELECT user_id FROM host_shares WHERE host_id = ? ORDER BY created_at, user_id")
      .all(hostId)
      .map((r) => r.user_id);
  }

  mayRun(userId: number, host: HostRecord): boolean {
    if (!this.isUser(userId)) return false;
    return this.ownerOf(host) === userId || this.sharedWith(host.id).includes(userId);
  }

  mayManage(userId: number, host: HostRecord): boolean {
    return userId === this.opts.people.botOwnerId || (this.isUser(userId) && this.ownerOf(host) === userId);
  }

  /** The hosts a user may run playbooks on, by name. */
  usableBy(userId: number): HostRecord[] {
    return this.opts.registry.list().filter((h) => this.mayRun(userId, h));
  }

  /** What /hosts shows a user: hosts they may run on or manage (the bot's owner: every host). */
  visibleTo(userId: number): HostView[] {
    return this.opts.registry
      .list()
      .map((host) => ({ host, ownerId: this.ownerOf(host), sharedWith: this.sharedWith(host.id), mayRun: this.mayRun(userId, host), mayManage: this.mayManage(userId, host) }))
      .filter((v) => v.mayRun || v.mayManage);
  }

  /**
   * Whether a user may run on the host called `name` now. With `hostId`, also that it is still the host they chose
   * (not one removed and added again under the same name).
   */
  checkRun(userId: number, name: string, hostId?: number): HostOutcome<{ host: HostRecord }> {
    const host = this.opts.registry.get(name);
    if (!host || (hostId !== undefined && host.id !== hostId)) return refuse("no-such-host", `the host ${name} is not registered any more; choose another one`);
    if (!this.mayRun(userId, host)) return refuse("not-allowed", `${name} is not shared with you (any more); its owner can share it from /hosts`);
    return { ok: true, host };
  }

  /**
   * /addhost: `actorId` adds a host they will own, or — the bot's owner only — one owned by `forUserId`. The
   * permission is checked before any connection. Throws HostRegistryError (refusals) or HostConnectError.
   */
  async add(actorId: number, name: string, where: HostAddress, forUserId?: number): Promise<HostRecord> {
    if (!this.isUser(actorId)) throw new HostRegistryError("only the bot's users can add hosts");
    const ownerId = forUserId ?? actorId;
    if (ownerId !== actorId) {
      if (actorId !== this.opts.people.botOwnerId) throw new HostRegistryError("only the bot's owner can add a host for someone else");
      if (!this.isUser(ownerId)) throw new HostRegistryError(`${ownerId} is not one of the bot's users (OWNER_ID, ALLOWED_USER_IDS)`);
    }
    return this.opts.registry.add(name, where, actorId, ownerId);
  }

  /** /removehost: the host's owner or the bot's owner. A host the actor cannot see is "not there" for them. */
  remove(actorId: number, name: string): HostOutcome {
    const host = this.opts.registry.get(name);
    if (!host || !(this.mayRun(actorId, host) || this.mayManage(actorId, host))) return refuse("no-such-host", `There is no host called ${name}; /hosts lists yours.`);
    if (!this.mayManage(actorId, host)) return refuse("not-allowed", `${name} is shared with you; only its owner (or the bot's owner) can remove it.`);
    this.opts.registry.remove(name);
    return { ok: true };
  }

  /** Who a host could be shared with: the bot's users except its owner. */
  shareCandidates(host: HostRecord): number[] {
    const p = this.opts.people;
    return [...new Set([p.botOwnerId, ...p.allowedUserIds])].filter((id) => id !== this.ownerOf(host));
  }

  /** Who may run on a host, for its share panel: only its owner or the bot's owner may see and change it. */
  sharing(actorId: number, hostId: number): HostOutcome<{ host: HostRecord; ownerId: number; sharedWith: number[]; candidates: number[] }> {
    const host = this.opts.registry.getById(hostId);
    if (!host) return refuse("no-such-host", "That host is not registered any more.");
    if (!this.mayManage(actorId, host)) return refuse("not-allowed", "Only the host's owner (or the bot's owner) can change who may use it.");
    return { ok: true, host, ownerId: this.ownerOf(host), sharedWith: this.sharedWith(hostId), candidates: this.shareCandidates(host) };
  }

  /** Lets `userId` run playbooks on the host (`on`), or no longer (`off`); only its owner or the bot's owner may. */
  setShared(actorId: number, hostId: number, userId: number, on: boolean): HostOutcome<{ host: HostRecord; changed: boolean }> {
    const host = this.opts.registry.getById(hostId);
    if (!host) return refuse("no-such-host", "That host is not registered any more.");
    if (!this.mayManage(actorId, host)) return refuse("not-allowed", "Only the host's owner (or the bot's owner) can change who may use it.");
    if (on && !this.isUser(userId)) return refuse("not-a-user", `${userId} is not one of the bot's users.`);
    if (userId === this.ownerOf(host)) return refuse("owner-already", `That is ${host.name}'s owner.`);
    const db = this.opts.db;
    const changed = on
      ? db.prepare("INSERT OR IGNORE INTO host_shares (host_id, user_id, shared_by, created_at) VALUES (?, ?, ?, ?)").run(hostId, userId, actorId, this.now()).changes > 0
      : db.prepare("DELETE FROM host_shares WHERE host_id = ? AND user_id = ?").run(hostId, userId).changes > 0;
    return { ok: true, host, changed };
  }
}

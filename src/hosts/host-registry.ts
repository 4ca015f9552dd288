// The hosts users run playbooks on, over the `hosts` table: added with the host key pinned on first use and an
// owner, listed, removed, and connected to with the bot's key and only the pinned host key. Who may use which host
// is HostAccess's (host-access.ts).
import { isIPv4, isIPv6 } from "node:net";
import type { Db } from "../storage/database.js";
import type { ConnectHost, Host } from "./host.js";
import { parsePinnedHostKey, publicKeyInfo, type PublicKeyInfo } from "../shared/ssh-keys.js";

export interface HostRecord {
  id: number;
  name: string;
  address: string;
  port: number;
  username: string;
  /** Base64 of the pinned host key blob. */
  hostKey: string;
  fingerprint: string;
  addedBy: number | null;
  /** The user the host belongs to; null for a host recorded before hosts had owners (the bot owner's). */
  ownerId: number | null;
  createdAt: number;
}

export interface HostAddress {
  username: string;
  address: string;
  port: number;
}

/** A registry refusal a person can act on (bad name, duplicate, unknown host). */
export class HostRegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HostRegistryError";
  }
}

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;
const USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Parses "user@address[:port]" ("user@[::1]:2222" for IPv6); throws HostRegistryError with the expected form. */
export function parseHostAddress(text: string): HostAddress {
  const m = /^([^@\s]+)@(\[[0-9A-Fa-f:.]+\]|[^:@\s[\]]+)(?::(\d{1,5}))?$/.exec(text.trim());
  const usage = `expected user@address[:port], e.g. root@203.0.113.5 or deploy@web.example.com:2222, got ${JSON.stringify(text)}`;
  if (!m) throw new HostRegistryError(usage);
  const [, username, rawAddress, rawPort] = m as unknown as [string, string, string, string | undefined];
  const address = rawAddress.startsWith("[") ? rawAddress.slice(1, -1) : rawAddress;
  const port = rawPort === undefined ? 22 : Number(rawPort);
  if (!USER.test(username)) throw new HostRegistryError(`${JSON.stringify(username)} is not a valid user name`);
  if (rawAddress.startsWith("[")) {
    if (!isIPv6(address)) throw new HostRegistryError(`${JSON.stringify(address)} is not an IPv6 address`);
  } else if (!HOSTNAME.test(address) || (/^[\d.]+$/.test(address) && !isIPv4(address))) {
    // All digits and dots is meant as an IPv4 address: "256.1.1.1" would otherwise go to DNS as a name.
    throw new HostRegistryError(`${JSON.stringify(address)} is not a host name or IP address`);
  }
  if (port < 1 || port > 65535) throw new HostRegistryError(`port ${port} is out of range (1–65535)`);
  return { username, address, port };
}

interface HostRow {
  id: number;
  name: string;
  address: string;
  port: number;
  username: string;
  host_key: string | null;
  added_by: number | null;
  owner_id: number | null;
  created_at: number;
}

const toRecord = (r: HostRow): HostRecord => ({
  id: r.id,
  name: r.name,
  address: r.address,
  port: r.port,
  username: r.username,
  hostKey: r.host_key ?? "",
  fingerprint: r.host_key ? publicKeyInfo(parsePinnedHostKey(r.host_key)).fingerprint : "(no key pinned)",
  addedBy: r.added_by,
  ownerId: r.owner_id,
  createdAt: r.created_at,
});

export interface HostRegistryOptions {
  db: Db;
  /** Connects with the bot's key (the SSH adapter). */
  connect: ConnectHost;
  now?: () => number;
}

export class HostRegistry {
  private readonly now: () => number;

  constructor(private readonly opts: HostRegistryOptions) {
    this.now = opts.now ?? Date.now;
  }

  list(): HostRecord[] {
    return this.opts.db.prepare<[], HostRow>("SELECT * FROM hosts ORDER BY name").all().map(toRecord);
  }

  get(name: string): HostRecord | undefined {
    const row = this.opts.db.prepare<[string], HostRow>("SELECT * FROM hosts WHERE name = ?").get(name);
    return row ? toRecord(row) : undefined;
  }

  getById(id: number): HostRecord | undefined {
    const row = this.opts.db.prepare<[number], HostRow>("SELECT * FROM hosts WHERE id = ?").get(id);
    return row ? toRecord(row) : undefined;
  }

  /**
   * Connects once with the bot's key, accepting and pinning whatever host key is offered (first use), and
   * records the host only when that connection succeeded, owned by `ownerId` (the adder unless the bot owner adds
   * it for someone). Throws HostConnectError (e.g. "not-authorised").
   */
  async add(name: string, where: HostAddress, addedBy: number, ownerId: number = addedBy): Promise<HostRecord> {
    if (!HOST_NAME.test(name)) throw new HostRegistryError(`${JSON.stringify(name)} is not a usable host name: letters, digits, ".", "_" and "-", up to 32`);
    if (this.get(name)) throw new HostRegistryError(`there is already a host called ${name}; /removehost ${name} first to replace it`);
    let seen: PublicKeyInfo | null = null;
    const host = await this.opts.connect({ ...where, hostKey: { pinOnFirstUse: (key) => (seen = key) } });
    await host.close();
    const key = seen as PublicKeyInfo | null;
    if (!key) throw new Error(`${where.address} offered no host key`);
    // A concurrent /addhost of the same name loses here, on the UNIQUE constraint, with a clear message.
    try {
      this.opts.db
        .prepare("INSERT INTO hosts (name, address, port, username, host_key, added_by, owner_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .run(name, where.address, where.port, where.username, key.blob, addedBy, ownerId, this.now());
    } catch (err) {
      if (/UNIQUE/.test((err as Error).message)) throw new HostRegistryError(`there is already a host called ${name}`);
      throw err;
    }
    return this.get(name)!;
  }

  /** True when a host of that name existed; its shares go with it. Virtualenvs built on it stay on the machine. */
  remove(name: string): boolean {
    return this.opts.db.prepare("DELETE FROM hosts WHERE name = ?").run(name).changes > 0;
  }

  /** Connects with the pinned key only; a changed key is refused (HostConnectError "host-key-changed"). */
  async connect(name: string): Promise<Host> {
    const record = this.get(name);
    if (!record) throw new HostRegistryError(`there is no host called ${name} any more; /hosts lists them`);
    if (!record.hostKey) throw new HostRegistryError(`host ${name} has no pinned host key; remove it and add it again`);
    return this.opts.connect({ address: record.address, port: record.port, username: record.username, hostKey: record.hostKey });
  }
}

/** "root@10.0.0.5" or "deploy@web:2222": how a host is shown in chat. */
export function hostAddressText(h: HostAddress): string {
  const addr = h.address.includes(":") ? `[${h.address}]` : h.address;
  return `${h.username}@${addr}${h.port === 22 ? "" : `:${h.port}`}`;
}

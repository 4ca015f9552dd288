// Who may do what with a host, on a real SQLite file, for each role: the bot's owner, the host's owner, a user it is
// shared with, another allowed user, and a stranger (not in OWNER_ID or ALLOWED_USER_IDS). No Telegram.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HostAccess } from "../../src/hosts/host-access.js";
import type { HostRegistry } from "../../src/hosts/host-registry.js";
import { openDatabase, type Db } from "../../src/storage/database.js";
import { MIGRATIONS } from "../../src/storage/migrations.js";
import { registryWithoutSsh, where } from "./host-fixture.js";

const BOT_OWNER = 100;
const ALICE = 200; // owns "alice-box"
const BOB = 300; // alice-box is shared with him
const CAROL = 400; // another allowed user
const STRANGER = 900;

let dir: string;
let db: Db;
let registry: HostRegistry;
let connections: string[];
let access: HostAccess;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-host-access-"));
  db = openDatabase(path.join(dir, "db.sqlite"));
  ({ registry, connections } = registryWithoutSsh(db));
  access = new HostAccess({ db, registry, people: { botOwnerId: BOT_OWNER, allowedUserIds: [ALICE, BOB, CAROL] } });
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Alice's host, shared with Bob; and the bot owner's own host. */
async function aliceSharesWithBob() {
  const box = await access.add(ALICE, "alice-box", where("192.0.2.1"));
  expect(access.setShared(ALICE, box.id, BOB, true)).toMatchObject({ ok: true, changed: true });
  const own = await access.add(BOT_OWNER, "owner-box", where("192.0.2.2"));
  return { box, own };
}

const names = (hosts: { name: string }[]) => hosts.map((h) => h.name);

describe("adding hosts", () => {
  it("an allowed user adds a host they then own; the bot's owner adds one for another user", async () => {
    const mine = await access.add(CAROL, "carol-box", where("192.0.2.3"));
    expect(mine).toMatchObject({ ownerId: CAROL, addedBy: CAROL });
    const forAlice = await access.add(BOT_OWNER, "for-alice", where("192.0.2.4"), ALICE);
    expect(forAlice).toMatchObject({ ownerId: ALICE, addedBy: BOT_OWNER });
    expect(names(access.usableBy(ALICE))).toEqual(["for-alice"]);
    expect(names(access.usableBy(BOT_OWNER))).toEqual([]);
  });

  it("refuses, before connecting anywhere, a stranger's host, a host for someone else by a non-owner, and a host for a stranger", async () => {
    await expect(access.add(STRANGER, "x", where("192.0.2.9"))).rejects.toThrow("only the bot's users can add hosts");
    await expect(access.add(CAROL, "x", where("192.0.2.9"), ALICE)).rejects.toThrow("only the bot's owner can add a host for someone else");
    await expect(access.add(BOT_OWNER, "x", where("192.0.2.9"), STRANGER)).rejects.toThrow(`${STRANGER} is not one of the bot's users`);
    expect(connections).toEqual([]);
    expect(registry.list()).toEqual([]);
  });
});

describe("running on a host, by role", () => {
  it("only the host's owner and the users it is shared with may run on it", async () => {
    const { box } = await aliceSharesWithBob();
    expect([ALICE, BOB, CAROL, BOT_OWNER, STRANGER].map((u) => access.mayRun(u, box))).toEqual([true, true, false, false, false]);
    expect(names(access.usableBy(ALICE))).toEqual(["alice-box"]);
    expect(names(access.usableBy(BOB))).toEqual(["alice-box"]);
    expect(names(access.usableBy(CAROL))).toEqual([]);
    expect(names(access.usableBy(BOT_OWNER))).toEqual(["owner-box"]);
    expect(names(access.usableBy(STRANGER))).toEqual([]);
  });

  it("checkRun says why: not shared, not registered, or registered again under the same name", async () => {
    const { box } = await aliceSharesWithBob();
    expect(access.checkRun(BOB, "alice-box", box.id)).toMatchObject({ ok: true, host: { id: box.id } });
    expect(access.checkRun(CAROL, "alice-box")).toEqual({ ok: false, reason: "not-allowed", message: "alice-box is not shared with you (any more); its owner can share it from /hosts" });
    expect(access.checkRun(BOT_OWNER, "alice-box")).toMatchObject({ ok: false, reason: "not-allowed" });
    expect(access.checkRun(STRANGER, "alice-box")).toMatchObject({ ok: false, reason: "not-allowed" });
    expect(access.checkRun(BOB, "no-such")).toMatchObject({ ok: false, reason: "no-such-host" });

    access.setShared(ALICE, box.id, BOB, false);
    expect(access.checkRun(BOB, "alice-box", box.id)).toMatchObject({ ok: false, reason: "not-allowed" });

    // Removed and added again by its owner: the same name, another host — the choice made before does not carry over.
    expect(access.remove(ALICE, "alice-box")).toEqual({ ok: true });
    const again = await access.add(ALICE, "alice-box", where("192.0.2.1"));
    expect(access.checkRun(ALICE, "alice-box", box.id)).toMatchObject({ ok: false, reason: "no-such-host" });
    expect(access.checkRun(ALICE, "alice-box", again.id)).toMatchObject({ ok: true });
  });
});

describe("sharing", () => {
  it("the host's owner and the bot's owner may share and unshare; a shared user, another user and a stranger may not", async () => {
    const { box } = await aliceSharesWithBob();
    const notAllowed = { ok: false, reason: "not-allowed", message: "Only the host's owner (or the bot's owner) can change who may use it." };
    for (const actor of [BOB, CAROL, STRANGER]) {
      expect(access.setShared(actor, box.id, CAROL, true), String(actor)).toEqual(notAllowed);
      expect(access.setShared(actor, box.id, BOB, false), String(actor)).toEqual(notAllowed);
      expect(access.sharing(actor, box.id), String(actor)).toEqual(notAllowed);
    }
    expect(access.sharedWith(box.id)).toEqual([BOB]);

    expect(access.setShared(BOT_OWNER, box.id, CAROL, true)).toMatchObject({ ok: true, changed: true });
    expect(access.setShared(BOT_OWNER, box.id, CAROL, true)).toMatchObject({ ok: true, changed: false });
    expect(access.setShared(ALICE, box.id, BOB, false)).toMatchObject({ ok: true, changed: true });
    expect(access.setShared(ALICE, box.id, BOB, false)).toMatchObject({ ok: true, changed: false });
    expect(access.sharedWith(box.id)).toEqual([CAROL]);
  });

  it("shares only with the bot's users, never with the host's own owner", async () => {
    const { box } = await aliceSharesWithBob();
    expect(access.setShared(ALICE, box.id, STRANGER, true)).toMatchObject({ ok: false, reason: "not-a-user" });
    expect(access.setShared(ALICE, box.id, ALICE, true)).toMatchObject({ ok: false, reason: "owner-already" });
    expect(access.setShared(ALICE, box.id + 99, BOB, true)).toMatchObject({ ok: false, reason: "no-such-host" });
    // The bot's owner is among the people it can be shared with; the host's owner is not.
    expect(access.sharing(ALICE, box.id)).toMatchObject({ ok: true, ownerId: ALICE, sharedWith: [BOB], candidates: [BOT_OWNER, BOB, CAROL] });
  });
});

describe("/hosts and /removehost, by role", () => {
  it("shows each user the hosts they may run on or manage; the bot's owner sees every host", async () => {
    await aliceSharesWithBob();
    const view = (u: number) => access.visibleTo(u).map((v) => [v.host.name, v.ownerId, v.sharedWith, v.mayRun, v.mayManage]);
    expect(view(ALICE)).toEqual([["alice-box", ALICE, [BOB], true, true]]);
    expect(view(BOB)).toEqual([["alice-box", ALICE, [BOB], true, false]]);
    expect(view(CAROL)).toEqual([]);
    expect(view(STRANGER)).toEqual([]);
    expect(view(BOT_OWNER)).toEqual([
      ["alice-box", ALICE, [BOB], false, true],
      ["owner-box", BOT_OWNER, [], true, true],
    ]);
  });

  it("lets the host's owner and the bot's owner remove it; a shared user is told who can; others are told there is none", async () => {
    const { box } = await aliceSharesWithBob();
    expect(access.remove(BOB, "alice-box")).toEqual({ ok: false, reason: "not-allowed", message: "alice-box is shared with you; only its owner (or the bot's owner) can remove it." });
    for (const actor of [CAROL, STRANGER]) {
      expect(access.remove(actor, "alice-box")).toEqual({ ok: false, reason: "no-such-host", message: "There is no host called alice-box; /hosts lists yours." });
    }
    expect(registry.get("alice-box")).toBeDefined();
    expect(access.remove(BOT_OWNER, "alice-box")).toEqual({ ok: true });
    // Its shares went with it.
    expect(db.prepare("SELECT COUNT(*) AS n FROM host_shares WHERE host_id = ?").get(box.id)).toEqual({ n: 0 });
    await access.add(ALICE, "alice-box", where("192.0.2.1"));
    expect(access.remove(ALICE, "alice-box")).toEqual({ ok: true });
  });
});

describe("migration 3", () => {
  it("gives hosts added before owners existed to whoever added them (the bot's owner, then), shared with nobody", () => {
    const file = path.join(dir, "old.sqlite");
    const old = openDatabase(file, MIGRATIONS.slice(0, 2));
    old.prepare("INSERT INTO hosts (name, address, port, username, host_key, added_by, created_at) VALUES ('legacy', '192.0.2.7', 22, 'root', NULL, ?, 1)").run(BOT_OWNER);
    old.prepare("INSERT INTO hosts (name, address, port, username, host_key, added_by, created_at) VALUES ('unknown', '192.0.2.8', 22, 'root', NULL, NULL, 1)").run();
    old.close();
    const upgraded = openDatabase(file);
    try {
      const { registry: r } = registryWithoutSsh(upgraded);
      const a = new HostAccess({ db: upgraded, registry: r, people: { botOwnerId: BOT_OWNER, allowedUserIds: [ALICE] } });
      expect(r.get("legacy")).toMatchObject({ ownerId: BOT_OWNER });
      expect(r.get("unknown")).toMatchObject({ ownerId: null });
      expect(names(a.usableBy(BOT_OWNER))).toEqual(["legacy", "unknown"]);
      expect(names(a.usableBy(ALICE))).toEqual([]);
    } finally {
      upgraded.close();
    }
  });
});

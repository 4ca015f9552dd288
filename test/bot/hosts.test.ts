// /addhost, /hosts, /removehost and the share panels through the fake Telegram, with the real HostAccess on the bot's
// SQLite file and a real sshd host for /addhost: who owns a host, who sees it, who may share it and remove it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { REFUSAL } from "../../src/bot/access.js";
import { hostsFeature } from "../../src/bot/features/hosts.js";
import { HostAccess } from "../../src/hosts/host-access.js";
import { HostRegistry } from "../../src/hosts/host-registry.js";
import { KnownUsers } from "../../src/jobs/known-users.js";
import { loadOrCreateBotKey } from "../../src/remote/bot-key.js";
import { sshHostConnector } from "../../src/remote/ssh-host.js";
import { generateEd25519 } from "../../src/shared/ssh-keys.js";
import type { SentMessage } from "../world/fake-telegram.js";
import { freeLoopbackAddress } from "../world/loopback.js";
import { startSshHost, type SshHost } from "../world/sshd-host.js";
import { friend, owner, startBotWorld, stranger, type BotWorld } from "./bot-world.js";

const carol = { id: 1003, first_name: "Carol" };

let dir: string;
let host: SshHost;
let address: string;
let botKey: ReturnType<typeof loadOrCreateBotKey>;
let world: BotWorld | undefined;
let access: HostAccess;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-bot-hosts-"));
  botKey = loadOrCreateBotKey(path.join(dir, "keys"));
  address = await freeLoopbackAddress(22);
  host = await startSshHost({ address, dir: path.join(dir, "host"), hostPrivateKey: generateEd25519("h").private, authorizedKeys: [botKey.publicKey] });
});

afterAll(async () => {
  await host?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function start(): Promise<BotWorld> {
  world = await startBotWorld({
    allowedUserIds: [carol.id],
    knownUsers: true,
    features: (db) => {
      const registry = new HostRegistry({ db, connect: sshHostConnector(botKey.privateKey, 5000) });
      access = new HostAccess({ db, registry, people: { botOwnerId: owner.id, allowedUserIds: [friend.id, carol.id] } });
      const names = new KnownUsers(db);
      return [hostsFeature({ access, nameOf: (id) => names.nameOf(id), botPublicKey: botKey.publicKey })];
    },
  });
  return world;
}

/** A user's message and the bot's next answer to them. */
async function say(user: { id: number; first_name: string }, text: string): Promise<SentMessage> {
  world!.tg.sendText(user, text);
  return world!.tg.nextMessage(user.id, 15_000);
}

function button(m: SentMessage, label: RegExp): string {
  const b = m.reply_markup?.inline_keyboard?.flat().find((x) => label.test(x.text));
  if (!b?.callback_data) throw new Error(`no button ${label} on: ${JSON.stringify(m.reply_markup)}`);
  return b.callback_data;
}

const labels = (m: SentMessage) => (m.reply_markup?.inline_keyboard ?? []).flat().map((b) => b.text);

/** Presses a button and waits until the message it is on reads `expected`. */
async function pressAndSee(user: { id: number; first_name: string }, m: SentMessage, label: RegExp, expected: RegExp): Promise<SentMessage> {
  const { tg } = world!;
  tg.pressButton(user, m, button(m, label));
  return tg.waitFor(() => tg.messages(m.chat_id).find((x) => x.message_id === m.message_id && expected.test(x.text)), 10_000, `message to read ${expected}`);
}

describe("adding hosts", () => {
  it("an allowed user adds a host and owns it: it is theirs and the bot owner's to see, not another user's", async () => {
    await start();
    const added = await say(friend, `/addhost fredbox root@${address}`);
    expect(added.text).toContain(`Added fredbox (root@${address})`);
    expect(added.text).toContain("It is yours: only you run playbooks on it until you share it (/hosts).");
    expect(access.visibleTo(friend.id).map((v) => [v.host.name, v.ownerId])).toEqual([["fredbox", friend.id]]);

    expect((await say(carol, "/hosts")).text).toBe("You have no hosts yet, and none is shared with you. Usage: /addhost <name> <user>@<address>[:port], e.g. /addhost web1 root@203.0.113.5");
    const ownerList = await say(owner, "/hosts");
    expect(ownerList.text).toContain(`fredbox — root@${address}`);
    expect(ownerList.text).toContain("owner: Fred · 1002 · not shared · you do not run playbooks on it");
    expect(labels(ownerList)).toEqual(["👥 fredbox"]);
  });

  it("the bot's owner adds a host for another user; nobody else may add one for someone", async () => {
    await start();
    await say(carol, "/hosts"); // the bot learns Carol's name
    const added = await say(owner, `/addhost carolbox root@${address} for ${carol.id}`);
    expect(added.text).toContain("It belongs to Carol · 1003, who decides who else may use it.");
    expect(access.usableBy(carol.id).map((h) => h.name)).toEqual(["carolbox"]);
    expect(access.usableBy(owner.id)).toEqual([]);

    const refused = await say(friend, `/addhost other root@${address} for ${carol.id}`);
    expect(refused.text).toBe("⚠️ Not added: only the bot's owner can add a host for someone else");
    const forStranger = await say(owner, `/addhost other root@${address} for ${stranger.id}`);
    expect(forStranger.text).toBe(`⚠️ Not added: ${stranger.id} is not one of the bot's users (OWNER_ID, ALLOWED_USER_IDS)`);
    expect((await say(friend, "/addhost other")).text).toContain("Usage: /addhost");
  });
});

describe("sharing from /hosts", () => {
  it("the host's owner shares by button; the shared user sees it but cannot change it; strangers' presses do nothing", async () => {
    const { tg } = await start();
    await say(carol, "/start");
    await say(owner, "/start");
    await say(friend, `/addhost fredbox root@${address}`);
    const list = await say(friend, "/hosts");
    expect(list.text).toContain("owner: you · not shared");
    const panel = await pressAndSee(friend, list, /fredbox/, /Who may run playbooks on fredbox/);
    expect(panel.text).toContain("Owner: you. They run as root there.");
    expect(labels(panel)).toEqual(["➕ Olga (@olga) · 1001", "➕ Carol · 1003", "« Hosts"]);

    tg.pressButton(friend, panel, button(panel, /Carol/));
    await tg.waitFor(() => labels(tg.messages(friend.id).find((m) => m.message_id === panel.message_id)!).includes("✅ Carol · 1003"), 10_000);
    expect(tg.answeredCallbacks.at(-1)!.text).toBe("fredbox: Carol · 1003 may run playbooks on it.");
    expect(access.sharedWith(access.visibleTo(friend.id)[0]!.host.id)).toEqual([carol.id]);

    const carolList = await say(carol, "/hosts");
    expect(carolList.text).toContain("owner: Fred · 1002 · shared with you");
    expect(carolList.reply_markup).toBeUndefined();

    // Carol and a stranger forge presses of Fred's buttons: refused, nothing changes.
    const unshareCarol = button(tg.messages(friend.id).find((m) => m.message_id === panel.message_id)!, /Carol/);
    const byCarol = tg.pressButton(carol, panel, unshareCarol, { force: true });
    const byStranger = tg.pressButton(stranger, panel, unshareCarol, { force: true });
    await tg.waitFor(() => tg.answeredCallbacks.filter((a) => [byCarol, byStranger].includes(a.callback_query_id)).length === 2);
    const answers = Object.fromEntries(tg.answeredCallbacks.map((a) => [a.callback_query_id, a.text]));
    expect(answers[byCarol]).toBe("Only the host's owner (or the bot's owner) can change who may use it.");
    expect(answers[byStranger]).toBe(REFUSAL);
    expect(access.usableBy(carol.id).map((h) => h.name)).toEqual(["fredbox"]);

    // Back to the list from the panel.
    const back = await pressAndSee(friend, panel, /Hosts/, /<b>Hosts<\/b>|^Hosts/);
    expect(back.text).toContain("owner: you · shared with Carol · 1003");
  });

  it("a press answered too late for Telegram still unshares, and the panel shows it", async () => {
    const { tg } = await start();
    await say(friend, `/addhost fredbox root@${address}`);
    const box = access.visibleTo(friend.id)[0]!.host;
    access.setShared(friend.id, box.id, carol.id, true);
    const panel = await pressAndSee(friend, await say(friend, "/hosts"), /fredbox/, /Who may run/);
    // Carol never wrote to this bot, so she is known by her id only.
    tg.failNext("answerCallbackQuery", { error_code: 400, description: "Bad Request: query is too old and response timeout expired or query ID is invalid" });
    tg.pressButton(friend, panel, button(panel, /^✅ 1003$/));
    await tg.waitFor(() => labels(tg.messages(friend.id).find((m) => m.message_id === panel.message_id)!).some((l) => l.startsWith("➕ 1003")), 10_000);
    expect(access.sharedWith(box.id)).toEqual([]);
    expect(tg.messages(friend.id).map((m) => m.text).join("\n")).not.toContain("Something went wrong");
  });
});

describe("/removehost by role", () => {
  it("the host's owner and the bot's owner may remove it; a shared user is told who can; another user hears there is none", async () => {
    await start();
    await say(friend, `/addhost fredbox root@${address}`);
    await say(friend, `/addhost fredbox2 root@${address}`);
    access.setShared(friend.id, access.visibleTo(friend.id)[0]!.host.id, carol.id, true);
    expect((await say(carol, "/removehost fredbox")).text).toBe("fredbox is shared with you; only its owner (or the bot's owner) can remove it.");
    expect((await say(carol, "/removehost fredbox2")).text).toBe("There is no host called fredbox2; /hosts lists yours.");
    expect((await say(owner, "/removehost fredbox")).text).toContain("Removed fredbox.");
    expect((await say(friend, "/removehost fredbox2")).text).toContain("Removed fredbox2.");
    expect(access.visibleTo(owner.id)).toEqual([]);
  });
});

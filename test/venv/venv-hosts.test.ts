// Venvs on registered hosts, over real sshd: the scheduled collection (wired as the app wires it) reaches every
// registered host one at a time, skips one that is down, keeps pinned and in-use venvs; /venvs lists and removes on
// a named host, owner only, through the use-cases and through the bot's command.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wireVenvCollector } from "../../src/app/wire-services.js";
import { venvsFeature } from "../../src/bot/features/venvs.js";
import { HostRegistry } from "../../src/hosts/host-registry.js";
import { run, type Host } from "../../src/hosts/host.js";
import { LocalHost } from "../../src/remote/local-host.js";
import { sshHostConnector } from "../../src/remote/ssh-host.js";
import { createLogger } from "../../src/shared/logger.js";
import { listHostVenvs, removeHostVenv, type HostVenvsDeps } from "../../src/venv/host-venvs.js";
import type { VenvCollector } from "../../src/venv/venv-collector.js";
import type { VenvManager } from "../../src/venv/venv-manager.js";
import { friend, owner, startBotWorld, type BotWorld } from "../bot/bot-world.js";
import { startSshFixture, type SshFixture } from "../remote/ssh-fixture.js";
import { startVenvWorld, type VenvWorld } from "./venv-world.js";

const DAY = 86_400_000;
const ROOT = "/root/.dropship/venvs";
const names = { old: "dropship-aaaaaaaaaaaa", pinned: "dropship-bbbbbbbbbbbb", busy: "dropship-cccccccccccc", spare: "dropship-dddddddddddd", friends: "dropship-eeeeeeeeeeee" };

let w: VenvWorld;
let down: SshFixture;
let registry: HostRegistry;
let ssh: Host;
let manager: VenvManager;
const t0 = Date.now();

/** A venv laid out as the builder leaves one (a real `python3 -m venv` in the store, the name a symlink to it), recorded as last used at t0. */
async function makeVenv(name: string): Promise<void> {
  const build = `${ROOT}/.store/${name}-old1`;
  await run(ssh, ["sh", "-c", 'mkdir -p "$1/.store" && python3 -m venv --without-pip "$2" && ln -s "$2" "$1/$3"', "sh", ROOT, build, name]);
  manager.store.upsert({ host: ssh.label, name, path: `${ROOT}/${name}`, spec: "{}", status: "ready" }, t0);
}

/** Whether the venv's name (a symlink into the host's own /root, so not followed from outside) is on the host. */
function onHost(name: string): boolean {
  try {
    return fs.lstatSync(path.join(w.outsideRoot, name)).isSymbolicLink();
  } catch {
    return false;
  }
}

beforeAll(async () => {
  [w, down] = await Promise.all([startVenvWorld(), startSshFixture("dropship-venv-down-")]);
  registry = new HostRegistry({ db: w.db, connect: sshHostConnector(w.ssh.botKey.privateKey, 5000) });
  await registry.add("b-up", { username: "root", address: w.ssh.world.address, port: 22 }, owner.id);
  // The same machine again, added by the bot's owner for a friend: the friend owns this registration.
  await registry.add("c-friends", { username: "root", address: w.ssh.world.address, port: 22 }, owner.id, friend.id);
  // Registered while it answered, then gone: the collection must skip it.
  await new HostRegistry({ db: w.db, connect: sshHostConnector(down.botKey.privateKey, 5000) }).add("a-down", { username: "root", address: down.world.address, port: 22 }, owner.id);
  await down.world.stop();
  ssh = await registry.connect("b-up");
  // "Now" is 90 days after the venvs were last used; collection is for venvs unused for 30.
  manager = w.manager({ now: () => t0 + 90 * DAY });
  for (const name of Object.values(names)) await makeVenv(name);
  manager.pin(ssh.label, names.pinned);
  manager.store.addUse(ssh.label, names.busy, 1, t0);
}, 120_000);
afterAll(async () => {
  await ssh?.close();
  await down?.stop();
  await w?.stop();
});

describe("/venvs on a registered host", () => {
  const deps = (): HostVenvsDeps => ({ venvs: manager, localHost: new LocalHost(), hosts: registry, ownerId: owner.id });

  it("lists a named host's venvs and lets only the owner remove one", async () => {
    const listed = await listHostVenvs(deps(), "b-up");
    expect(listed.ok && listed.venvs!.map((v) => v.name).sort()).toEqual(Object.values(names).sort());
    expect(await removeHostVenv(deps(), 4242, names.spare, "b-up")).toEqual({ ok: false, text: "Only the owner can remove virtualenvs." });
    expect(listed.ok && listed.venvs!.every((v) => v.host === "b-up")).toBe(true);

    expect(await removeHostVenv(deps(), friend.id, names.spare, "b-up")).toEqual({ ok: false, text: "Only the owner can remove virtualenvs." });
    expect(onHost(names.spare)).toBe(true);
    // A host's owner may remove venvs on it.
    expect(await removeHostVenv(deps(), friend.id, names.friends, "c-friends")).toEqual({ ok: true, text: `Removed ${names.friends} from c-friends.` });
    expect(onHost(names.friends)).toBe(false);
    expect(await removeHostVenv(deps(), owner.id, names.pinned, "b-up")).toMatchObject({ ok: false, text: expect.stringMatching(/^Not removed: .* is pinned/) });
    expect(await removeHostVenv(deps(), owner.id, names.spare, "nowhere")).toMatchObject({ ok: false, text: expect.stringMatching(/no host called nowhere/) });
    const unreachable = await removeHostVenv(deps(), owner.id, names.spare, "a-down");
    expect(unreachable).toMatchObject({ ok: false, text: expect.stringMatching(/^Cannot reach a-down: .*Nothing was removed\.$/) });

    // Without a host: the name is recorded on one host only, found by that host's connection label.
    expect(await removeHostVenv(deps(), owner.id, names.spare)).toEqual({ ok: true, text: `Removed ${names.spare} from b-up.` });
    expect(onHost(names.spare)).toBe(false);
    expect(manager.store.get(ssh.label, names.spare)!.status).toBe("removed");
  });

  it("answers the command in chat through the bot", async () => {
    let bot: BotWorld | null = null;
    try {
      bot = await startBotWorld({ features: [venvsFeature(deps())] });
      bot.tg.sendText(owner, "/venvs b-up");
      const list = await bot.tg.nextMessage(owner.id);
      expect(list.text).toContain("b-up — 3 venvs"); // the spare went in the test before
      expect(list.text).toContain(names.old);
      bot.tg.sendText(friend, `/venvs remove ${names.old} b-up`);
      expect((await bot.tg.nextMessage(friend.id)).text).toBe("Only the owner can remove virtualenvs.");
      expect(onHost(names.old)).toBe(true);
      bot.tg.sendText(owner, `/venvs remove ${names.pinned} b-up`);
      expect((await bot.tg.nextMessage(owner.id)).text).toMatch(/^Not removed: .*is pinned/);
      bot.tg.sendText(owner, "/venvs remove");
      expect((await bot.tg.nextMessage(owner.id)).text).toMatch(/^Usage: /);
    } finally {
      await bot?.close();
    }
  });
});

describe("scheduled collection on every registered host", () => {
  let collector: VenvCollector | null = null;
  afterAll(() => collector?.stop());

  it("removes the old venv over SSH, keeps pinned and in-use ones, and skips the host that is down", async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ level: "info", destination: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) } });
    const localRoot = fs.mkdtempSync(path.join(w.ssh.tempDir, "local-venvs-"));
    const local = w.manager({ now: () => t0 + 90 * DAY, venv: { root: localRoot, gcUnusedMs: 30 * DAY, minFreeMb: 1 } });
    collector = wireVenvCollector({ manager: local, localHost: new LocalHost() }, registry, logger);
    collector.start("* * * * * *");
    for (const deadline = Date.now() + 60_000; !lines.some((l) => l.msg === "removed unused virtualenvs" && l.host === "b-up"); ) {
      if (Date.now() > deadline) throw new Error(`no collection on b-up within 60 s: ${JSON.stringify(lines)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    collector.stop();
    expect(lines.find((l) => l.msg === "removed unused virtualenvs" && l.host === "b-up")!.removed).toEqual([names.old]);
    expect(onHost(names.old)).toBe(false);
    expect(fs.existsSync(path.join(w.outsideRoot, ".store", `${names.old}-old1`))).toBe(false);
    for (const kept of [names.pinned, names.busy]) {
      expect(onHost(kept)).toBe(true);
      expect(fs.existsSync(path.join(w.outsideRoot, ".store", `${kept}-old1`, "bin", "python3"))).toBe(true);
    }
    expect(manager.list(ssh.label).map((v) => v.name).sort()).toEqual([names.pinned, names.busy].sort());
    // a-down sorts first: it was tried, logged and skipped, and b-up was still collected after it.
    expect(lines.some((l) => l.msg === "virtualenv garbage collection skipped a host it cannot reach" && l.host === "a-down")).toBe(true);
  }, 120_000);
});

// End to end, the way a real project arrives: its requirements.yml names a Galaxy role (which depends on a second
// role and uses a collection the project never declares), a git role, and a collection that depends on another.
// Uploaded in the chat, analysed through the closure (the card says where each need comes from), run on a host with
// a venv built through the Galaxy stand-in, recap received; then --syntax-check passes inside that venv.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/hosts/host.js";
import { generateEd25519 } from "../../src/shared/ssh-keys.js";
import { buildTestCollections } from "../world/collection-tarballs.js";
import type { SentMessage } from "../world/fake-telegram.js";
import { makeRoleArchive, roleFiles, startGalaxy, type GalaxyStandIn } from "../world/galaxy.js";
import { freeLoopbackAddress } from "../world/loopback.js";
import { startSshHost, type SshHost } from "../world/sshd-host.js";
import { ALICE, buttonData, lastMessageId, nextBotMessage, startWorld, type World } from "./harness.js";

let world: World;
let galaxy: GalaxyStandIn;
let host: SshHost;
let address: string;
let project: Buffer;
let projectFiles: Record<string, string>;

const yaml = (v: unknown) => JSON.stringify(v, null, 2) + "\n"; // JSON is YAML
const hostKey = generateEd25519("closure-test-host");

beforeAll(async () => {
  world = await startWorld();
  galaxy = await startGalaxy({ collectionDirs: [world.collectionsDir, await buildTestCollections()] });
  const archives = path.join(world.dir, "role-archives");
  galaxy.addRole("dropship", "web", "2.0.0", await makeRoleArchive(archives, {
    top: "ansible-role-web-2.0.0",
    dependencies: [{ role: "dropship.common" }],
    files: {
      "tasks/main.yml": yaml([
        { name: "web: a file to patch", "ansible.builtin.copy": { dest: "{{ lookup('ansible.builtin.env', 'HOME') }}/web.txt", content: "one\ntwo\n" } },
        { name: "web: patch it", "ansible.posix.patch": { src: "web.patch", dest: "{{ lookup('ansible.builtin.env', 'HOME') }}/web.txt" } },
      ]),
      "files/web.patch": "--- a/web.txt\n+++ b/web.txt\n@@ -1,2 +1,2 @@\n one\n-two\n+patched by the web role\n",
    },
  }));
  galaxy.addRole("dropship", "common", "1.0.0", await makeRoleArchive(archives, { top: "ansible-role-common-1.0.0", message: "common role here" }));
  const git = await galaxy.addGitRepo("git-role", [{ tag: "v1.0.0", files: roleFiles({ message: "git role here" }) }]);
  const app = await world.startApp({ GALAXY_SERVER: galaxy.url, COLLECTION_TARBALL_DIR: "" });
  address = await freeLoopbackAddress(22);
  host = await startSshHost({ address, dir: path.join(world.dir, "host"), hostPrivateKey: hostKey.private, authorizedKeys: [app.botKey.publicKey] });

  projectFiles = {
    "site.yml": yaml([{ name: "closure", hosts: "all", gather_facts: false, roles: ["dropship.web", "gitrole"], tasks: [{ name: "app module", "dropship.app.app_hello": { name: "e2e" }, register: "app" }, { "ansible.builtin.debug": { var: "app.msg" } }] }]),
    "requirements.yml": yaml({ roles: [{ name: "dropship.web" }, { name: "gitrole", src: `git+${git.url}`, version: "v1.0.0" }], collections: [{ name: "dropship.app" }] }),
  };
  const src = path.join(world.dir, "project-src", "closure");
  for (const [rel, text] of Object.entries(projectFiles)) {
    fs.mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
    fs.writeFileSync(path.join(src, rel), text);
  }
  project = execFileSync("tar", ["-czf", "-", "-C", path.dirname(src), "closure"]);
}, 300_000);

afterAll(async () => {
  await host?.stop();
  await galaxy?.stop();
  await world?.stop();
});

function say(text: string): Promise<SentMessage> {
  const before = lastMessageId(world, ALICE.id);
  world.telegram.sendText(ALICE, text);
  return nextBotMessage(world, ALICE.id, before, () => true, 30_000);
}

function press(m: SentMessage, label: RegExp): Promise<SentMessage> {
  const before = lastMessageId(world, ALICE.id);
  world.telegram.pressButton(ALICE, m, buttonData(m, label));
  return nextBotMessage(world, ALICE.id, before, (x) => !x.document, 30_000);
}

describe("a project with Galaxy, git and dependent roles and collections", () => {
  it("is analysed through its roles, runs in a venv built through Galaxy, and parses inside that venv", async () => {
    await say(`/addhost web1 root@${address}`);
    const before = lastMessageId(world, ALICE.id);
    world.telegram.sendDocument(ALICE, { fileName: "closure.tar.gz", mimeType: "application/gzip", bytes: project });
    const card = await nextBotMessage(world, ALICE.id, before, (m) => m.text.includes("Playbook analysis"), 180_000);
    // Where each need comes from: the role's undeclared collection, the role's own dependency, the git role.
    expect(card.text).toMatch(/ansible\.posix — from role dropship\.web/);
    expect(card.text).toMatch(/dropship\.common — galaxy, dependency of role dropship\.web/);
    expect(card.text).toMatch(/dropship\.web — galaxy/);
    expect(card.text).toContain(`gitrole — git+${galaxy.url}`);
    expect(card.text).toMatch(/dropship\.app — dropship\.app\.app_hello at site\.yml:\d+/);
    expect(card.text).not.toMatch(/used but not declared/);
    // The fetch for the analysis went through the stand-in, and the status message it showed is gone again.
    expect(galaxy.requests).toContain("/api/v1/roles/?owner__username=dropship&name=web");
    expect(world.telegram.messages(ALICE.id).filter((m) => m.text.startsWith("⏳ fetching roles")).every((m) => m.deleted)).toBe(true);
    const jobId = world.app!.jobs.listRecent(ALICE.id, 1)[0]!.id;

    const which = await press(card, /Run/);
    const approval = await press(which, /web1/);
    expect(approval.text).toContain("Roles: dropship.common, dropship.web, gitrole v1.0.0");
    world.telegram.pressButton(ALICE, approval, buttonData(approval, /Start/));
    const recap = await nextBotMessage(world, ALICE.id, approval.message_id, (m) => /Job #\d+ (done|failed)/.test(m.text), 600_000);
    const log = await nextBotMessage(world, ALICE.id, recap.message_id, (m) => Boolean(m.document), 30_000);
    const output = log.document!.bytes.toString();
    expect(recap.text, output).toContain(`Job #${jobId} done`);
    expect(recap.text).toMatch(/localhost: ok=\d+ changed=\d+ unreachable=0 failed=0/);
    expect(recap.text).toContain("Roles: dropship.common 1.0.0, dropship.web 2.0.0, gitrole v1.0.0");
    expect(recap.text).toMatch(/Collections: ansible\.posix \S+, dropship\.app 1\.0\.0, dropship\.base 1\.1\.0/);
    for (const said of ["common role here", "git role here", "hello e2e from dropship.app.app_hello 1.0.0"]) expect(output).toContain(said);
    expect(fs.readFileSync(path.join(host.home, "web.txt"), "utf8")).toBe("one\npatched by the web role\n");

    // The venv the run used, on the host, parses the project: roles and collections are all where ansible looks.
    const { venvPath } = world.app!.jobs.get<unknown, { venvPath: string }>(jobId)!.data;
    for (const [rel, text] of Object.entries(projectFiles)) {
      fs.mkdirSync(path.dirname(path.join(host.home, "closure", rel)), { recursive: true });
      fs.writeFileSync(path.join(host.home, "closure", rel), text);
    }
    const h = await world.app!.hosts.connect("web1");
    try {
      const env = { PATH: `${venvPath}/bin:/usr/bin:/bin`, ANSIBLE_COLLECTIONS_PATH: `${venvPath}/collections`, ANSIBLE_ROLES_PATH: `${venvPath}/roles` };
      const check = await run(h, ["ansible-playbook", "-i", "localhost,", "--syntax-check", "site.yml"], { env, cwd: "/root/closure" });
      expect(check.stdout).toContain("playbook: site.yml");
      // And the check is a real one: without the venv's roles the same command fails on the first role.
      const without = await h.exec(["ansible-playbook", "-i", "localhost,", "--syntax-check", "site.yml"], { env: { ...env, ANSIBLE_ROLES_PATH: "/nonexistent" }, cwd: "/root/closure" });
      expect(without.code).not.toBe(0);
      expect(without.stderr).toContain("the role 'dropship.web' was not found");
    } finally {
      await h.close();
    }
  }, 900_000);
});

// Roles and collection dependencies in a venv built over SSH through the Galaxy stand-in (GALAXY_SERVER), and offline
// from a tarball directory: what ends up installed is read back from the venv, and playbooks using it parse and run.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/hosts/host.js";
import type { SshHost } from "../../src/remote/ssh-host.js";
import { pickTarballs } from "../../src/venv/collection-sources.js";
import { VenvError } from "../../src/venv/host-probe.js";
import type { VenvProgress } from "../../src/venv/venv-builder.js";
import type { VenvManager } from "../../src/venv/venv-manager.js";
import type { VenvSpec } from "../../src/venv/venv-spec.js";
import { buildTestCollections } from "../world/collection-tarballs.js";
import { makeRoleArchive, roleFiles, startGalaxy, type GalaxyStandIn } from "../world/galaxy.js";
import { ranInstaller, recording, startVenvWorld, type VenvWorld } from "./venv-world.js";

let w: VenvWorld;
let ssh: SshHost;
let g: GalaxyStandIn;
let testCollections: string;
let tmp: string;
let plainUrl: string;
let gitUrl: string;
let viaGalaxy: VenvManager;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-venv-roles-"));
  testCollections = await buildTestCollections();
  [w, g] = await Promise.all([startVenvWorld(), startGalaxy({ collectionDirs: [testCollections] })]);
  ssh = await w.ssh.connect();
  const archives = path.join(tmp, "archives");
  g.addRole("dropship", "base", "1.0.0", await makeRoleArchive(archives, { top: "ansible-role-base-1.0.0", message: "base 1.0.0" }));
  g.addRole("dropship", "base", "1.2.0", await makeRoleArchive(archives, { top: "ansible-role-base-1.2.0", message: "base 1.2.0" }));
  g.addRole("dropship", "web", "2.0.0", await makeRoleArchive(archives, { top: "ansible-role-web-2.0.0", message: "web 2.0.0", dependencies: [{ role: "dropship.base" }] }));
  plainUrl = g.addFile("plain-role-3.tar.gz", await makeRoleArchive(archives, { top: "plain-role-3", message: "plain from a URL" }));
  gitUrl = (await g.addGitRepo("git-role", [{ tag: "v1.0.0", files: roleFiles({ message: "git v1.0.0" }) }, { tag: "v2.0.0", files: roleFiles({ message: "git v2.0.0" }) }])).url;
  viaGalaxy = w.manager({ packages: { pipIndexUrl: w.index.url, pipExtraArgs: ["--isolated"], galaxyServer: g.url, collectionTarballDir: null } });
});
afterAll(async () => {
  await g?.stop();
  await w?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<VenvError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof VenvError)) throw err ?? new Error("expected a VenvError, got success");
  return err;
}

const PLAYBOOK = JSON.stringify([
  {
    hosts: "localhost",
    gather_facts: false,
    roles: ["dropship.web", "plain", "gitrole"],
    tasks: [
      { name: "app module", "dropship.app.app_hello": { name: "venv" }, register: "app" },
      { name: "base module (the app's dependency)", "dropship.base.base_ping": {} },
      { "ansible.builtin.debug": { var: "app.msg" } },
    ],
  },
]);

describe("a venv with roles and collection dependencies, through the Galaxy stand-in over SSH", () => {
  // A Galaxy role with a role dependency, a tar.gz URL, git at a tag (URLs are known once the stand-in runs).
  const spec = (): VenvSpec => ({
    ansibleCore: ">=2.14",
    python: [],
    collections: [{ name: "dropship.app" }],
    roles: [{ name: "dropship.web" }, { name: "plain", src: plainUrl }, { name: "gitrole", src: `git+${gitUrl}`, version: "v1.0.0" }],
  });

  it("installs the roles (and the role dependency), the collection and its dependency; records what is installed", async () => {
    const steps: VenvProgress["step"][] = [];
    const v = await viaGalaxy.ensure(ssh, spec(), { onProgress: (p) => steps.push(p.step) });
    expect(v.reused).toBe(false);
    expect(steps).toEqual(["probing", "creating", "installing-packages", "installing-collections", "installing-roles", "verifying", "ready"]);
    const installed = {
      collections: { "dropship.app": "1.0.0", "dropship.base": "1.1.0" },
      roles: { "dropship.base": "1.2.0", "dropship.web": "2.0.0", gitrole: "v1.0.0", plain: null },
    };
    expect(v.installed).toEqual(installed);
    expect(v.env.ANSIBLE_ROLES_PATH).toBe(`${v.path}/roles`);
    const marker = JSON.parse((await ssh.readFile(`${v.path}/dropship-venv.json`)).toString());
    expect(marker.installed).toEqual(installed);
    expect(marker.spec.roles).toEqual([
      { name: "dropship.web", src: null, version: null, scm: null },
      { name: "gitrole", src: gitUrl, version: "v1.0.0", scm: "git" },
      { name: "plain", src: plainUrl, version: null, scm: null },
    ]);
    // Everything came from the stand-in: Galaxy API, role archive, tar.gz URL, git over dumb HTTP.
    for (const p of ["/api/v1/roles/?owner__username=dropship&name=web", "/roles/dropship/base/1.2.0.tar.gz", "/files/plain-role-3.tar.gz", "/download/dropship-base-1.1.0.tar.gz"]) {
      expect(g.requests).toContain(p);
    }
    expect(g.requests.some((p) => p.startsWith("/git/git-role.git/"))).toBe(true);

    // A playbook using them: --syntax-check resolves roles and module names, then a real local run uses them.
    await run(ssh, ["mkdir", "-p", "/root/play"]);
    await ssh.writeFile("/root/play/site.yml", PLAYBOOK);
    const check = await run(ssh, ["ansible-playbook", "--syntax-check", "site.yml"], { env: v.env, cwd: "/root/play" });
    expect(check.stdout).toContain("playbook: site.yml");
    const played = await run(ssh, ["ansible-playbook", "site.yml"], { env: { ...v.env, ANSIBLE_NOCOLOR: "1", ANSIBLE_LOCALHOST_WARNING: "0" }, cwd: "/root/play" });
    for (const text of ["base 1.2.0", "web 2.0.0", "plain from a URL", "git v1.0.0", "hello venv from dropship.app.app_hello 1.0.0"]) expect(played.stdout).toContain(text);
    expect(played.stdout).toMatch(/localhost\s+: ok=\d+\s+changed=0\s+unreachable=0\s+failed=0/);
    // The same check fails for a role the venv lacks: the syntax check does look for roles.
    await ssh.writeFile("/root/play/missing.yml", JSON.stringify([{ hosts: "localhost", gather_facts: false, roles: ["dropship.nope"] }]));
    const missing = await ssh.exec(["ansible-playbook", "--syntax-check", "missing.yml"], { env: v.env, cwd: "/root/play" });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("the role 'dropship.nope' was not found");

    // Reuse: same venv, no installer, the record read from the marker.
    const rec = recording(ssh);
    const again = await viaGalaxy.ensure(rec, spec());
    expect(again).toMatchObject({ name: v.name, reused: true, installed });
    expect(ranInstaller(rec.commands)).toBe(false);
  });

  it("fails naming a Galaxy role that does not exist, and keeps nothing", async () => {
    const err = await failure(viaGalaxy.ensure(ssh, { ansibleCore: null, python: [], collections: [], roles: [{ name: "dropship.nope" }] }));
    expect(err.code).toBe("roles-failed");
    expect(err.message).toContain(`Galaxy roles from ${g.url}`);
    expect(err.message).toContain(`role dropship.nope: sorry, dropship.nope was not found on ${g.url}api`);
    expect(fs.readdirSync(path.join(w.outsideRoot, ".store")).filter((n) => !fs.existsSync(path.join(w.outsideRoot, ".store", n, "dropship-venv.json")))).toEqual([]);
  });

  it("fails naming a role whose archive URL is gone", async () => {
    const gone = `${g.url}files/absent-1.tar.gz`;
    const err = await failure(viaGalaxy.ensure(ssh, { ansibleCore: null, python: [], collections: [], roles: [{ src: gone }] }));
    expect(err.code).toBe("roles-failed");
    expect(err.message).toContain(`role absent-1 from ${gone}: failed to download the file: HTTP Error 404: Not Found`);
  });

  it("fails naming a role's dependency that does not exist", async () => {
    g.addRole("dropship", "orphan", "1.0.0", await makeRoleArchive(path.join(tmp, "archives"), { top: "orphan-1.0.0", dependencies: ["dropship.vanished"] }));
    const dep = await failure(viaGalaxy.ensure(ssh, { ansibleCore: null, python: [], collections: [], roles: [{ name: "dropship.orphan" }] }));
    expect(dep.message).toContain("role dropship.vanished (a dependency): sorry, dropship.vanished was not found");
  });
});

describe("collection dependencies from a tarball directory (COLLECTION_TARBALL_DIR)", () => {
  it("picks the newest tarball satisfying every range, the spec's and the dependents'", async () => {
    const names = (ts: { name: string; version: string }[]) => ts.map((t) => `${t.name} ${t.version}`);
    expect(names(await pickTarballs([{ name: "dropship.app" }], testCollections))).toEqual(["dropship.app 1.0.0", "dropship.base 1.1.0"]);
    expect(names(await pickTarballs([{ name: "dropship.app" }, { name: "dropship.base", version: "1.0.0" }], testCollections))).toEqual(["dropship.app 1.0.0", "dropship.base 1.0.0"]);
    await expect(pickTarballs([{ name: "dropship.app" }, { name: "dropship.base", version: ">=1.5.0" }], testCollections)).rejects.toThrow(
      "dropship.base >=1.5.0 (asked by the playbook) and >=1.0.0,<2.0.0 (asked by dropship.app 1.0.0): the directory has 1.0.0, 1.1.0",
    );
  });

  it("installs a collection and its dependency offline over SSH", async () => {
    const offline = w.manager({ packages: { pipIndexUrl: w.index.url, pipExtraArgs: ["--isolated"], galaxyServer: null, collectionTarballDir: testCollections } });
    const v = await offline.ensure(ssh, { ansibleCore: null, python: [], collections: [{ name: "dropship.app", version: ">=1.0.0" }] });
    expect(v.installed).toEqual({ collections: { "dropship.app": "1.0.0", "dropship.base": "1.1.0" }, roles: {} });
    const list = await run(ssh, ["ansible-galaxy", "collection", "list", "--format", "json"], { env: v.env });
    expect(Object.keys(JSON.parse(list.stdout)[`${v.path}/collections/ansible_collections`] ?? {}).sort()).toEqual(["dropship.app", "dropship.base"]);
  });

  it("refuses an unsatisfiable dependency before building, naming collection, range and what the directory has", async () => {
    const offline = w.manager({ packages: { pipIndexUrl: w.index.url, pipExtraArgs: ["--isolated"], galaxyServer: null, collectionTarballDir: testCollections } });
    const rec = recording(ssh);
    const err = await failure(offline.ensure(rec, { ansibleCore: null, python: [], collections: [{ name: "dropship.needy" }] }));
    expect(err.code).toBe("collections-failed");
    expect(err.message).toContain(`no collection tarball in ${testCollections} for: dropship.base >=2.0.0 (asked by dropship.needy 1.0.0): the directory has 1.0.0, 1.1.0`);
    expect(ranInstaller(rec.commands)).toBe(false);
  });
});

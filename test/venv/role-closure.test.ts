// The closure: roles a project installs are fetched with the real ansible-galaxy from the Galaxy stand-in (and git),
// their content is analysed, and what they need joins the dependency set, to a fixed point.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyzeProject } from "../../src/analysis/index.js";
import { LocalHost } from "../../src/remote/local-host.js";
import { analyseClosure, galaxyRoleStager, RoleFetchError, type RoleStager } from "../../src/venv/role-closure.js";
import { makeRoleArchive, roleFiles, startGalaxy, type GalaxyStandIn } from "../world/galaxy.js";

let g: GalaxyStandIn;
let tmp: string;
let gitUrl: string;
let stager: RoleStager;

const tasks = (list: unknown[]) => JSON.stringify(list);

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-closure-"));
  g = await startGalaxy();
  const archives = path.join(tmp, "archives");
  // web depends on base (meta/main.yml, so ansible-galaxy installs it too) and includes extra at run time (which
  // ansible-galaxy does not install: only analysing web's tasks finds it, in a second round).
  g.addRole("dropship", "web", "2.0.0", await makeRoleArchive(archives, {
    top: "ansible-role-web-2.0.0",
    dependencies: [{ role: "dropship.base" }],
    files: { "tasks/main.yml": tasks([{ "community.docker.docker_container": { name: "web", image: "nginx" } }, { include_role: { name: "dropship.extra" } }]) },
  }));
  g.addRole("dropship", "base", "1.2.0", await makeRoleArchive(archives, {
    top: "ansible-role-base-1.2.0",
    files: { "tasks/main.yml": tasks([{ "ansible.posix.sysctl": { name: "vm.swappiness", value: "10" } }]) },
  }));
  g.addRole("dropship", "extra", "0.3.0", await makeRoleArchive(archives, {
    top: "ansible-role-extra-0.3.0",
    files: { "tasks/main.yml": tasks([{ "community.mysql.mysql_db": { name: "app" } }]) },
  }));
  gitUrl = (await g.addGitRepo("git-role", [{ tag: "v1.0.0", files: roleFiles({ files: { "tasks/main.yml": tasks([{ "community.crypto.openssl_privatekey": { path: "/tmp/k" } }]) } }) }])).url;
  stager = galaxyRoleStager({ host: new LocalHost(), ansibleGalaxy: async () => "ansible-galaxy", galaxyServer: g.url, timeoutMs: 120_000 });
});
afterAll(async () => {
  await g?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function project(name: string, files: Record<string, string>): string {
  const dir = path.join(tmp, name);
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

const SITE = JSON.stringify([{ hosts: "all", roles: ["dropship.web", "gitrole"], tasks: [{ "community.general.ufw": { rule: "allow", port: "22" } }] }]);
const REQUIREMENTS = () => JSON.stringify({ roles: [{ name: "dropship.web" }, { name: "gitrole", src: `git+${gitUrl}`, version: "v1.0.0" }], collections: ["community.general"] });

describe("the closure of a project's roles", () => {
  it("fetches the roles, analyses their content to a fixed point and says which role needs what", async () => {
    const dir = project("full", { "site.yml": SITE, "requirements.yml": REQUIREMENTS() });
    const progress: string[] = [];
    const r = await analyseClosure(dir, { stager, tmpDir: tmp, onProgress: (t) => progress.push(t) });
    // Round 1: what the project names; round 2: the role web's tasks include; then nothing new.
    expect(progress).toEqual(["fetching roles dropship.web, gitrole", "fetching role dropship.extra"]);
    const from = Object.fromEntries(r.collections.map((c) => [c.name, [...new Set(c.reasons.map((x) => x.fromRole ?? "project"))]]));
    expect(from).toEqual({
      "ansible.posix": ["dropship.base"],
      "community.crypto": ["gitrole"],
      "community.docker": ["dropship.web"],
      "community.general": ["project"],
      "community.mysql": ["dropship.extra"],
    });
    const docker = r.collections.find((c) => c.name === "community.docker")!;
    expect(docker.reasons[0]).toMatchObject({ file: "installed-roles/dropship.web/tasks/main.yml", line: 1, fromRole: "dropship.web" });
    expect(r.dependencySet.collections.map((c) => c.name)).toEqual(["ansible.posix", "community.crypto", "community.docker", "community.general", "community.mysql"]);
    expect(r.roles.map((x) => [x.name, x.source, x.from ?? null])).toEqual([
      ["dropship.base", "galaxy", "dropship.web"],
      ["dropship.extra", "galaxy", "dropship.web"],
      ["dropship.web", "galaxy", null],
      ["gitrole", `git+${gitUrl}`, null],
    ]);
    expect(r.dependencySet.roles.map((x) => x.name)).toEqual(["dropship.base", "dropship.extra", "dropship.web", "gitrole"]);
    // The roles' needs are theirs: the project is not told it forgot to declare them.
    expect(r.warnings.join("\n")).not.toMatch(/used but not declared|neither in the project/);
    // Without the closure the same project misses every collection the roles use.
    expect(analyzeProject(dir).dependencySet.collections.map((c) => c.name)).toEqual(["community.general"]);
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith("dropship-roles-"))).toEqual([]);
  });

  it("names a role that cannot be fetched and why, and leaves no staging folder", async () => {
    const dir = project("missing", { "site.yml": JSON.stringify([{ hosts: "all", roles: ["dropship.nope"] }]), "requirements.yml": JSON.stringify({ roles: ["dropship.nope"] }) });
    const err = await analyseClosure(dir, { stager, tmpDir: tmp }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RoleFetchError);
    expect((err as Error).message).toMatch(/role dropship\.nope: .*(not found|- sorry, dropship\.nope was not found)/i);
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith("dropship-roles-"))).toEqual([]);
  });

  it("without a stager, says the roles were not read instead of guessing", async () => {
    const dir = project("unfetched", { "site.yml": SITE, "requirements.yml": REQUIREMENTS() });
    const r = await analyseClosure(dir, { stager: null });
    expect(r.warnings).toContain("roles dropship.web, gitrole were not fetched: what they need is not in this analysis");
    expect(r.dependencySet.collections.map((c) => c.name)).toEqual(["community.general"]);
  });
});

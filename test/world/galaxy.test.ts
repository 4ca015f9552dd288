// The Galaxy stand-in, checked with the real client: Debian's ansible-galaxy (ansible-core 2.14) installs collections
// (following dependencies) and roles (Galaxy names with their meta dependencies, a tar.gz URL, git over dumb HTTP).
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCollectionTarballs, buildTestCollections } from "./collection-tarballs.js";
import { makeRoleArchive, roleFiles, startGalaxy, type GalaxyStandIn } from "./galaxy.js";

const GALAXY = "/usr/bin/ansible-galaxy";
let g: GalaxyStandIn;
let tmp: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-galaxy-test-"));
  g = await startGalaxy({ collectionDirs: [await buildTestCollections(), await buildCollectionTarballs(["ansible.posix"])] });
  const archives = path.join(tmp, "archives");
  g.addRole("dropship", "base", "1.0.0", await makeRoleArchive(archives, { top: "ansible-role-base-1.0.0", message: "base 1.0.0" }));
  g.addRole("dropship", "base", "1.2.0", await makeRoleArchive(archives, { top: "ansible-role-base-1.2.0", message: "base 1.2.0" }));
  g.addRole("dropship", "web", "2.0.0", await makeRoleArchive(archives, { top: "ansible-role-web-2.0.0", dependencies: [{ role: "dropship.base" }] }));
});
afterAll(async () => {
  await g?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs the real client with its own HOME (its response cache and tmp stay in the test's directory). */
async function galaxy(args: string[]): Promise<{ code: number; out: string }> {
  const home = path.join(tmp, "home");
  fs.mkdirSync(home, { recursive: true });
  try {
    const r = await promisify(execFile)(GALAXY, args, { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, ANSIBLE_NOCOLOR: "1" } });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

function installInfo(rolesDir: string, role: string): string {
  return fs.readFileSync(path.join(rolesDir, role, "meta", ".galaxy_install_info"), "utf8");
}

describe("Galaxy stand-in with the real ansible-galaxy", () => {
  it("answers API discovery at /api/ after the client's first try at the root", async () => {
    const res = await fetch(`${g.url}api/`);
    expect(await res.json()).toMatchObject({ available_versions: { v1: "v1/", v3: "v3/" } });
    expect((await fetch(g.url)).headers.get("content-type")).toBe("text/html");
  });

  it("installs a collection and the collection it depends on, newest release in range", async () => {
    const dir = path.join(tmp, "collections-1");
    const r = await galaxy(["collection", "install", "-s", g.url, "-p", dir, "dropship.app"]);
    expect(r.out).toContain("dropship.app:1.0.0 was installed successfully");
    expect(r.code).toBe(0);
    expect(r.out).toContain("dropship.base:1.1.0 was installed successfully");
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "ansible_collections/dropship/base/MANIFEST.json"), "utf8"));
    expect(manifest.collection_info.version).toBe("1.1.0");
    for (const p of ["/api/v3/collections/dropship/app/versions/1.0.0/", "/api/v3/collections/dropship/base/versions/1.1.0/", "/download/dropship-base-1.1.0.tar.gz"]) {
      expect(g.requests).toContain(p);
    }
  });

  it("installs a pinned version and a Debian-built collection; says when a dependency cannot be satisfied", async () => {
    const dir = path.join(tmp, "collections-2");
    const ok = await galaxy(["collection", "install", "-s", g.url, "-p", dir, "dropship.base:==1.0.0", "ansible.posix:>=1.5.0"]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain("dropship.base:1.0.0 was installed successfully");
    expect(ok.out).toMatch(/ansible\.posix:1\.\d+\.\d+ was installed successfully/);
    const bad = await galaxy(["collection", "install", "-s", g.url, "-p", path.join(tmp, "collections-3"), "dropship.needy"]);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toContain("dropship.base:>=2.0.0 (dependency of dropship.needy:1.0.0)");
  });

  it("installs a Galaxy role and the role its meta/main.yml depends on (newest version), from the stand-in's own address", async () => {
    const dir = path.join(tmp, "roles-1");
    const r = await galaxy(["role", "install", "-s", g.url, "-p", dir, "dropship.web"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("- adding dependency: dropship.base");
    expect(r.out).toContain(`- downloading role from ${g.url}roles/dropship/web/2.0.0.tar.gz`);
    expect(installInfo(dir, "dropship.web")).toContain("version: 2.0.0");
    expect(installInfo(dir, "dropship.base")).toContain("version: 1.2.0");
    expect(fs.readFileSync(path.join(dir, "dropship.base/tasks/main.yml"), "utf8")).toContain("base 1.2.0");
    expect(g.requests).toContain("/api/v1/roles/?owner__username=dropship&name=web");
  });

  it("installs a role version asked for, a tar.gz URL and a git repository at a tag and at a commit", async () => {
    const url = g.addFile("plain-role.tar.gz", await makeRoleArchive(path.join(tmp, "archives"), { top: "plain-role-3", message: "from a URL" }));
    const git = await g.addGitRepo("git-role", [
      { tag: "v1.0.0", files: roleFiles({ message: "git v1" }) },
      { tag: "v2.0.0", files: roleFiles({ message: "git v2" }) },
    ]);
    const dir = path.join(tmp, "roles-2");
    const req = path.join(tmp, "requirements.yml");
    fs.writeFileSync(
      req,
      JSON.stringify({
        roles: [
          { name: "dropship.base", version: "1.0.0" },
          { src: url, name: "plain" },
          { src: `git+${git.url}`, version: "v1.0.0", name: "git_tag" },
          { src: git.url, scm: "git", version: git.commits["v2.0.0"], name: "git_commit" },
        ],
      }),
    );
    const r = await galaxy(["role", "install", "-s", g.url, "-p", dir, "-r", req]);
    expect(r.out).toContain("- plain was installed successfully");
    expect(r.code).toBe(0);
    expect(installInfo(dir, "dropship.base")).toContain("version: 1.0.0");
    expect(fs.readFileSync(path.join(dir, "plain/tasks/main.yml"), "utf8")).toContain("from a URL");
    expect(fs.readFileSync(path.join(dir, "git_tag/tasks/main.yml"), "utf8")).toContain("git v1");
    expect(fs.readFileSync(path.join(dir, "git_commit/tasks/main.yml"), "utf8")).toContain("git v2");
    expect(installInfo(dir, "git_tag")).toContain("version: v1.0.0");
    // git used the dumb protocol: plain files of the bare repository.
    expect(g.requests.some((p) => p.startsWith("/git/git-role.git/objects/"))).toBe(true);
  });

  it("makes the client fail, naming the role, when it does not exist or its archive is missing", async () => {
    const missing = await galaxy(["role", "install", "-s", g.url, "-p", path.join(tmp, "roles-3"), "dropship.nope"]);
    expect(missing.code).not.toBe(0);
    expect(missing.out.replace(/\s+/g, " ")).toContain(`dropship.nope was NOT installed successfully: - sorry, dropship.nope was not found on ${g.url}api`);
    const gone = await galaxy(["role", "install", "-s", g.url, "-p", path.join(tmp, "roles-4"), `${g.url}files/absent.tar.gz`]);
    expect(gone.code).not.toBe(0);
    expect(gone.out).toContain("failed to download the file: HTTP Error 404: Not Found");
    expect(gone.out).toContain("- absent was NOT installed successfully.");
  });
});

// `npm run venv` as a person runs it: the real CLI process against a real project, building on this machine (and on a
// registered sshd host) from the loopback package index, collection tarballs and the Galaxy stand-in. No bot or
// cloud token in its environment; settings from the environment and a .env in its working directory.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/hosts/host.js";
import { HostRegistry } from "../../src/hosts/host-registry.js";
import { sshHostConnector } from "../../src/remote/ssh-host.js";
import { openDatabase } from "../../src/storage/database.js";
import { startSshFixture, type SshFixture } from "../remote/ssh-fixture.js";
import { buildTestCollections } from "../world/collection-tarballs.js";
import { makeRoleArchive, startGalaxy, type GalaxyStandIn } from "../world/galaxy.js";
import { startPackageIndex, type PackageIndex } from "../world/package-index.js";

const ENTRY = path.resolve(import.meta.dirname, "../../src/cli/venv.ts");
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

let tmp: string;
let workDir: string;
let venvRoot: string;
let project: string;
let index: PackageIndex;
let g: GalaxyStandIn;
let testCollections: string;

const SITE = JSON.stringify([
  {
    hosts: "localhost",
    gather_facts: false,
    roles: ["dropship.web"],
    tasks: [{ name: "app module", "dropship.app.app_hello": { name: "cli" } }],
  },
]);

function writeProject(dir: string, files: Record<string, string>): string {
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-venv-cli-"));
  venvRoot = path.join(tmp, "venvs");
  // The CLI's working directory: its .env gives VENV_ROOT, so a venv under venvRoot shows the file was read.
  workDir = writeProject(path.join(tmp, "work"), { ".env": `VENV_ROOT=${venvRoot}\nVENV_MIN_FREE_MB=50\n` });
  [index, g, testCollections] = await Promise.all([startPackageIndex(), startGalaxy(), buildTestCollections()]);
  const archives = path.join(tmp, "archives");
  g.addRole("dropship", "base", "1.2.0", await makeRoleArchive(archives, { top: "ansible-role-base-1.2.0", message: "base 1.2.0" }));
  g.addRole("dropship", "web", "2.0.0", await makeRoleArchive(archives, { top: "ansible-role-web-2.0.0", message: "web 2.0.0", dependencies: [{ role: "dropship.base" }] }));
  project = writeProject(path.join(tmp, "project"), {
    "site.yml": SITE,
    "requirements.yml": JSON.stringify({ collections: [{ name: "dropship.app" }], roles: [{ name: "dropship.web" }] }),
  });
});
afterAll(async () => {
  await g?.stop();
  await index?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** The environment a person would have: none of the bot's secrets, and one (LINK_SIGNING_KEY) the bot would refuse. */
function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ["TELEGRAM_BOT_TOKEN", "DO_TOKEN", "OWNER_ID", "VENV_ROOT", "DATA_DIR", "LOG_LEVEL"]) delete env[k];
  return {
    ...env,
    LINK_SIGNING_KEY: "short",
    PIP_INDEX_URL: index.url,
    PIP_EXTRA_ARGS: "--isolated",
    GALAXY_SERVER: g.url,
    COLLECTION_TARBALL_DIR: testCollections,
    ...extra,
  };
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the entry as its own process (async: the index and Galaxy stand-in live in this one). */
function venvCli(args: string[], extraEnv: Record<string, string> = {}, onStderr?: (soFar: string, child: ChildProcess) => void): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", TSX, ENTRY, ...args], { cwd: workDir, env: cliEnv(extraEnv), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr, child);
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

/** Runs a command line through sh (as pasting it would), or an argv, with an optional environment. */
function sh(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd ?? tmp, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, out }));
  });
}

/** Venv names, builds and locks under the venv root: "builds nothing" means this does not change. */
function venvRootListing(): string[] {
  const list = (dir: string) => (fs.existsSync(path.join(venvRoot, dir)) ? fs.readdirSync(path.join(venvRoot, dir)) : []);
  return [...list(".").filter((n) => n !== ".store" && n !== ".locks"), ...list(".store").map((n) => `.store/${n}`), ...list(".locks").map((n) => `.locks/${n}`)].sort();
}

// Each build is seconds of pip and ansible-galaxy; a busy two-core machine makes it several times that.
const BUILD_TIMEOUT_MS = 240_000;

const INSTALLED = {
  collections: [{ name: "dropship.app", version: "1.0.0" }, { name: "dropship.base", version: "1.1.0" }],
  roles: [{ name: "dropship.base", version: "1.2.0" }, { name: "dropship.web", version: "2.0.0" }],
};

describe("npm run venv on the bot's own machine", () => {
  it("builds the venv, prints what it holds and a command that runs the playbook; a second call reuses it", async () => {
    const built = await venvCli([project]);
    expect(built.stderr).not.toMatch(/error/i);
    expect(built.code).toBe(0);
    const name = /^Virtualenv (dropship-[0-9a-f]{12}) on local: built$/m.exec(built.stdout)?.[1];
    expect(name).toBeDefined();
    expect(built.stdout).toContain(`  path    ${venvRoot}/${name}\n`);
    expect(built.stdout).toMatch(/^ {2}python {2}3\.\d+\.\d+ \(.*\/bin\/python\), ansible-core 2\.\d+\.\d+$/m);
    expect(built.stdout).toContain("Collections (2)\n  dropship.app 1.0.0\n  dropship.base 1.1.0\n");
    expect(built.stdout).toContain("Roles (2)\n  dropship.base 1.2.0\n  dropship.web 2.0.0\n");
    expect(built.stdout).toMatch(/Python packages asked for \(1\)\n {2}ansible-core 2\.\d+\.\d+\n {2}and \d+ more in the venv/);
    // The progress went to stderr as it happened.
    // The closure fetched the role to read it (and found its dependency, which the venv then asks for by name).
    expect(built.stderr).toContain("… fetching role dropship.web\n");
    expect(built.stderr).toContain("… installing 2 roles\n");
    // The printed command, pasted into a shell (plus --syntax-check): roles and collections resolve from the venv.
    const command = built.stdout.trimEnd().split("\n").pop()!.trim();
    expect(command).toMatch(/^cd .* && env VIRTUAL_ENV=.* PATH=.* ANSIBLE_COLLECTIONS_PATH=.* ANSIBLE_ROLES_PATH=.* ansible-playbook site\.yml$/);
    const pasted = await sh(["sh", "-c", `${command} --syntax-check`]);
    expect(pasted.out).toContain("playbook: site.yml");
    expect(pasted.code).toBe(0);

    const indexRequests = index.requests.length;
    const galaxyRequests = g.requests.length;
    const again = await venvCli([project, "--json"]);
    expect(again.code).toBe(0);
    const json = JSON.parse(again.stdout) as Record<string, unknown> & { env: Record<string, string>; path: string; python: { path: string; version: string }; packages: { name: string; requested: boolean }[] };
    expect(Object.keys(json)).toEqual(["name", "path", "host", "reused", "python", "ansibleCore", "env", "collections", "roles", "packages", "entry", "command", "warnings"]);
    expect(json).toMatchObject({ name, path: `${venvRoot}/${name}`, host: "local", reused: true, entry: "site.yml", ...INSTALLED });
    expect(json.python.path).toBe(`${json.path}/bin/python`);
    expect(json.python.version).toMatch(/^3\.\d+\.\d+$/);
    expect(json.packages.filter((p) => p.requested).map((p) => p.name)).toEqual(["ansible-core"]);
    expect(json.packages.map((p) => p.name.toLowerCase())).toContain("jinja2");
    expect(Object.keys(json.env).sort()).toEqual(["ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_ROLES_PATH", "PATH", "PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV"]);
    // Reuse asks the index nothing, and Galaxy only for the roles the closure reads (the analysis comes before the
    // venv can be named): no collection is fetched again.
    expect(index.requests.length).toBe(indexRequests);
    const asked = g.requests.slice(galaxyRequests);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.filter((p) => p.startsWith("/roles/"))).not.toEqual([]);
    expect(asked.filter((p) => p.includes("collections") || p.startsWith("/download/"))).toEqual([]);
    console.log(`venv CLI: build ${built.ms} ms, reuse ${again.ms} ms`);

    // `env` is what a run needs: with it the syntax check passes; without it the role is not found.
    const withEnv = await sh(["ansible-playbook", "--syntax-check", "site.yml"], { cwd: project, env: { ...process.env, ...json.env } });
    expect(withEnv.out).toContain("playbook: site.yml");
    expect(withEnv.code).toBe(0);
    const without = await sh(["ansible-playbook", "--syntax-check", "site.yml"], { cwd: project });
    expect(without.code).not.toBe(0);
    expect(without.out).toContain("the role 'dropship.web' was not found");
  }, BUILD_TIMEOUT_MS);

  it("exits 2 with the reason on stderr for bad input and unsatisfiable dependencies, building nothing", async () => {
    const before = venvRootListing();
    const indexRequests = index.requests.length;
    const notPlaybook = writeProject(path.join(tmp, "not-playbook"), { "site.yml": "foo: bar\n" });
    const conflicting = writeProject(path.join(tmp, "conflict"), {
      "site.yml": "- hosts: all\n  tasks:\n    - community.general.gconftool2_info: key=/a\n",
      "requirements.yml": "collections:\n  - name: community.general\n    version: \">=4.0.0,<5.0.0\"\n",
    });
    const needy = writeProject(path.join(tmp, "needy"), {
      "site.yml": JSON.stringify([{ hosts: "localhost", gather_facts: false, tasks: [{ "dropship.needy.needy_hello": {} }] }]),
      "requirements.yml": JSON.stringify({ collections: [{ name: "dropship.needy" }] }),
    });
    const cases: [string[], Record<string, string>, RegExp][] = [
      [[path.join(tmp, "absent", "site.yml")], {}, /^error: .*no such file or directory/],
      [[notPlaybook], {}, /^error: site\.yml: not a playbook/],
      // The database under DATA_DIR records this machine's venvs too, so it exists; it has no hosts.
      [[project, "--host", "nope"], {}, /^error: there is no host called nope in .*\/dropship\.sqlite; none is registered/],
      [[conflicting], {}, /^error: no virtualenv can satisfy this playbook: community\.general >=5\.1\.0,<5\.0\.0: community\.general\.gconftool2_info \(site\.yml:3\) was added in community\.general 5\.1\.0/],
      [[needy], {}, /^error: no collection tarball in .* for: dropship\.base >=2\.0\.0 \(asked by dropship\.needy 1\.0\.0\)/],
      [[project], { VENV_MIN_FREE_MB: "lots" }, /^error: npm run venv cannot run; fix these settings .*\n {2}- VENV_MIN_FREE_MB: invalid value/],
      [[], {}, /^error: which playbook or project\?\nusage: npm run venv/],
    ];
    for (const [args, env, reason] of cases) {
      const r = await venvCli(args, env);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: "" });
      // Progress lines, then the reason and nothing else (no log noise).
      expect(r.stderr.split("\n").filter((l) => !l.startsWith("… ")).join("\n")).toMatch(reason);
    }
    expect(venvRootListing()).toEqual(before);
    // Nothing fetched from the index: the reachability check (its root page) runs before the tarballs are picked.
    expect(index.requests.slice(indexRequests).filter((p) => p !== new URL(index.url).pathname)).toEqual([]);
  }, BUILD_TIMEOUT_MS);
});

describe("npm run venv interrupted", () => {
  it("stops the build on SIGINT (Ctrl-C), exits 130 and leaves no half-built venv", async () => {
    // Another dependency set (no roles), so this is a new build.
    const other = writeProject(path.join(tmp, "no-roles"), {
      "site.yml": JSON.stringify([{ hosts: "localhost", gather_facts: false, tasks: [{ "dropship.app.app_hello": { name: "x" } }] }]),
      "requirements.yml": JSON.stringify({ collections: [{ name: "dropship.app" }] }),
    });
    const before = venvRootListing();
    let sent = false;
    const r = await venvCli([other], {}, (soFar, child) => {
      if (!sent && soFar.includes("… installing 1 package with pip")) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).toContain("cancelled: interrupted");
    expect(venvRootListing()).toEqual(before);
  }, BUILD_TIMEOUT_MS);
});

describe("npm run venv --host NAME (a host registered with /addhost)", () => {
  let ssh: SshFixture;
  let dataDir: string;

  beforeAll(async () => {
    ssh = await startSshFixture("dropship-venv-cli-host-");
    // DATA_DIR as the bot leaves it: its key (authorised on the host) and the host registered with its key pinned.
    dataDir = path.join(tmp, "data");
    fs.mkdirSync(path.join(dataDir, "keys"), { recursive: true });
    fs.copyFileSync(ssh.botKey.privateKeyPath, path.join(dataDir, "keys", "id_ed25519"));
    const db = openDatabase(path.join(dataDir, "dropship.sqlite"));
    await new HostRegistry({ db, connect: sshHostConnector(ssh.botKey.privateKey) }).add("web1", { username: "root", address: ssh.world.address, port: ssh.world.port }, 1);
    db.close();
  });
  afterAll(async () => {
    await ssh?.stop();
  });

  it("builds the venv on that host over SSH, and its env runs the playbook there", async () => {
    const r = await venvCli([project, "--host", "web1", "--json"], { DATA_DIR: dataDir, VENV_ROOT: "~/.dropship/venvs" });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { name: string; path: string; host: string; reused: boolean; env: Record<string, string>; command: string };
    expect(json).toMatchObject({ host: `root@${ssh.world.address}`, path: `/root/.dropship/venvs/${json.name}`, reused: false, ...INSTALLED });
    expect(json.command).toMatch(/^env VIRTUAL_ENV=.* ansible-playbook site\.yml$/);
    // The venv is on the host (its /root is private), not here.
    const store = fs.readlinkSync(path.join(ssh.world.home, ".dropship", "venvs", json.name));
    expect(store).toMatch(new RegExp(`^/root/\\.dropship/venvs/\\.store/${json.name}-`));
    expect(fs.existsSync(path.join(ssh.world.home, store.slice("/root/".length), "dropship-venv.json"))).toBe(true);
    const host = await ssh.connect();
    await run(host, ["mkdir", "-p", "/root/play"]);
    for (const f of ["site.yml", "requirements.yml"]) await host.writeFile(`/root/play/${f}`, fs.readFileSync(path.join(project, f)));
    const check = await run(host, ["ansible-playbook", "--syntax-check", "site.yml"], { env: json.env, cwd: "/root/play" });
    expect(check.stdout).toContain("playbook: site.yml");
    // Recorded in the bot's database, as a build by the bot would be.
    const db = openDatabase(path.join(dataDir, "dropship.sqlite"));
    try {
      // (The Galaxy tool venv that fetched the roles is recorded too, as "local".)
      expect(db.prepare("SELECT host, name, status FROM venvs WHERE host != 'local'").all()).toEqual([{ host: `root@${ssh.world.address}`, name: json.name, status: "ready" }]);
    } finally {
      db.close();
    }
    const unknown = await venvCli([project, "--host", "web2"], { DATA_DIR: dataDir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("error: there is no host called web2 in");
    expect(unknown.stderr).toContain("registered: web1");
  }, BUILD_TIMEOUT_MS);
});

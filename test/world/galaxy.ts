// A Galaxy stand-in on loopback: the endpoints the real `ansible-galaxy` (ansible-core 2.14) calls to install
// collections (v3) and roles (v1), plus plain files (role archives at tar.gz URLs) and bare git repositories served
// over git's "dumb" HTTP protocol (static files after `git update-server-info`).
//
// What the client asks for, read from ansible/galaxy/api.py, role.py and collection/ in Debian's ansible-core 2.14:
// - discovery: GET <server>/ (not JSON → the client retries <server>/api/), which answers {available_versions};
// - collections: GET <api>/v3/collections/NS/NAME/ (updated_at, for the response cache), .../versions/?limit=N
//   (`data` + `links.next`), .../versions/V/ (namespace.name, collection.name, version, href, download_url,
//   artifact.sha256, metadata.dependencies, signatures), then download_url;
// - roles: GET <api>/v1/roles/?owner__username=NS&name=NAME (`results[0].id`), <api>/v1/roles/ID/versions/?page_size=50
//   (`results[].name`, `download_url`, `next_link`), then download_url (without it the client would build a
//   github.com archive URL, which is why every version here carries one).
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { readTarballManifest, tarballsIn } from "../../src/venv/collection-sources.js";

const run = promisify(execFile);

export interface GalaxyCollectionEntry {
  namespace: string;
  name: string;
  version: string;
  dependencies: Record<string, string>;
  file: string;
  sha256: string;
  size: number;
}

export interface GalaxyRoleEntry {
  id: number;
  namespace: string;
  name: string;
  /** version → archive file */
  versions: Map<string, string>;
}

export interface GalaxyStandIn {
  /** The server root to give `ansible-galaxy -s` or GALAXY_SERVER, e.g. http://127.0.0.1:41234/ */
  url: string;
  /** Every request path (with query), in order. */
  readonly requests: string[];
  /** Publishes a collection tarball (as `ansible-galaxy collection build` makes it). */
  addCollection(file: string): Promise<GalaxyCollectionEntry>;
  /** Publishes every namespace-name-version.tar.gz in a directory. */
  addCollectionDir(dir: string): Promise<GalaxyCollectionEntry[]>;
  /** Publishes a role version (a .tar.gz with one top directory holding meta/main.yml) as namespace.name. */
  addRole(namespace: string, name: string, version: string, archive: string): void;
  /** Serves a file at /files/<name>; returns its URL (a role "src" that is a tar.gz URL). */
  addFile(name: string, file: string): string;
  /**
   * Makes a bare git repository (one commit per entry of `commits`, each tagged), served at
   * /git/<name>.git over dumb HTTP; returns its URL and the commit ids by tag.
   */
  addGitRepo(name: string, commits: { tag: string; files: Record<string, string> }[]): Promise<{ url: string; commits: Record<string, string> }>;
  stop(): Promise<void>;
}

export async function startGalaxy(opts: { collectionDirs?: string[] } = {}): Promise<GalaxyStandIn> {
  const collections = new Map<string, GalaxyCollectionEntry[]>();
  const roles = new Map<string, GalaxyRoleEntry>();
  const files = new Map<string, string>();
  const gitRoot = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-galaxy-git-"));
  const requests: string[] = [];
  let base = "";
  const started = new Date().toISOString();

  const collectionJson = (c: GalaxyCollectionEntry) => ({
    href: `/api/v3/collections/${c.namespace}/${c.name}/versions/${c.version}/`,
    namespace: { name: c.namespace },
    collection: { name: c.name },
    name: c.name,
    version: c.version,
    download_url: `${base}download/${path.basename(c.file)}`,
    artifact: { filename: path.basename(c.file), sha256: c.sha256, size: c.size },
    metadata: { dependencies: c.dependencies },
    requires_ansible: ">=2.14.0",
    signatures: [],
    created_at: started,
    updated_at: started,
  });

  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    requests.push(req.url ?? "/");
    const url = new URL(req.url ?? "/", "http://galaxy");
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    if (parts.some((p) => p === ".." || p.includes("/"))) return notFound(res);
    if (req.method !== "GET" && req.method !== "HEAD") return json(res, 405, { detail: "method not allowed" });
    // The server root is an HTML page, as on galaxy.ansible.com: the client then tries <root>/api/.
    if (parts.length === 0) return send(res, 200, "text/html", "<html><body>Dropship's Galaxy stand-in</body></html>");
    if (parts[0] === "api") return api(parts.slice(1), url, res);
    if (parts[0] === "download" && parts.length === 2) {
      const entry = [...collections.values()].flat().find((c) => path.basename(c.file) === parts[1]);
      return entry ? sendFile(res, entry.file) : notFound(res);
    }
    if (parts[0] === "roles" && parts.length === 4) {
      const file = roles.get(`${parts[1]}.${parts[2]}`)?.versions.get(parts[3]!.replace(/\.tar\.gz$/, ""));
      return file ? sendFile(res, file) : notFound(res);
    }
    if (parts[0] === "files" && parts.length === 2) {
      const file = files.get(parts[1]!);
      return file ? sendFile(res, file) : notFound(res);
    }
    if (parts[0] === "git") {
      // Dumb HTTP: plain files of the bare repository; the query (?service=git-upload-pack) is ignored, so git
      // sees a text/plain info/refs and falls back to the dumb protocol.
      const file = path.join(gitRoot, ...parts.slice(1));
      return fs.existsSync(file) && fs.statSync(file).isFile() ? sendFile(res, file, "text/plain") : notFound(res);
    }
    return notFound(res);
  };

  const api = (p: string[], url: URL, res: http.ServerResponse): void => {
    if (p.length === 0) {
      return json(res, 200, { description: "Dropship Galaxy stand-in", current_version: "v1", available_versions: { v1: "v1/", v3: "v3/" } });
    }
    if (p[0] === "v3" && p[1] === "collections" && p.length >= 4) {
      const list = collections.get(`${p[2]}.${p[3]}`);
      if (!list) return json(res, 404, { errors: [{ status: "404", code: "not_found", title: "Not found." }] });
      const newest = list[list.length - 1]!;
      if (p.length === 4) {
        return json(res, 200, {
          href: `/api/v3/collections/${p[2]}/${p[3]}/`,
          namespace: p[2],
          name: p[3],
          created_at: started,
          updated_at: started,
          versions_url: `/api/v3/collections/${p[2]}/${p[3]}/versions/`,
          highest_version: { href: collectionJson(newest).href, version: newest.version },
        });
      }
      if (p[4] !== "versions") return notFound(res);
      if (p.length === 5) {
        const limit = Math.max(1, Number(url.searchParams.get("limit") ?? 100) || 100);
        const offset = Math.max(0, Number(url.searchParams.get("offset") ?? 0) || 0);
        const page = [...list].reverse().slice(offset, offset + limit);
        const self = `/api/v3/collections/${p[2]}/${p[3]}/versions/`;
        return json(res, 200, {
          meta: { count: list.length },
          links: {
            first: `${self}?limit=${limit}&offset=0`,
            previous: offset > 0 ? `${self}?limit=${limit}&offset=${Math.max(0, offset - limit)}` : null,
            next: offset + limit < list.length ? `${self}?limit=${limit}&offset=${offset + limit}` : null,
            last: `${self}?limit=${limit}&offset=${Math.max(0, list.length - limit)}`,
          },
          data: page.map((c) => ({ version: c.version, href: collectionJson(c).href, created_at: started, updated_at: started, requires_ansible: ">=2.14.0" })),
        });
      }
      const entry = list.find((c) => c.version === p[5]);
      return entry && p.length === 6 ? json(res, 200, collectionJson(entry)) : notFound(res);
    }
    if (p[0] === "v1" && p[1] === "roles") {
      if (p.length === 2) {
        const owner = url.searchParams.get("owner__username") ?? "";
        const name = url.searchParams.get("name") ?? "";
        const role = roles.get(`${owner}.${name}`);
        return json(res, 200, { count: role ? 1 : 0, next_link: null, previous_link: null, results: role ? [roleJson(role)] : [] });
      }
      if (p.length === 4 && p[3] === "versions") {
        const role = [...roles.values()].find((r) => String(r.id) === p[2]);
        if (!role) return notFound(res);
        const results = [...role.versions.keys()].map((v, i) => ({
          id: role.id * 1000 + i,
          name: v,
          version: v,
          release_date: started,
          download_url: `${base}roles/${role.namespace}/${role.name}/${v}.tar.gz`,
        }));
        return json(res, 200, { count: results.length, next_link: null, previous_link: null, results });
      }
    }
    return notFound(res);
  };

  const server = http.createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      json(res, 500, { detail: (err as Error).message });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  const stand: GalaxyStandIn = {
    url: base,
    requests,
    async addCollection(file) {
      const m = await readTarballManifest(file);
      const bytes = fs.readFileSync(file);
      const entry: GalaxyCollectionEntry = {
        namespace: m.namespace,
        name: m.name,
        version: m.version,
        dependencies: m.dependencies,
        file,
        sha256: createHash("sha256").update(bytes).digest("hex"),
        size: bytes.length,
      };
      const key = `${m.namespace}.${m.name}`;
      const list = (collections.get(key) ?? []).filter((c) => c.version !== m.version);
      list.push(entry);
      list.sort((a, b) => compareVersions(a.version, b.version));
      collections.set(key, list);
      return entry;
    },
    async addCollectionDir(dir) {
      const out: GalaxyCollectionEntry[] = [];
      for (const t of tarballsIn(dir)) out.push(await stand.addCollection(t.file));
      return out;
    },
    addRole(namespace, name, version, archive) {
      const key = `${namespace}.${name}`;
      const role = roles.get(key) ?? { id: roles.size + 1, namespace, name, versions: new Map<string, string>() };
      role.versions.set(version, archive);
      roles.set(key, role);
    },
    addFile(name, file) {
      files.set(name, file);
      return `${base}files/${encodeURIComponent(name)}`;
    },
    async addGitRepo(name, commits) {
      const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-galaxy-work-"));
      const bare = path.join(gitRoot, `${name}.git`);
      const git = (args: string[], cwd = work) =>
        run("git", ["-c", "user.name=Dropship tests", "-c", "user.email=tests@dropship.invalid", "-c", "init.defaultBranch=main", ...args], { cwd });
      const ids: Record<string, string> = {};
      try {
        await git(["init", "-q"]);
        for (const c of commits) {
          for (const [rel, content] of Object.entries(c.files)) {
            fs.mkdirSync(path.dirname(path.join(work, rel)), { recursive: true });
            fs.writeFileSync(path.join(work, rel), content);
          }
          await git(["add", "-A"]);
          await git(["commit", "-q", "-m", c.tag]);
          await git(["tag", c.tag]);
          ids[c.tag] = (await git(["rev-parse", "HEAD"])).stdout.trim();
        }
        await git(["clone", "-q", "--bare", work, bare], gitRoot);
        await git(["update-server-info"], bare);
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
      return { url: `${base}git/${name}.git`, commits: ids };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          fs.rmSync(gitRoot, { recursive: true, force: true });
          resolve();
        });
      }),
  };
  for (const dir of opts.collectionDirs ?? []) await stand.addCollectionDir(dir);
  return stand;

  function roleJson(role: GalaxyRoleEntry) {
    return {
      id: role.id,
      name: role.name,
      namespace: role.namespace,
      role_type: "ANS",
      github_user: role.namespace,
      github_repo: `ansible-role-${role.name}`,
      github_branch: "main",
      summary_fields: { namespace: { name: role.namespace }, versions: [...role.versions.keys()].map((v) => ({ name: v })) },
    };
  }
}

/** Numeric-dotted comparison, enough for the stand-in's ordering of releases. */
function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => Number(x) || 0);
  const pb = b.split(/[.-]/).map((x) => Number(x) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

export interface TestRole {
  /** The directory name inside the archive, GitHub-style: <repo>-<version>. */
  top: string;
  /** meta/main.yml dependencies (role names or {role|src, version}). */
  dependencies?: (string | Record<string, string>)[];
  /** The debug message its one task prints. */
  message?: string;
  /** Extra files, relative to the role. */
  files?: Record<string, string>;
}

/** The files of a small role: meta/main.yml (with dependencies) and tasks/main.yml (one debug task). */
export function roleFiles(r: Omit<TestRole, "top">): Record<string, string> {
  return {
    // JSON is YAML.
    "meta/main.yml": JSON.stringify({ galaxy_info: { author: "Dropship tests", description: "test role", license: "MIT", min_ansible_version: "2.14", platforms: [] }, dependencies: r.dependencies ?? [] }, null, 2) + "\n",
    "tasks/main.yml": JSON.stringify([{ name: "say", "ansible.builtin.debug": { msg: r.message ?? "hello" } }], null, 2) + "\n",
    ...(r.files ?? {}),
  };
}

/** Writes a role archive (.tar.gz with one top directory, as GitHub's archive URLs give) into `dir`; returns its path. */
export async function makeRoleArchive(dir: string, r: TestRole): Promise<string> {
  const src = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-role-"));
  try {
    for (const [rel, content] of Object.entries(roleFiles(r))) {
      fs.mkdirSync(path.dirname(path.join(src, r.top, rel)), { recursive: true });
      fs.writeFileSync(path.join(src, r.top, rel), content);
    }
    fs.mkdirSync(dir, { recursive: true });
    const out = path.join(dir, `${r.top}.tar.gz`);
    await run("tar", ["-czf", out, "-C", src, r.top]);
    return out;
  } finally {
    fs.rmSync(src, { recursive: true, force: true });
  }
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  send(res, status, "application/json", JSON.stringify(body));
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function sendFile(res: http.ServerResponse, file: string, type = "application/octet-stream"): void {
  res.writeHead(200, { "content-type": type, "content-length": fs.statSync(file).size });
  fs.createReadStream(file).pipe(res);
}

function notFound(res: http.ServerResponse): void {
  json(res, 404, { detail: "Not found." });
}

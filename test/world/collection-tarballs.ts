// Collection tarballs built from the collections Debian's `ansible` package ships, so ansible-galaxy needs no Galaxy.
// Debian's copies cannot be tarred as they are (FILES.json lists files Debian removed), so each is rebuilt:
// copy without __pycache__/MANIFEST.json/FILES.json, write galaxy.yml from MANIFEST.json, `ansible-galaxy collection build`.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { cachedDir, WORLD_CACHE_DIR } from "./world-cache.js";

const COLLECTIONS_ROOT = "/usr/lib/python3/dist-packages/ansible_collections";
const GALAXY = "/usr/bin/ansible-galaxy";

/** Small collections the tests and the torrent venv need (community.general is ~40 MB; not here). */
export const DEFAULT_COLLECTIONS = ["community.digitalocean", "ansible.posix"];

export interface CollectionTarball {
  name: string;
  version: string;
  file: string;
}

/** Builds (or finds in the cache) tarballs for `names`; returns the directory that holds them. */
export async function buildCollectionTarballs(names: string[] = DEFAULT_COLLECTIONS, cacheDir = WORLD_CACHE_DIR): Promise<string> {
  const manifests = names.map((n) => ({ name: n, info: readCollectionInfo(n) }));
  const key = createHash("sha256")
    .update(JSON.stringify(manifests.map((m) => [m.name, m.info.version])))
    .update(buildOne.toString())
    .digest("hex")
    .slice(0, 12);
  return cachedDir(`collections-${key}`, async (dir) => {
    // Built one after another: the machine has two cores and each build is a Python process.
    for (const m of manifests) await buildOne(m.name, m.info, dir);
  }, cacheDir);
}

/** The tarballs in a directory built by buildCollectionTarballs. */
export function listCollectionTarballs(dir: string): CollectionTarball[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".tar.gz"))
    .map((f) => {
      const m = /^([a-z0-9_]+)-([a-z0-9_]+)-(.+)\.tar\.gz$/.exec(f);
      if (!m) throw new Error(`unexpected tarball name ${f}`);
      return { name: `${m[1]}.${m[2]}`, version: m[3]!, file: path.join(dir, f) };
    });
}

interface CollectionInfo {
  namespace: string;
  name: string;
  version: string;
  authors?: string[];
  readme?: string;
  dependencies?: Record<string, string>;
  [k: string]: unknown;
}

function collectionDir(name: string): string {
  const [ns, coll] = name.split(".");
  return path.join(COLLECTIONS_ROOT, ns!, coll!);
}

function readCollectionInfo(name: string): CollectionInfo {
  const manifest = path.join(collectionDir(name), "MANIFEST.json");
  if (!fs.existsSync(manifest)) throw new Error(`collection ${name} is not under ${COLLECTIONS_ROOT}: apt-get install ansible`);
  return (JSON.parse(fs.readFileSync(manifest, "utf8")) as { collection_info: CollectionInfo }).collection_info;
}

async function buildOne(name: string, info: CollectionInfo, outDir: string): Promise<void> {
  const work = path.join(outDir, ".src", name);
  fs.cpSync(collectionDir(name), work, {
    recursive: true,
    filter: (src) => !/(^|\/)(__pycache__|MANIFEST\.json|FILES\.json)$/.test(src),
  });
  const galaxy = {
    namespace: info.namespace,
    name: info.name,
    version: info.version,
    readme: info.readme && fs.existsSync(path.join(work, info.readme)) ? info.readme : writeReadme(work),
    authors: info.authors?.length ? info.authors : ["unknown"],
    description: info.description ?? null,
    license: info.license ?? [],
    tags: info.tags ?? [],
    dependencies: info.dependencies ?? {},
    repository: info.repository ?? null,
  };
  // JSON is YAML, so galaxy.yml needs no YAML writer.
  fs.writeFileSync(path.join(work, "galaxy.yml"), JSON.stringify(galaxy, null, 2));
  await promisify(execFile)(GALAXY, ["collection", "build", "--force", "--output-path", outDir, work], { maxBuffer: 8 * 1024 * 1024 });
  fs.rmSync(path.join(outDir, ".src"), { recursive: true, force: true });
}

function writeReadme(work: string): string {
  fs.writeFileSync(path.join(work, "README.md"), "Rebuilt from Debian's ansible package for tests.\n");
  return "README.md";
}

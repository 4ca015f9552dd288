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

/** A small module, enough for `ansible-playbook --syntax-check` to resolve the action and for a real run. */
const HELLO_MODULE = `#!/usr/bin/python
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(name=dict(type='str', default='world')), supports_check_mode=True)
    module.exit_json(changed=False, msg='hello %s from __FQCN__' % module.params['name'])


if __name__ == '__main__':
    main()
`;

export interface TestCollection {
  namespace: string;
  name: string;
  version: string;
  /** Galaxy ranges, as in galaxy.yml: {"dropship.base": ">=1.0.0,<2.0.0"}. */
  dependencies?: Record<string, string>;
  /** Module names under plugins/modules, each a copy of a tiny "hello" module. */
  modules: string[];
}

/**
 * Collections made for dependency tests (Debian's collections declare no dependencies):
 * dropship.app 1.0.0 needs dropship.base >=1.0.0,<2.0.0 (two releases: 1.0.0, 1.1.0); dropship.needy 1.0.0 needs
 * dropship.base >=2.0.0, which nothing provides.
 */
export const TEST_COLLECTIONS: TestCollection[] = [
  { namespace: "dropship", name: "base", version: "1.0.0", modules: ["base_ping"] },
  { namespace: "dropship", name: "base", version: "1.1.0", modules: ["base_ping"] },
  { namespace: "dropship", name: "app", version: "1.0.0", dependencies: { "dropship.base": ">=1.0.0,<2.0.0" }, modules: ["app_hello"] },
  { namespace: "dropship", name: "needy", version: "1.0.0", dependencies: { "dropship.base": ">=2.0.0" }, modules: ["needy_hello"] },
];

/** Builds (or finds in the cache) tarballs of `collections` with `ansible-galaxy collection build`; returns the directory. */
export async function buildTestCollections(collections: TestCollection[] = TEST_COLLECTIONS, cacheDir = WORLD_CACHE_DIR): Promise<string> {
  const key = createHash("sha256").update(JSON.stringify(collections)).update(HELLO_MODULE).update(buildTestOne.toString()).digest("hex").slice(0, 12);
  return cachedDir(`test-collections-${key}`, async (dir) => {
    for (const c of collections) await buildTestOne(c, dir);
  }, cacheDir);
}

async function buildTestOne(c: TestCollection, outDir: string): Promise<void> {
  const work = path.join(outDir, ".src", `${c.namespace}.${c.name}-${c.version}`);
  fs.mkdirSync(path.join(work, "plugins", "modules"), { recursive: true });
  fs.mkdirSync(path.join(work, "meta"), { recursive: true });
  fs.writeFileSync(path.join(work, "meta", "runtime.yml"), "requires_ansible: '>=2.14.0'\n");
  for (const m of c.modules) {
    fs.writeFileSync(path.join(work, "plugins", "modules", `${m}.py`), HELLO_MODULE.replace("__FQCN__", `${c.namespace}.${c.name}.${m} ${c.version}`));
  }
  fs.writeFileSync(path.join(work, "README.md"), `${c.namespace}.${c.name}: a test collection of Dropship's local world.\n`);
  const galaxy = {
    namespace: c.namespace,
    name: c.name,
    version: c.version,
    readme: "README.md",
    authors: ["Dropship tests"],
    description: "test collection",
    license: ["MIT"],
    tags: [],
    dependencies: c.dependencies ?? {},
    repository: null,
  };
  fs.writeFileSync(path.join(work, "galaxy.yml"), JSON.stringify(galaxy, null, 2));
  await promisify(execFile)(GALAXY, ["collection", "build", "--force", "--output-path", outDir, work], { maxBuffer: 8 * 1024 * 1024 });
  fs.rmSync(path.join(outDir, ".src"), { recursive: true, force: true });
}

// A cache directory for built test artefacts (wheels, collection tarballs), shared by test files and safe to race on.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** <repo>/.world/cache (git-ignored). */
export const WORLD_CACHE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../.world/cache");

/**
 * Returns cacheDir/name, building it with `build(tmpDir)` when missing. Builders race harmlessly: each
 * builds into its own temporary directory and the first rename wins.
 */
export async function cachedDir(name: string, build: (dir: string) => Promise<void> | void, cacheDir = WORLD_CACHE_DIR): Promise<string> {
  const final = path.join(cacheDir, name);
  if (fs.existsSync(path.join(final, ".complete"))) return final;
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = path.join(cacheDir, `.${name}.${process.pid}.${randomBytes(4).toString("hex")}`);
  fs.mkdirSync(tmp);
  try {
    await build(tmp);
    fs.writeFileSync(path.join(tmp, ".complete"), new Date().toISOString());
    try {
      fs.renameSync(tmp, final);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return final;
}

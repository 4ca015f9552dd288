// `npm run analyze`: runs src/analysis/cli.ts from an esbuild bundle, rebuilt only when one of its inputs changed,
// with V8's code cache. Under tsx a cold run starts tsx's loader (a hooks worker thread that loads esbuild) and sends
// every module through it: about a third of a cold run on the benchmark's 600-file project (docs/analysis.md,
// "Benchmark"). Plain JS on purpose, so that node runs it without a loader; CommonJS, as node starts a CommonJS
// entry without its ES module loader (about 20 ms of a run on a busy machine). scripts/analyze.mjs re-exports it.
"use strict";
const { createHash } = require("node:crypto");
const { copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } = require("node:fs");
const { createRequire } = require("node:module");
const { basename, dirname, join, resolve } = require("node:path");
const { Script } = require("node:vm");

const REPO = join(__dirname, "..");

/** The CLI's bundle: node_modules/.cache is ignored by git and thrown away with node_modules. */
const ANALYZE_BUNDLE = {
  entry: join(REPO, "src/analysis/cli.ts"),
  outDir: join(REPO, "node_modules/.cache/dropship-analyze"),
  // ansible-index.ts reads its data next to itself (new URL("./data/…", import.meta.url)): so, next to the bundle.
  assets: [{ from: join(REPO, "src/analysis/data/ansible-index.jsonl"), to: "data/ansible-index.jsonl" }],
};

const CODE_CACHE = /\.v8-cache$/;

/**
 * Builds `outDir/cli.cjs` from `entry` unless the last build is still good: every input it recorded (sources,
 * bundled dependencies, assets) exists and was last modified before that build started. CommonJS, not ESM: node 20
 * can give a script (vm.Script), not a module, V8's code cache (see runBundle); `import.meta.url` is the bundle's URL.
 * @param {{ entry: string; outDir: string; assets?: { from: string; to: string }[] }} bundle
 * @returns {Promise<{ file: string; built: boolean }>}
 */
async function ensureBundle({ entry, outDir, assets = [] }) {
  const file = join(outDir, "cli.cjs");
  const manifestFile = join(outDir, "inputs.json");
  if (isFresh(file, manifestFile)) return { file, built: false };
  const startedMs = Date.now();
  const { build } = await import("esbuild");
  mkdirSync(outDir, { recursive: true });
  // Written aside and renamed: a second run building at the same time never imports half a file.
  const tmp = `${file}.${process.pid}.tmp`;
  const result = await build({
    entryPoints: [entry],
    outfile: tmp,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    define: { "import.meta.url": "__bundleUrl" },
    banner: { js: 'const __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
    metafile: true,
    logLevel: "error",
    absWorkingDir: dirname(entry),
  });
  for (const a of assets) {
    mkdirSync(dirname(join(outDir, a.to)), { recursive: true });
    copyFileSync(a.from, join(outDir, a.to));
  }
  const inputs = [...Object.keys(result.metafile.inputs).map((p) => resolve(dirname(entry), p)), ...assets.map((a) => a.from)];
  writeFileSync(`${manifestFile}.${process.pid}.tmp`, JSON.stringify({ startedMs, inputs }));
  renameSync(tmp, file);
  renameSync(`${manifestFile}.${process.pid}.tmp`, manifestFile);
  // Code caches of earlier builds are never read again (runBundle names them by the bundle's hash).
  for (const f of readdirSync(outDir)) if (CODE_CACHE.test(f)) unlinkSync(join(outDir, f));
  return { file, built: true };
}

function isFresh(file, manifestFile) {
  try {
    statSync(file);
    const { startedMs, inputs } = JSON.parse(readFileSync(manifestFile, "utf8"));
    return inputs.every((p) => statSync(p).mtimeMs < startedMs);
  } catch {
    return false; // no bundle, no manifest, or an input gone: build
  }
}

/**
 * Runs a CommonJS bundle as node would, with V8's code cache (node 20 has no module.enableCompileCache): the
 * bytecode of every function the last run compiled, next to the bundle, written at exit when there was none (or V8
 * refused it). Without it each run parses and compiles the 190 KiB bundle again. V8 checks a cache only against the
 * source's length, so the cache is named by a hash of the source: a rebuilt bundle never gets an older build's code.
 * @param {string} file
 */
function runBundle(file) {
  const source = readFileSync(file, "utf8");
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 16);
  const cacheFile = join(dirname(file), `${basename(file)}.${hash}.v8-cache`);
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch (err) {
    cachedData = undefined; // ENOENT: the first run of this build
    if (err.code !== "ENOENT") process.stderr.write(`analyze: code cache not read: ${err.message}\n`);
  }
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) {
    process.once("exit", () => {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch (err) {
        // The analysis is done and printed; without a cache the next run only compiles again.
        process.stderr.write(`analyze: code cache not written: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    });
  }
  const bundleModule = { exports: {} };
  script.runInThisContext()(bundleModule.exports, createRequire(file), bundleModule, file, dirname(file));
}

module.exports = { ANALYZE_BUNDLE, ensureBundle, runBundle };

if (require.main === module) {
  ensureBundle(ANALYZE_BUNDLE).then(({ file }) => runBundle(file));
}

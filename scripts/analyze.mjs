// `npm run analyze`: runs src/analysis/cli.ts from an esbuild bundle, rebuilt only when one of its inputs changed.
// Under tsx a cold run starts tsx's loader (a hooks worker thread that loads esbuild) and sends every module through
// it: about a third of a cold run on the benchmark's 600-file project (docs/analysis.md, "Benchmark"). Plain JS on
// purpose, so that node runs it without a loader.
import { copyFileSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL, URL } from "node:url";

const REPO = fileURLToPath(new URL("..", import.meta.url));

/** The CLI's bundle: node_modules/.cache is ignored by git and thrown away with node_modules. */
export const ANALYZE_BUNDLE = {
  entry: join(REPO, "src/analysis/cli.ts"),
  outDir: join(REPO, "node_modules/.cache/dropship-analyze"),
  // ansible-index.ts reads its data next to itself (new URL("./data/…", import.meta.url)): so, next to the bundle.
  assets: [{ from: join(REPO, "src/analysis/data/ansible-index.json"), to: "data/ansible-index.json" }],
};

/**
 * Builds `outDir/cli.mjs` from `entry` unless the last build is still good: every input it recorded (sources,
 * bundled dependencies, assets) exists and was last modified before that build started.
 * @param {{ entry: string; outDir: string; assets?: { from: string; to: string }[] }} bundle
 * @returns {Promise<{ file: string; built: boolean }>}
 */
export async function ensureBundle({ entry, outDir, assets = [] }) {
  const file = join(outDir, "cli.mjs");
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
    format: "esm",
    target: "node20",
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

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { file } = await ensureBundle(ANALYZE_BUNDLE);
  await import(pathToFileURL(file).href);
}

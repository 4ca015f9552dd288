// scripts/analyze.mjs builds the CLI's bundle once and again only when one of its inputs changed, and runs it with
// V8's code cache.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ensureBundle } from "../../scripts/analyze.mjs";

const ANALYZE_MJS = path.join(import.meta.dirname, "../../scripts/analyze.mjs");

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A two-module program that prints its word and a data file read next to itself, as ansible-index.ts does. */
function program(word: string): { entry: string; dep: string; asset: string; outDir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-bundle-"));
  dirs.push(dir);
  const src = path.join(dir, "src");
  fs.mkdirSync(path.join(src, "data"), { recursive: true });
  fs.writeFileSync(path.join(src, "main.ts"), 'import { word } from "./word.js";\nimport { readFileSync } from "node:fs";\nconsole.log(word, readFileSync(new URL("./data/d.json", import.meta.url), "utf8").trim());\n');
  fs.writeFileSync(path.join(src, "word.ts"), `export const word: string = ${JSON.stringify(word)};\n`);
  fs.writeFileSync(path.join(src, "data/d.json"), '"one"\n');
  // Written a minute ago: so an edit after a build (an ordinary write, now) is what makes the build stale.
  const before = new Date(Date.now() - 60_000);
  for (const f of ["main.ts", "word.ts", "data/d.json"]) fs.utimesSync(path.join(src, f), before, before);
  return { entry: path.join(src, "main.ts"), dep: path.join(src, "word.ts"), asset: path.join(src, "data/d.json"), outDir: path.join(dir, "out") };
}

const runFile = (file: string) => spawnSync(process.execPath, [file], { encoding: "utf8" }).stdout.trim();

/** The bundle run as `npm run analyze` runs it: runBundle, with the code cache. */
function runWithCache(file: string): { stdout: string; stderr: string } {
  const code = `import { runBundle } from ${JSON.stringify(ANALYZE_MJS)}; runBundle(process.argv[1]);`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", code, file], { encoding: "utf8" });
  return { stdout: r.stdout.trim(), stderr: r.stderr };
}

const codeCaches = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith(".v8-cache"));

describe("ensureBundle", () => {
  it("builds once, reuses the bundle, and rebuilds when a source or an asset is newer than the build", async () => {
    const p = program("hello");
    const spec = { entry: p.entry, outDir: p.outDir, assets: [{ from: p.asset, to: "data/d.json" }] };
    const first = await ensureBundle(spec);
    expect(first.built).toBe(true);
    expect(runFile(first.file)).toBe('hello "one"');
    expect((await ensureBundle(spec)).built).toBe(false);

    fs.writeFileSync(p.dep, 'export const word: string = "changed";\n');
    const second = await ensureBundle(spec);
    expect(second.built).toBe(true);
    expect(runFile(second.file)).toBe('changed "one"');

    fs.writeFileSync(p.asset, '"two"\n');
    expect((await ensureBundle(spec)).built).toBe(true);
    expect((await ensureBundle(spec)).built).toBe(false);
    expect(runFile(second.file)).toBe('changed "two"');
  });

  it("rebuilds when the bundle was removed", async () => {
    const p = program("again");
    const spec = { entry: p.entry, outDir: p.outDir, assets: [{ from: p.asset, to: "data/d.json" }] };
    const { file } = await ensureBundle(spec);
    fs.rmSync(file);
    expect((await ensureBundle(spec)).built).toBe(true);
    expect(runFile(file)).toBe('again "one"');
  });

  it("runs the bundle with a code cache written by the first run, and a new one for a rebuilt bundle", async () => {
    const p = program("cached");
    const spec = { entry: p.entry, outDir: p.outDir, assets: [{ from: p.asset, to: "data/d.json" }] };
    const { file } = await ensureBundle(spec);
    expect(codeCaches(p.outDir)).toEqual([]);
    expect(runWithCache(file)).toEqual({ stdout: 'cached "one"', stderr: "" });
    const [first] = codeCaches(p.outDir);
    expect(first).toMatch(/^cli\.cjs\.[0-9a-f]{16}\.v8-cache$/);
    const written = fs.statSync(path.join(p.outDir, first!)).mtimeMs;
    // Used, not written again.
    expect(runWithCache(file)).toEqual({ stdout: 'cached "one"', stderr: "" });
    expect(codeCaches(p.outDir)).toEqual([first]);
    expect(fs.statSync(path.join(p.outDir, first!)).mtimeMs).toBe(written);

    // Same length, other code: a cache named by the source's hash is not the old build's.
    fs.writeFileSync(p.dep, 'export const word: string = "cachex";\n');
    expect((await ensureBundle(spec)).built).toBe(true);
    expect(codeCaches(p.outDir)).toEqual([]);
    expect(runWithCache(file)).toEqual({ stdout: 'cachex "one"', stderr: "" });
    expect(codeCaches(p.outDir)).toHaveLength(1);
    expect(codeCaches(p.outDir)).not.toEqual([first]);
  });
});

// scripts/analyze.mjs builds the CLI's bundle once and again only when one of its inputs changed.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ensureBundle } from "../../scripts/analyze.mjs";

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
});

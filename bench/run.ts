// `npm run bench`: runs every benchmark module, prints a table (with the change against the last recorded run) and
// writes bench/results.json, which is committed so that figures can be compared across changes.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchResult } from "./types.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);

async function main(): Promise<void> {
  const modules = fs
    .readdirSync(here)
    .filter((f) => f.endsWith(".ts") && !["run.ts", "types.ts"].includes(f))
    .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
    .sort();
  const results: BenchResult[] = [];
  let failed = 0;
  for (const file of modules) {
    const started = Date.now();
    process.stderr.write(`bench ${file} ...\n`);
    try {
      const mod = (await import(path.join(here, file))) as { run?: () => Promise<BenchResult[]> };
      // Helpers (stats.ts, analysis-probe.ts) live beside the modules and have no run().
      if (typeof mod.run !== "function") {
        process.stderr.write(`bench ${file}: a helper, not a benchmark\n`);
        continue;
      }
      const rs = await mod.run();
      results.push(...rs);
      process.stderr.write(`bench ${file} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    } catch (err) {
      failed++;
      process.stderr.write(`bench ${file} FAILED: ${(err as Error).stack ?? String(err)}\n`);
    }
  }
  const file = path.join(here, "results.json");
  const previous: BenchResult[] = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as BenchResult[]) : [];
  printTable(results, new Map(previous.map((r) => [r.name, r.value])));
  // A partial run (some modules named) updates its own figures and keeps the others from the last run.
  const fresh = new Set(results.map((r) => r.name));
  const merged = only.length > 0 ? [...previous.filter((r) => !fresh.has(r.name)), ...results] : results;
  fs.writeFileSync(file, JSON.stringify(merged, null, 2) + "\n");
  process.stdout.write(`\nwrote ${merged.length} figures to bench/results.json\n`);
  if (failed > 0) process.exitCode = 1;
}

function printTable(results: BenchResult[], last: Map<string, number>): void {
  const rows = results.map((r) => [r.name, fmt(r.value), r.unit, r.lowerIsBetter ? "lower" : "higher", change(r, last.get(r.name))]);
  const head = ["benchmark", "value", "unit", "better", "vs last run"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
  process.stdout.write(line(head) + "\n" + widths.map((w) => "-".repeat(w)).join("  ") + "\n");
  for (const r of rows) process.stdout.write(line(r) + "\n");
}

/** "+12%" worse or "-5%" better than the recorded figure, from the point of view of `lowerIsBetter`. */
function change(r: BenchResult, before: number | undefined): string {
  if (before === undefined || before === 0) return "new";
  const pct = ((r.value - before) / Math.abs(before)) * 100;
  const better = r.lowerIsBetter ? pct < 0 : pct > 0;
  return `${pct >= 0 ? "+" : ""}${pct.toFixed(0)}%${Math.abs(pct) >= 1 ? (better ? " better" : " worse") : ""}`;
}

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

await main();

// `npm run bench`: runs every benchmark module, prints a table and writes bench/results.json.
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
      const mod = (await import(path.join(here, file))) as { run: () => Promise<BenchResult[]> };
      const rs = await mod.run();
      results.push(...rs);
      process.stderr.write(`bench ${file} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    } catch (err) {
      failed++;
      process.stderr.write(`bench ${file} FAILED: ${(err as Error).stack ?? String(err)}\n`);
    }
  }
  printTable(results);
  // A partial run (some modules named) updates its own figures and keeps the others from the last run.
  const file = path.join(here, "results.json");
  const previous: BenchResult[] = only.length > 0 && fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as BenchResult[]) : [];
  const fresh = new Set(results.map((r) => r.name));
  const merged = [...previous.filter((r) => !fresh.has(r.name)), ...results];
  fs.writeFileSync(file, JSON.stringify(merged, null, 2) + "\n");
  process.stdout.write(`\nwrote ${merged.length} figures to bench/results.json\n`);
  if (failed > 0) process.exitCode = 1;
}

function printTable(results: BenchResult[]): void {
  const rows = results.map((r) => [r.name, fmt(r.value), r.unit, r.lowerIsBetter ? "lower" : "higher"]);
  const head = ["benchmark", "value", "unit", "better"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
  process.stdout.write(line(head) + "\n" + widths.map((w) => "-".repeat(w)).join("  ") + "\n");
  for (const r of rows) process.stdout.write(line(r) + "\n");
}

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

await main();

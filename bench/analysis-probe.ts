// Child process for bench/analysis.ts (not a benchmark module: it has no run()). Prints one JSON line.
//   phases <project> : where a cold analysis process spends its time (start → main, imports, index, walk, output)
//   bot <project> <first-project> : what a chat user waits for in the running bot: modules and index loaded and one
//     upload (<first-project>) analysed, as after the bot's first upload; then the never-seen <project>, timed alone.
import { fileURLToPath } from "node:url";

const atMain = performance.now(); // ms since the process started: node, the loader (tsx) and the bundle's compile

async function phases(project: string): Promise<Record<string, number>> {
  const t0 = performance.now();
  const { analyzeProject, loadAnsibleIndex, toAnalysisJson } = await import("../src/analysis/index.js");
  const t1 = performance.now();
  const index = loadAnsibleIndex();
  const t2 = performance.now();
  const result = analyzeProject(project, { index });
  const t3 = performance.now();
  const json = JSON.stringify(toAnalysisJson(result), null, 2);
  const t4 = performance.now();
  if (json.length === 0) throw new Error("empty analysis");
  return { startToMainMs: atMain, importsMs: t1 - t0, indexLoadMs: t2 - t1, analysisMs: t3 - t2, jsonOutputMs: t4 - t3, totalMs: t4 };
}

async function inBot(project: string, firstProject: string): Promise<Record<string, number>> {
  const { analyzeProject } = await import("../src/analysis/index.js");
  let t0 = performance.now();
  analyzeProject(firstProject); // the first upload: loads the index
  const firstUploadMs = performance.now() - t0;
  t0 = performance.now();
  const result = analyzeProject(project);
  const analysisMs = performance.now() - t0;
  return { analysisMs, firstUploadMs, tasks: result.stats.tasks };
}

// No top-level await: the bundled probe is CommonJS, as the CLI's bundle (scripts/analyze.cjs).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, project, first] = process.argv.slice(2);
  void (mode === "phases" ? phases(project!) : inBot(project!, first!)).then((out) => process.stdout.write(`${JSON.stringify(out)}\n`));
}

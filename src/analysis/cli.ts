// CLI: `npm run analyze -- <path> [--entry FILE] [--json]`; exit 0 on success, 2 on bad input (message on stderr).
import { parseArgs } from "node:util";
import { analyzeProject } from "./analyze.js";
import { renderReport, toAnalysisJson } from "./report.js";
import { AnalysisInputError } from "./types.js";

const USAGE = "usage: npm run analyze -- <playbook.yml | project-dir> [--entry FILE] [--json]";

function main(argv: string[]): number {
  let args;
  try {
    args = parseArgs({ args: argv, allowPositionals: true, options: { entry: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [path, ...extra] = args.positionals;
  if (!path || extra.length) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  try {
    const result = analyzeProject(path, { entry: args.values.entry });
    process.stdout.write(args.values.json ? `${JSON.stringify(toAnalysisJson(result), null, 2)}\n` : renderReport(result));
    return 0;
  } catch (err) {
    if (err instanceof AnalysisInputError) {
      process.stderr.write(`error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

process.exitCode = main(process.argv.slice(2));

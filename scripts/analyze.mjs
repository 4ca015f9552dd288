// For ES modules (bench, tests): scripts/analyze.cjs is what `npm run analyze` runs.
export { ANALYZE_BUNDLE, ensureBundle, runBundle } from "./analyze.cjs";

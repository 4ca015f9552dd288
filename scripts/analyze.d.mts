// Types for scripts/analyze.mjs (which re-exports scripts/analyze.cjs: plain JS so that node runs it without a loader).
export interface BundleSpec {
  entry: string;
  outDir: string;
  assets?: { from: string; to: string }[];
}
export declare const ANALYZE_BUNDLE: Required<BundleSpec>;
export declare function ensureBundle(bundle: BundleSpec): Promise<{ file: string; built: boolean }>;
/** Runs a CommonJS bundle with V8's code cache next to it. */
export declare function runBundle(file: string): void;

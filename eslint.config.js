// Lint config: typescript-eslint's recommended rules over the whole project, plus the import layers of
// docs/architecture.md: imports point down only, and no module imports itself back through a cycle.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { importX } from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";

// The rooms of src/, bottom to top. Each may import only from rooms listed below it (see docs/architecture.md).
const SHARED = ["src/shared"];
const STORAGE = ["src/storage"];
const DOMAIN = ["src/analysis", "src/hosts", "src/venv", "src/jobs"];
const ADAPTERS = ["src/cloud", "src/remote", "src/aria2", "src/ansible"];
const ENTRY_POINTS = ["src/bot", "src/web"];
const ROOT = ["src/app", "src/cli", "src/main.ts", "src/config.ts"];

/** One no-restricted-paths zone: files in `target` may not import from `from`. */
const zone = (target, from, message) => ({ target, from, message });

export const LAYER_ZONES = [
  zone(SHARED, [...STORAGE, ...DOMAIN, ...ADAPTERS, ...ENTRY_POINTS, ...ROOT], "src/shared is the bottom layer: it imports nothing of Dropship's."),
  zone(STORAGE, [...DOMAIN, ...ADAPTERS, ...ENTRY_POINTS, ...ROOT], "src/storage imports only src/shared."),
  zone(DOMAIN, [...ADAPTERS, ...ENTRY_POINTS, ...ROOT], "The domain declares ports; adapters implement them and the composition root (src/app) wires them."),
  // Inside the domain: analysis is pure; hosts know nothing of venvs or jobs; venvs know nothing of jobs.
  zone(["src/analysis"], ["src/hosts", "src/venv", "src/jobs"], "src/analysis is pure: it imports no other domain room."),
  zone(["src/hosts"], ["src/venv", "src/jobs"], "src/hosts sits below src/venv and src/jobs."),
  zone(["src/venv"], ["src/jobs"], "src/venv sits below src/jobs."),
  // One room per job kind; the generic job engine (src/jobs/*.ts) knows no kind.
  zone(["src/jobs/torrent"], ["src/jobs/playbook"], "Job kinds do not import each other."),
  zone(["src/jobs/playbook"], ["src/jobs/torrent"], "Job kinds do not import each other."),
  zone(["src/jobs/*.ts"], ["src/jobs/torrent", "src/jobs/playbook"], "The generic job engine knows no job kind; kinds register with it."),
  // Adapters implement domain ports and do not reach into each other, the entry points or the root.
  ...ADAPTERS.map((a) => zone([a], [...ADAPTERS.filter((b) => b !== a), ...ENTRY_POINTS, ...ROOT], `${a} is an adapter: it may import the domain, src/storage and src/shared only.`)),
  // Entry points talk to the domain; they know nothing of SSH, DigitalOcean or aria2, nor of each other.
  zone(["src/bot"], [...ADAPTERS, "src/web", "src/app", "src/cli", "src/main.ts"], "src/bot is an entry point: it calls the domain; the composition root (src/app) hands it everything else."),
  zone(["src/web"], [...DOMAIN, ...ADAPTERS, "src/bot", ...ROOT], "src/web serves files: it imports only src/shared."),
];

export default tseslint.config(
  { ignores: ["node_modules/**", "data/**", "bench/results.json", ".world/**", "coverage/**", "test/lint/fixtures/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  {
    // CommonJS scripts (scripts/analyze.cjs: node starts a CommonJS entry faster than a module).
    files: ["**/*.cjs"],
    languageOptions: {
      sourceType: "commonjs",
      globals: { require: "readonly", module: "writable", exports: "writable", __dirname: "readonly", __filename: "readonly", process: "readonly" },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["src/**/*.ts"],
    plugins: { "import-x": importX },
    settings: {
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: "tsconfig.json" })],
      // no-cycle reads the imported modules itself: tell it how to parse TypeScript.
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
      "import-x/extensions": [".ts", ".js"],
    },
    rules: {
      "import-x/no-restricted-paths": ["error", { zones: LAYER_ZONES }],
      // Runtime cycles; import-x skips type-only imports (none of those cycles exist either, see docs/architecture.md).
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      // Sizes a reader can hold in mind; an exception says why in an eslint-disable comment beside it.
      "max-lines": ["error", { max: 300, skipBlankLines: true, skipComments: true }],
      "max-lines-per-function": ["error", { max: 80, skipBlankLines: true, skipComments: true }],
      // grammY stays in the entry point.
      "no-restricted-imports": ["error", { patterns: [{ group: ["grammy", "@grammyjs/*"], message: "Only src/bot (and the composition root) may use grammY." }] }],
    },
  },
  {
    files: ["src/bot/**/*.ts", "src/app/**/*.ts"],
    rules: { "no-restricted-imports": "off" },
  },
);

// Lint config: typescript-eslint's recommended rules over the whole project.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", "data/**", "bench/results.json", ".world/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  {
    files: ["src/jobs/**", "src/analysis/**", "src/venv/**"],
    rules: {
      // The domain knows nothing of Telegram (STYLE.md).
      "no-restricted-imports": ["error", { patterns: ["grammy", "@grammyjs/*", "**/bot/**"] }],
    },
  },
);

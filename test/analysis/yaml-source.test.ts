import { describe, expect, it } from "vitest";
import { analyzeProject, AnalysisInputError } from "../../src/analysis/index.js";
import { parseYaml } from "../../src/analysis/yaml-source.js";
import { project } from "./project-fixture.js";

function errorOf(fn: () => unknown): AnalysisInputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AnalysisInputError) return err;
    throw err;
  }
  throw new Error("expected an AnalysisInputError");
}

describe("safe YAML loading", () => {
  it("reports invalid YAML with its line and column", () => {
    const root = project({ "site.yml": "- hosts: all\n  tasks:\n    - debug: msg=hi\n   bad: [1, 2" });
    const err = errorOf(() => analyzeProject(root));
    expect(err.message).toMatch(/^site\.yml:\d+:\d+: invalid YAML/);
    expect(err.line).toBeGreaterThanOrEqual(3);
    expect(err.column).toBeGreaterThan(0);
  });

  it("refuses a YAML bomb (alias expansion) instead of exhausting memory", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      levels.push(`${cur}: &${cur} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    }
    const root = project({ "site.yml": `- hosts: all\n  vars:\n${levels.map((l) => `    ${l}`).join("\n")}\n  tasks: []` });
    const started = Date.now();
    const err = errorOf(() => analyzeProject(root));
    expect(err.message).toMatch(/YAML bomb/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("refuses binary content and oversized files", () => {
    const bin = project({ "site.yml": Buffer.from([0x2d, 0x20, 0x00, 0xff, 0x01]) });
    expect(errorOf(() => analyzeProject(bin)).message).toMatch(/binary content/);
    const big = project({ "site.yml": `- hosts: all\n  vars:\n    x: "${"a".repeat(3 * 1024 * 1024)}"` });
    expect(errorOf(() => analyzeProject(big)).message).toMatch(/over the \d+-byte limit/);
  });

  it("rejects YAML that is not a playbook, naming what it looks like", () => {
    const mapping = project({ "site.yml": "name: not a playbook\nversion: 1" });
    expect(errorOf(() => analyzeProject(mapping)).message).toMatch(/not a playbook/);
    const tasks = project({ "site.yml": "- name: a task\n  ansible.builtin.debug: msg=hi" });
    expect(errorOf(() => analyzeProject(tasks)).message).toMatch(/looks like a task/);
  });

  it("resolves YAML 1.1 booleans, merge keys and gives 1-based lines", () => {
    const doc = parseYaml("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\nflag: yes\nlist:\n  - a: 1\n", "t.yml");
    const top = doc.docs[0] as Record<string, unknown>;
    expect(top["m"]).toEqual({ x: 1, y: 3 });
    expect(top["flag"]).toBe(true);
    const item = (top["list"] as unknown[])[0];
    expect(doc.lineOf(item)).toBe(7);
  });

  it("finds vault-encrypted files and !vault values", () => {
    const root = project({
      "site.yml": "- hosts: all\n  vars_files: [secrets.yml]\n  vars:\n    pw: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      6162\n  tasks: []",
      "secrets.yml": "$ANSIBLE_VAULT;1.1;AES256\n61626364",
    });
    const r = analyzeProject(root);
    expect(r.vault).toEqual([
      { file: "site.yml", line: 4 },
      { file: "secrets.yml", line: 1 },
    ]);
    expect(r.warnings.some((w) => w.includes("vault-encrypted content (2)"))).toBe(true);
  });
});

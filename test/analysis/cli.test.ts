import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { project } from "./project-fixture.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const FIXTURE = fileURLToPath(new URL("./fixtures/realistic", import.meta.url));

/** Exactly what `npm run analyze` runs (npm itself left out). */
const SCRIPT = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts["analyze"]!.split(" ");

function analyze(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const [command, ...rest] = SCRIPT;
  const r = spawnSync(command === "node" ? process.execPath : command!, [...rest, ...args], { cwd: REPO, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("npm run analyze", () => {
  it("prints the documented JSON with --json and exits 0", () => {
    const r = analyze(FIXTURE, "--json");
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(["entry", "collections", "roles", "python", "ansibleCore", "unresolved", "varsPrompt", "warnings", "conflicts"]);
    expect(json["entry"]).toBe("site.yml");
    expect(json["ansibleCore"]).toBe(">=2.11.0");
  });

  it("runs from the CLI's esbuild bundle, not through tsx", () => {
    expect(SCRIPT[0]).toBe("node");
    expect(SCRIPT.at(-1)).toBe("scripts/analyze.cjs");
    expect(analyze(FIXTURE, "--json").code).toBe(0);
    expect(existsSync(join(REPO, "node_modules/.cache/dropship-analyze/cli.cjs"))).toBe(true);
  });

  it("prints a report for people, honouring --entry", () => {
    const r = analyze(FIXTURE, "--entry", "playbooks/infra.yml");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Playbook playbooks/infra.yml");
    expect(r.stdout).toContain("dns_api_token: API token for the DNS provider (hidden)");
    expect(r.stdout).not.toContain("community.postgresql —");
  });

  it("exits 2 with the error on stderr for bad input", () => {
    const broken = project({ "site.yml": "- hosts: all\n  tasks: [\n" });
    const r = analyze(broken);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^error: site\.yml:\d+:\d+: invalid YAML/);
    expect(analyze("/nonexistent/dir").stderr).toMatch(/no such file or directory/);
    expect(analyze().code).toBe(2);
  });
});

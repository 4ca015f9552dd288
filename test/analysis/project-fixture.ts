// Writes small throwaway Ansible projects for tests and removes them afterwards.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach } from "vitest";

const made: string[] = [];

afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A temp project from {relative path: content}; trailing newlines are added. Removed after each test. */
export function project(files: Record<string, string | Buffer>): string {
  const root = mkdtempSync(join(tmpdir(), "dropship-analysis-"));
  made.push(root);
  for (const [rel, content] of Object.entries(files)) {
    const abs = join(root, rel);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, typeof content === "string" ? `${content.replace(/^\n/, "")}\n` : content);
  }
  return root;
}

/** A scratch dir (removed after each test) for files that must live outside a project. */
export function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "dropship-analysis-out-"));
  made.push(dir);
  return dir;
}

// Galaxy roles in a venv: the requirements file ansible-galaxy reads, and its output turned into reasons per role.
import { describeRole, type NormalisedRole } from "./venv-spec.js";

/** requirements.yml for `ansible-galaxy role install -r` (JSON is YAML). */
export function roleRequirementsFile(roles: NormalisedRole[]): string {
  return JSON.stringify({
    roles: roles.map((r) => ({ name: r.name, ...(r.src ? { src: r.src } : {}), ...(r.version ? { version: r.version } : {}), ...(r.scm ? { scm: r.scm } : {}) })),
  });
}

/**
 * Why roles were not installed, from ansible-galaxy's output: "role X: reason" for each "- X was NOT installed
 * successfully" (its warnings wrap lines, so whitespace is folded first). A failed download is said on its own line
 * before the warning; it becomes that role's reason.
 */
export function roleFailures(output: string, asked: NormalisedRole[]): string[] {
  const text = output.replace(/\s+/g, " ");
  const out: string[] = [];
  const download = /failed to download the file: (.*?)\s*(?=\[WARNING\]|ERROR!|$)/.exec(text)?.[1];
  const re = /- (\S+) was NOT installed successfully(?:: (.*?))?\.?\s*(?=\[WARNING\]|ERROR!|$)/g;
  const seen = new Set<string>();
  for (const m of text.matchAll(re)) {
    const name = m[1]!;
    if (seen.has(name)) continue;
    seen.add(name);
    const reason = (m[2] ?? (download ? `failed to download the file: ${download}` : "")).trim().replace(/^- /, "").replace(/\s*\.$/, "");
    const spec = asked.find((r) => r.name === name);
    out.push(`role ${spec ? describeRole(spec) : `${name} (a dependency)`}: ${reason || "not installed"}`);
  }
  return out;
}

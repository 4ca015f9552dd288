// What `npm run venv` prints: the venv's report as JSON (docs/venv.md has the schema) or as text for people,
// with a shell-quoted command that runs the playbook from the venv.
import { quote } from "shell-quote";
import type { VenvContents } from "./venv-contents.js";
import type { EnsuredVenv } from "./venv-manager.js";

/** The `--json` object; field order is part of the documented schema. */
export interface VenvReport {
  name: string;
  path: string;
  /** The host's label: "local" for the bot's own machine, user@address for a registered host. */
  host: string;
  reused: boolean;
  python: VenvContents["python"];
  ansibleCore: string;
  /** Set these (e.g. with env) to run ansible from the venv: VIRTUAL_ENV, PATH, ANSIBLE_COLLECTIONS_PATH, ANSIBLE_ROLES_PATH. */
  env: Record<string, string>;
  collections: VenvContents["collections"];
  roles: VenvContents["roles"];
  packages: VenvContents["packages"];
  /** The entry playbook, relative to the project root. */
  entry: string;
  /** A shell command line running the entry playbook with the venv (from the project root when not local). */
  command: string;
  /** The analysis's findings (unfollowed includes, roles whose content is unknown, …). */
  warnings: string[];
}

/** `env NAME=value … ansible-playbook entry`, every word quoted by shell-quote; prefixed with a cd when the project is on this machine. */
export function playbookCommand(env: Record<string, string>, entry: string, projectRoot: string | null): string {
  // Names are identifiers; only values need quoting, which keeps "NAME=" readable.
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${quote([v])}`);
  const line = `env ${assignments.join(" ")} ${quote(["ansible-playbook", entry])}`;
  return projectRoot === null ? line : `cd ${quote([projectRoot])} && ${line}`;
}

export function venvReport(
  venv: EnsuredVenv,
  host: { label: string; local: boolean },
  contents: VenvContents,
  analysis: { root: string; entry: string; warnings: string[] },
): VenvReport {
  return {
    name: venv.name,
    path: venv.path,
    host: host.label,
    reused: venv.reused,
    python: contents.python,
    ansibleCore: contents.ansibleCore,
    env: venv.env,
    collections: contents.collections,
    roles: contents.roles,
    packages: contents.packages,
    entry: analysis.entry,
    command: playbookCommand(venv.env, analysis.entry, host.local ? analysis.root : null),
    warnings: analysis.warnings,
  };
}

const versioned = (x: { name: string; version: string | null }) => `  ${x.name} ${x.version ?? "(no version recorded)"}`;

function section(title: string, lines: string[]): string[] {
  return [`${title} (${lines.length})`, ...(lines.length > 0 ? lines : ["  none"])];
}

/** The report for people: what the venv is, what it holds, and the command to paste. */
export function renderVenvReport(r: VenvReport, hostIsLocal: boolean): string {
  const asked = r.packages.filter((p) => p.requested);
  const deps = r.packages.length - asked.length;
  const lines = [
    `Virtualenv ${r.name} on ${r.host}: ${r.reused ? "reused (already built for this dependency set)" : "built"}`,
    `  path    ${r.path}`,
    `  python  ${r.python.version} (${r.python.path}), ansible-core ${r.ansibleCore}`,
    "",
    ...section("Collections", r.collections.map(versioned)),
    ...section("Roles", r.roles.map(versioned)),
    ...section("Python packages asked for", asked.map(versioned)),
    ...(deps > 0 ? [`  and ${deps} more in the venv: their dependencies, pip's own (--json lists them)`] : []),
    ...(r.warnings.length > 0 ? ["", "Warnings", ...r.warnings.map((w) => `  - ${w}`)] : []),
    "",
    hostIsLocal ? "Run the playbook with it:" : `Run the playbook with it on ${r.host}, in a copy of the project there:`,
    `  ${r.command}`,
  ];
  return `${lines.join("\n")}\n`;
}

// The dependency closure of a project: analyse, fetch the Galaxy/git/URL roles it needs into a staging folder,
// analyse their content too (their tasks use collections, their meta names more roles), and repeat until nothing
// new is needed. What the analysis finds inside a fetched role says so ("from role X").
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { analyzeProject, YamlCache, type AnalysisResult, type AnalyzeOptions } from "../analysis/index.js";
import { run, type Host } from "../hosts/host.js";
import { roleFailures, roleRequirementsFile } from "./venv-roles.js";
import { InvalidVenvSpecError, normaliseRole, type NormalisedRole } from "./venv-spec.js";

/** Installs roles (and the roles they depend on) into a folder on the bot's own machine. */
export interface RoleStager {
  /** Throws RoleFetchError naming each role that could not be fetched and why. */
  stage(roles: NormalisedRole[], dir: string, signal?: AbortSignal): Promise<void>;
}

/** A role the project needs could not be fetched: the message names it and says why. */
export class RoleFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RoleFetchError";
  }
}

export interface ClosureOptions extends Omit<AnalyzeOptions, "installedRoles"> {
  /** null: roles are not fetched (their content stays unknown; the result says so in a warning). */
  stager: RoleStager | null;
  signal?: AbortSignal;
  onProgress?(text: string): void;
  /** Where the staging folder is made (default: the OS temp dir). */
  tmpDir?: string;
  analyze?: typeof analyzeProject;
}

/** Rounds of fetch-and-analyse before giving up: each round fetches only what the previous one newly found. */
const MAX_ROUNDS = 6;

/**
 * Analyses a project and the roles it installs, to a fixed point. Throws AnalysisInputError for bad input and
 * RoleFetchError when a role cannot be fetched. The staging folder is always removed.
 */
export async function analyseClosure(projectDir: string, opts: ClosureOptions): Promise<AnalysisResult> {
  const analyze = opts.analyze ?? analyzeProject;
  const { stager, signal, onProgress, tmpDir, analyze: _a, ...analyzeOpts } = opts;
  const staging = mkdtempSync(join(tmpDir ?? tmpdir(), "dropship-roles-"));
  try {
    const fetched = new Set<string>();
    // Each round reads the same project again (plus the roles fetched since): parse each file once.
    const yamlCache = new YamlCache();
    for (let round = 1; ; round++) {
      const result = analyze(projectDir, { ...analyzeOpts, installedRoles: staging, yamlCache });
      const missing = rolesToFetch(result).filter((r) => !fetched.has(r.name) && !existsSync(join(staging, r.name)));
      if (missing.length === 0) return result;
      if (!stager) {
        result.warnings.push(`roles ${missing.map((r) => r.name).join(", ")} were not fetched: what they need is not in this analysis`);
        return result;
      }
      if (round > MAX_ROUNDS) throw new RoleFetchError(`roles keep naming new roles after ${MAX_ROUNDS} rounds (last: ${missing.map((r) => r.name).join(", ")})`);
      signal?.throwIfAborted();
      onProgress?.(`fetching role${missing.length > 1 ? "s" : ""} ${missing.map((r) => r.name).join(", ")}`);
      await stager.stage(missing, staging, signal);
      for (const r of missing) fetched.add(r.name);
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * The result's roles as ansible-galaxy installs them. An entry it could not install as written is left out here:
 * naming the venv fails on it with the reason, which the card shows.
 */
function rolesToFetch(result: AnalysisResult): NormalisedRole[] {
  return result.dependencySet.roles.flatMap((r) => {
    try {
      return [normaliseRole({ name: r.name, ...(r.source ? { src: r.source } : {}), ...(r.version ? { version: r.version } : {}) })];
    } catch (err) {
      if (err instanceof InvalidVenvSpecError) return [];
      throw err;
    }
  });
}

export interface GalaxyRoleStagerDeps {
  /** The bot's own machine (the staging folder is read there by the analysis). */
  host: Host;
  /** Path of an ansible-galaxy executable there (the bot's own venv has one); resolved on first use. */
  ansibleGalaxy(): Promise<string>;
  galaxyServer: string | null;
  timeoutMs: number;
}

/** Fetches roles with the real `ansible-galaxy role install`, as the venv build will (same sources, same rules). */
export function galaxyRoleStager(deps: GalaxyRoleStagerDeps): RoleStager {
  return {
    async stage(roles, dir, signal) {
      const galaxy = await deps.ansibleGalaxy();
      const reqFile = join(dir, ".requirements.yml");
      await deps.host.writeFile(reqFile, roleRequirementsFile(roles), 0o600);
      const argv = [galaxy, "role", "install", "-r", reqFile, "-p", dir, ...(deps.galaxyServer ? ["-s", deps.galaxyServer] : [])];
      const r = await deps.host.exec(argv, { timeoutMs: deps.timeoutMs, signal, env: { ANSIBLE_ROLES_PATH: dir, ANSIBLE_NOCOLOR: "1" } });
      await run(deps.host, ["rm", "-f", "--", reqFile]);
      if (r.code === 0) return;
      signal?.throwIfAborted();
      const failures = roleFailures(`${r.stdout}\n${r.stderr}`, roles);
      const last = (r.stderr || r.stdout).trim().split("\n").pop() ?? "";
      throw new RoleFetchError(failures.length ? failures.join("; ") : `ansible-galaxy could not fetch ${roles.map((x) => x.name).join(", ")}: ${last}`);
    },
  };
}

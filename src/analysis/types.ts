// Types of the playbook analysis: what a project needs (DependencySet) and what was found (AnalysisResult).

/** What a virtualenv must contain to run a playbook; sorted and de-duplicated so it can be hashed. */
export interface DependencySet {
  /** A PEP 440 range for ansible-core, from the used collections' requires_ansible, or null. */
  ansibleCore: string | null;
  /** Used and declared collections; version/source/type only where requirements.yml gives them. */
  collections: { name: string; version?: string; source?: string; type?: string }[];
  /** pip requirement strings; controller goes in the venv, target is needed on the managed hosts. */
  python: { controller: string[]; target: string[] };
  /**
   * Roles to install (not shipped in the project): from requirements files, roles' meta/main.yml dependencies
   * and meta/requirements.yml. `type` says how ansible-galaxy fetches it; `source` is the src (absent for
   * Galaxy names); `version` a tag, branch, commit or Galaxy version.
   */
  roles: { name: string; type: RoleInstallType; source?: string; version?: string }[];
  /** Only present when not empty: collection ranges no version can meet. The venv build must refuse the set. */
  conflicts?: VersionConflict[];
}

/** How a role is installed: by Galaxy name, git clone, archive URL, or a local file/path. */
export type RoleInstallType = "galaxy" | "git" | "url" | "file";

/** A collection whose merged version range no version can satisfy (an error: nothing can be installed). */
export interface VersionConflict {
  collection: string;
  /** The merged range, e.g. `>=5.1.0,<5.0.0`. */
  range: string;
  /** Which plugin needs what, which requirement excludes it, and what the index has. */
  reason: string;
}

/** Plugin kinds the analysis resolves. */
export type PluginKind = "modules" | "filter" | "test" | "lookup" | "callback" | "connection" | "inventory" | "become";

/** Where something was found; file is relative to the project root, line is 1-based (0 when unknown). */
export interface Location {
  file: string;
  line: number;
}

/** Why a collection is in the report. */
export interface CollectionReason extends Location {
  /** A plugin kind, or "module_defaults", "role", "requirements". */
  kind: string;
  /** The name as written in the project (e.g. `ec2_instance`, `group/aws`, `amazon.aws>=5`). */
  name: string;
  /** Set when the use is inside a role installed for the project (file `installed-roles/<role>/…`): that role. */
  fromRole?: string;
}

export interface CollectionFinding {
  name: string;
  declared: boolean;
  used: boolean;
  reasons: CollectionReason[];
}

export interface RoleFinding {
  name: string;
  /** "project" (found in the project), "galaxy", a git/url source, or "collection:<ns.coll>". */
  source: string;
  declared: boolean;
  used: boolean;
  /** Set when only an installed role asks for it (its meta/main.yml dependencies): that role. */
  from?: string;
}

export interface UnresolvedName extends Location {
  name: string;
}

export interface VarsPrompt {
  name: string;
  prompt: string;
  private: boolean;
  default: string | null;
}

/** The stable JSON the CLI prints with --json (docs/analysis.md). */
export interface AnalysisJson {
  entry: string;
  collections: CollectionFinding[];
  roles: RoleFinding[];
  python: { controller: string[]; target: string[] };
  ansibleCore: string | null;
  unresolved: UnresolvedName[];
  varsPrompt: VarsPrompt[];
  warnings: string[];
  conflicts: VersionConflict[];
}

export interface AnalysisResult extends AnalysisJson {
  /** Absolute path of the project root the relative paths refer to. */
  root: string;
  dependencySet: DependencySet;
  /** Uses of raw / shell / command / script modules. */
  shellUses: (Location & { module: string })[];
  /** Vault-encrypted files and `!vault` values. */
  vault: Location[];
  /** Unresolved names with a did-you-mean, where one is close. */
  suggestions: (UnresolvedName & { kind: PluginKind; suggestion: string | null })[];
  stats: { files: number; tasks: number };
}

export interface AnalyzeOptions {
  /** Entry playbook, relative to the project directory. */
  entry?: string;
  /**
   * A folder of roles installed for the project (one folder per role, as `ansible-galaxy role install -p` makes it):
   * searched after roles_path, walked like the project's roles, and named `installed-roles/<role>/…` in findings.
   */
  installedRoles?: string;
  /**
   * Environment variables known when the playbook will run, for `$VAR`/`${VAR}` in ansible.cfg paths.
   * None by default: entries naming an unknown variable are left out (the analysis never reads its own env).
   */
  env?: Readonly<Record<string, string>>;
}

/** Bad input: the message says what is wrong and where; the CLI exits 2 with it. */
export class AnalysisInputError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(message);
    this.name = "AnalysisInputError";
  }
}

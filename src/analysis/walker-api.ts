// The interface between the task walker and the project walker (kept apart to keep each module small).
import type { AnsibleIndex } from "./ansible-index.js";
import type { Findings } from "./findings.js";
import type { PluginKind } from "./types.js";
import type { LoadedYaml } from "./yaml-source.js";

export interface WalkContext {
  /** Real path and project-relative path of the file being walked. */
  abs: string;
  rel: string;
  doc: LoadedYaml;
  /** The `collections:` search list in force (play's, or the role's own). */
  searchList: readonly string[];
  /** Whether modules here run on the controller. */
  controller: boolean;
  /** Real path of the role whose file this is, if any. */
  roleDir: string | null;
  /** Directory of the playbook being walked (includes and roles are searched from it). */
  playDir: string;
  /** Files and roles on the current import/include path, for cycle detection. */
  chain: readonly string[];
}

export interface RoleOptions {
  tasksFrom?: string;
  handlersFrom?: string;
  /** include_role (a cycle is a warning) rather than roles:/import_role/dependencies (an error). */
  dynamic: boolean;
}

export interface WalkerApi {
  readonly index: AnsibleIndex;
  readonly findings: Findings;
  recordUse(kind: PluginKind, name: string, ctx: WalkContext, line: number, controller: boolean): void;
  moduleDefaults(value: unknown, ctx: WalkContext, line: number): void;
  scanValue(value: unknown, ctx: WalkContext, line: number): void;
  scanConditional(value: unknown, ctx: WalkContext, line: number): void;
  followTaskFile(path: string, ctx: WalkContext, line: number, dynamic: boolean): void;
  followRole(name: string, ctx: WalkContext, line: number, opts: RoleOptions): void;
}

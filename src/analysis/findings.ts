// What walking a project found: plugin uses with their location and side, roles, prompts, warnings.
import type { Location, PluginKind, VarsPrompt } from "./types.js";

export interface PluginUse extends Location {
  kind: PluginKind;
  name: string;
  /** Runs on the controller (localhost, connection local, delegate_to localhost, Jinja plugins). */
  controller: boolean;
  searchList: readonly string[];
}

export interface GroupUse extends Location {
  /** As written after `group/`: `aws` or `amazon.aws.aws`. */
  group: string;
}

export interface RoleUse extends Location {
  name: string;
  /** Project-relative directory when the role is in the project, else null. */
  dir: string | null;
  /** Found among the roles installed for the project (the closure's staging folder), not shipped in it. */
  installed: boolean;
  /** For `ns.coll.role` references. */
  collection: string | null;
}

export class Findings {
  readonly uses: PluginUse[] = [];
  readonly groups: GroupUse[] = [];
  readonly roles: RoleUse[] = [];
  readonly varsPrompt: VarsPrompt[] = [];
  readonly shellUses: (Location & { module: string })[] = [];
  readonly vault: Location[] = [];
  readonly files = new Set<string>();
  tasks = 0;
  private readonly warningSet = new Set<string>();
  readonly warnings: string[] = [];

  warn(message: string): void {
    if (this.warningSet.has(message)) return;
    this.warningSet.add(message);
    this.warnings.push(message);
  }

  addPrompt(p: VarsPrompt): void {
    if (!this.varsPrompt.some((q) => q.name === p.name)) this.varsPrompt.push(p);
  }
}

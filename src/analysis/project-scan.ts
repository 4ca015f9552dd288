// Project files outside the play graph: inventory plugin configs, group_vars/host_vars, ansible.cfg callbacks.
import { join, resolve } from "node:path";
import type { AnsibleCfg } from "./project-files.js";
import { isDir, isFile, listDir } from "./project-files.js";
import { isRecord } from "./task-walker.js";
import { AnalysisInputError } from "./types.js";
import type { WalkContext } from "./walker-api.js";
import type { ProjectWalker } from "./walker.js";

const YAML_FILE = /\.ya?ml$/;
const MAX_SCAN_DEPTH = 4;

/** Everything the play walk does not reach but a run still needs: inventory plugins, vars, callbacks. */
export function scanProjectExtras(w: ProjectWalker, cfg: AnsibleCfg | null, base: WalkContext): void {
  const root = w.paths.root;
  const invRoots = [join(root, "inventory"), join(root, "inventories"), ...(cfg?.inventory ?? []).map((p) => resolve(root, p))];
  const seen = new Set<string>();
  for (const inv of invRoots) {
    if (isFile(inv)) scanInventoryFile(w, inv, base, seen);
    else if (isDir(inv)) walkDir(inv, 0, (f) => scanInventoryFile(w, f, base, seen));
  }
  const varDirs = [root, base.playDir, ...invRoots].flatMap((d) => [join(d, "group_vars"), join(d, "host_vars")]);
  for (const dir of new Set(varDirs)) if (isDir(dir)) walkDir(dir, 0, (f) => scanVars(w, f, base, seen), true);
  if (cfg) {
    for (const cb of cfg.callbacks) w.recordUse("callback", cb.name, { ...base, rel: cfg.file }, cb.line, true);
  }
}

function walkDir(dir: string, depth: number, visit: (file: string) => void, anyExtension = false): void {
  if (depth > MAX_SCAN_DEPTH) return;
  for (const name of listDir(dir)) {
    if (name.startsWith(".")) continue;
    const p = join(dir, name);
    if (isDir(p)) {
      if (!["group_vars", "host_vars"].includes(name) || anyExtension) walkDir(p, depth + 1, visit, anyExtension);
    } else if (YAML_FILE.test(name) || (anyExtension && !name.includes("."))) {
      visit(p);
    }
  }
}

/** An inventory source that is YAML with `plugin:` names an inventory plugin (run on the controller). */
function scanInventoryFile(w: ProjectWalker, file: string, base: WalkContext, seen: Set<string>): void {
  if (!YAML_FILE.test(file) || seen.has(file)) return;
  seen.add(file);
  const doc = tryLoad(w, file);
  const top = doc?.docs[0];
  if (!doc || !isRecord(top)) return;
  const ctx = { ...base, rel: doc.file, doc };
  if (typeof top["plugin"] === "string") w.recordUse("inventory", top["plugin"], ctx, doc.lineOf(top) || 1, true);
  w.scanValue(top, ctx, 1);
}

function scanVars(w: ProjectWalker, file: string, base: WalkContext, seen: Set<string>): void {
  if (seen.has(file)) return;
  seen.add(file);
  const doc = tryLoad(w, file);
  if (doc) for (const d of doc.docs) w.scanValue(d, { ...base, rel: doc.file, doc }, doc.lineOf(d) || 1);
}

/** Files outside the play graph are optional: a broken one is a warning, not a failed analysis. */
function tryLoad(w: ProjectWalker, file: string): ReturnType<ProjectWalker["load"]> | null {
  try {
    return w.load(w.paths.inside(file));
  } catch (err) {
    if (!(err instanceof AnalysisInputError)) throw err;
    w.findings.warn(`${err.message} (skipped)`);
    return null;
  }
}

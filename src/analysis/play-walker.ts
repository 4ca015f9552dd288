// Walks playbooks and plays: import_playbook, hosts/connection sides, collections:, vars_prompt, vars_files, roles.
import { dirname, resolve } from "node:path";
import { isControllerConnection, isLocalHost, isRecord, isTemplated, walkTasks } from "./task-walker.js";
import { AnalysisInputError } from "./types.js";
import type { WalkContext } from "./walker-api.js";
import type { ProjectWalker } from "./walker.js";
import type { LoadedYaml } from "./yaml-source.js";

const IMPORT_PLAYBOOK = ["import_playbook", "ansible.builtin.import_playbook", "ansible.legacy.import_playbook", "include"];
const TASK_SECTIONS = ["pre_tasks", "tasks", "post_tasks", "handlers"];
const NOT_SCANNED = new Set([...TASK_SECTIONS, "roles", "vars_prompt"]);

/**
 * Walks a playbook file; `from` is the importing play (undefined for the entry). Returns the parsed file, or null
 * when it was not walked (a cycle, or walked before).
 */
export function walkPlaybook(w: ProjectWalker, abs: string, from?: { ctx: WalkContext; line: number }): LoadedYaml | null {
  const chain = from ? from.ctx.chain : [];
  if (from && !w.enter(abs, from.ctx, from.line, false)) return null;
  if (!w.once(`playbook|${abs}`)) return null;
  const doc = w.load(abs);
  const ctx: WalkContext = {
    abs,
    rel: doc.file,
    doc,
    searchList: [],
    controller: false,
    roleDir: null,
    playDir: dirname(abs),
    chain: [...chain, abs],
  };
  if (doc.vaultEncrypted) throw new AnalysisInputError(`${doc.file}: the playbook is vault-encrypted; it cannot be analysed`, doc.file);
  const top = doc.docs[0];
  if (!Array.isArray(top) || top.length === 0 || !top.every(isRecord)) {
    throw new AnalysisInputError(`${doc.file}: not a playbook: expected a list of plays (mappings with hosts: or import_playbook:)`, doc.file);
  }
  for (const play of top) {
    const line = doc.lineOf(play);
    const imported = IMPORT_PLAYBOOK.find((k) => typeof play[k] === "string");
    if (imported) {
      followPlaybook(w, String(play[imported]), ctx, line);
    } else if ("hosts" in play) {
      walkPlay(w, play, ctx, line);
    } else {
      const hint = Object.keys(play).some((k) => !w.index.keywords.has(k)) ? " (it looks like a task; is this a task file?)" : "";
      throw new AnalysisInputError(`${doc.file}:${line}: not a play: no hosts: or import_playbook:${hint}`, doc.file, line);
    }
  }
  return doc;
}

function followPlaybook(w: ProjectWalker, written: string, ctx: WalkContext, line: number): void {
  const path = w.expandKnownVars(written, ctx);
  if (isTemplated(path)) {
    w.findings.warn(`${ctx.rel}:${line}: import_playbook path ${path} is templated; not followed`);
    return;
  }
  const target = w.paths.firstFile([resolve(ctx.playDir, path)], `${ctx.rel}:${line}`);
  if (!target) {
    w.findings.warn(`${ctx.rel}:${line}: imported playbook ${path} not found`);
    return;
  }
  walkPlaybook(w, target, { ctx, line });
}

function walkPlay(w: ProjectWalker, play: Record<string, unknown>, base: WalkContext, line: number): void {
  const hosts = play["hosts"];
  const hostList = Array.isArray(hosts) ? hosts : typeof hosts === "string" ? hosts.split(/[,:]/).map((h) => h.trim()) : [];
  let controller = hostList.length > 0 && hostList.every(isLocalHost);
  const conn = play["connection"];
  if (typeof conn === "string") {
    w.recordUse("connection", conn, base, line, true);
    if (!isTemplated(conn)) controller = isControllerConnection(conn);
  }
  const colls = play["collections"];
  const searchList = Array.isArray(colls) ? colls.filter((c): c is string => typeof c === "string") : [];
  const ctx: WalkContext = { ...base, controller, searchList };
  if (typeof play["become_method"] === "string") w.recordUse("become", play["become_method"], ctx, line, true);
  if (play["module_defaults"] !== undefined) w.moduleDefaults(play["module_defaults"], ctx, line);
  readVarsPrompt(w, play["vars_prompt"], ctx);
  followVarsFiles(w, play["vars_files"], ctx, line);
  for (const [k, v] of Object.entries(play)) if (!NOT_SCANNED.has(k)) w.scanValue(v, ctx, line);
  const roles = play["roles"];
  for (const r of Array.isArray(roles) ? roles : []) {
    const name = typeof r === "string" ? r : isRecord(r) ? (r["role"] ?? r["name"]) : undefined;
    const rline = ctx.doc.lineOf(r) || ctx.doc.lineOf(roles) || line;
    if (typeof name === "string") w.followRole(name, ctx, rline, { dynamic: false });
    else w.findings.warn(`${ctx.rel}:${rline}: role entry without a name`);
    if (isRecord(r)) w.scanValue(r, ctx, rline);
  }
  for (const section of TASK_SECTIONS) walkTasks(w, play[section], ctx, section);
}

function readVarsPrompt(w: ProjectWalker, value: unknown, ctx: WalkContext): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value)) {
    w.findings.warn(`${ctx.rel}: vars_prompt should be a list`);
    return;
  }
  for (const p of value) {
    if (!isRecord(p) || typeof p["name"] !== "string") continue;
    const def = p["default"];
    w.findings.addPrompt({
      name: p["name"],
      prompt: typeof p["prompt"] === "string" ? p["prompt"] : p["name"],
      // Ansible hides the answer unless the prompt says private: no.
      private: p["private"] === undefined ? true : p["private"] === true || p["private"] === "yes" || p["private"] === "true",
      default: def === undefined || def === null ? null : String(def),
    });
  }
}

function followVarsFiles(w: ProjectWalker, value: unknown, ctx: WalkContext, playLine: number): void {
  const line = ctx.doc.lineOf(value) || playLine;
  const entries = Array.isArray(value) ? value.flat() : value === undefined || value === null ? [] : [value];
  for (const written of entries) {
    if (typeof written !== "string") continue;
    const entry = w.expandKnownVars(written, ctx);
    if (isTemplated(entry)) {
      w.findings.warn(`${ctx.rel}:${line}: vars file ${entry} is templated; not followed`);
      continue;
    }
    const abs = w.paths.firstFile([resolve(ctx.playDir, entry)], `${ctx.rel}:${line}`);
    if (abs) w.scanVarsFile(abs, ctx);
    else w.findings.warn(`${ctx.rel}:${line}: vars file ${entry} not found`);
  }
}

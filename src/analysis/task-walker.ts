// Walks task lists: blocks, actions (incl. action:/local_action:), includes, module_defaults, Jinja in arguments.
import { closestName } from "./did-you-mean.js";
import type { WalkContext, WalkerApi } from "./walker-api.js";

const CONDITIONALS = new Set(["when", "changed_when", "failed_when", "until"]);
const NESTED = new Set(["block", "rescue", "always"]);
const ACTION_KEYWORDS = ["action", "local_action"];
const SHELL = new Set(["raw", "shell", "command", "script"]);
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "::1"]);
const CONTROLLER_CONNECTIONS = /^(?:ansible\.builtin\.)?local$|^(?:ansible\.netcommon\.)?(?:network_cli|httpapi|netconf)$/;

export const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
export const isTemplated = (s: string): boolean => s.includes("{{") || s.includes("{%");

/** The builtin short name of an action (`ansible.builtin.x` / `ansible.legacy.x` → `x`). */
function shortBuiltin(name: string): string {
  return name.replace(/^ansible\.(?:builtin|legacy)\./, "");
}

export function isLocalHost(value: unknown): boolean {
  return typeof value === "string" && LOCAL_HOSTS.has(value.trim());
}

export function isControllerConnection(value: unknown): boolean {
  return typeof value === "string" && CONTROLLER_CONNECTIONS.test(value.trim());
}

export function walkTasks(w: WalkerApi, list: unknown, ctx: WalkContext, what: string): void {
  if (list === null || list === undefined) return;
  if (!Array.isArray(list)) {
    w.findings.warn(`${ctx.rel}:${ctx.doc.lineOf(list)}: ${what} should be a list of tasks`);
    return;
  }
  for (const task of list) {
    if (isRecord(task)) walkTask(w, task, ctx);
    else if (task !== null) w.findings.warn(`${ctx.rel}: a task in ${what} is not a mapping`);
  }
}

/** Context for a task or block: connection/delegation move it to the controller or away from it. */
function narrow(w: WalkerApi, node: Record<string, unknown>, ctx: WalkContext, line: number): WalkContext {
  let controller = ctx.controller;
  const delegate = node["delegate_to"];
  if (typeof delegate === "string" && !isTemplated(delegate)) controller = isLocalHost(delegate);
  const conn = node["connection"];
  if (typeof conn === "string") {
    w.recordUse("connection", conn, ctx, line, true);
    if (!isTemplated(conn)) controller = isControllerConnection(conn);
  }
  if (typeof node["become_method"] === "string") w.recordUse("become", node["become_method"], ctx, line, true);
  if (node["module_defaults"] !== undefined) w.moduleDefaults(node["module_defaults"], ctx, line);
  return controller === ctx.controller ? ctx : { ...ctx, controller };
}

function walkTask(w: WalkerApi, task: Record<string, unknown>, ctx: WalkContext): void {
  const line = ctx.doc.lineOf(task);
  const tctx = narrow(w, task, ctx, line);
  if ("block" in task) {
    scanTaskValues(w, task, tctx, line);
    for (const key of NESTED) walkTasks(w, task[key], tctx, key);
    return;
  }
  w.findings.tasks++;
  const keys = Object.keys(task);
  const actions = withoutKeywordTypos(w, keys.filter((k) => !w.index.keywords.has(k) && !k.startsWith("with_")), ctx, line);
  for (const k of keys) if (k.startsWith("with_")) w.recordUse("lookup", k.slice(5), tctx, line, true);
  let action: { name: string; args: unknown; local: boolean } | null = null;
  for (const key of ACTION_KEYWORDS) {
    if (task[key] !== undefined) action = parseActionKeyword(task[key], key === "local_action");
  }
  if (!action && actions[0] !== undefined) action = { name: actions[0], args: task[actions[0]], local: false };
  if (actions.length > 1) w.findings.warn(`${ctx.rel}:${line}: conflicting action statements: ${actions.join(", ")}`);
  for (const extra of actions.slice(1)) w.recordUse("modules", extra, tctx, line, tctx.controller);
  if (!action) {
    w.findings.warn(`${ctx.rel}:${line}: task has no action (no module name among its keys)`);
  } else if (isTemplated(action.name)) {
    w.findings.warn(`${ctx.rel}:${line}: templated action ${action.name}; not resolved`);
  } else {
    const actx = action.local ? { ...tctx, controller: true } : tctx;
    const args = mergeArgs(action.args, task["args"]);
    handleAction(w, action.name, args, actx, line);
  }
  scanTaskValues(w, task, tctx, line);
}

/** With several action candidates, one close to a task keyword (`becom:`) is a misspelt keyword, not a module. */
function withoutKeywordTypos(w: WalkerApi, candidates: string[], ctx: WalkContext, line: number): string[] {
  if (candidates.length < 2) return candidates;
  return candidates.filter((k) => {
    if (k.includes(".")) return true;
    const keyword = closestName(k, w.index.keywords);
    if (keyword) w.findings.warn(`${ctx.rel}:${line}: unknown task keyword ${k} — did you mean ${keyword}?`);
    return !keyword;
  });
}

function handleAction(w: WalkerApi, name: string, args: unknown, ctx: WalkContext, line: number): void {
  w.recordUse("modules", name, ctx, line, ctx.controller);
  // Only builtin actions are special; a collection's `include_tasks` would be just a module.
  const short = !name.includes(".") ? name : /^ansible\.(?:builtin|legacy)\.[^.]+$/.test(name) ? shortBuiltin(name) : null;
  if (short === null) return;
  if (SHELL.has(short)) w.findings.shellUses.push({ module: short, file: ctx.rel, line });
  switch (short) {
    case "include_tasks":
    case "import_tasks":
    case "include": {
      const path = fileArg(args);
      if (path) w.followTaskFile(path, ctx, line, short !== "import_tasks");
      else w.findings.warn(`${ctx.rel}:${line}: ${short} without a file`);
      return;
    }
    case "include_role":
    case "import_role": {
      const roleName = isRecord(args) ? args["name"] : undefined;
      if (typeof roleName !== "string") {
        w.findings.warn(`${ctx.rel}:${line}: ${short} without a role name`);
        return;
      }
      const opt = (k: string): string | undefined => (isRecord(args) && typeof args[k] === "string" ? (args[k] as string) : undefined);
      w.followRole(roleName, ctx, line, { tasksFrom: opt("tasks_from"), handlersFrom: opt("handlers_from"), dynamic: short === "include_role" });
      return;
    }
    case "import_playbook":
      w.findings.warn(`${ctx.rel}:${line}: import_playbook is only valid as a play, not as a task`);
  }
}

/** `action: mod args` / `local_action: {module: mod, ...}`. */
function parseActionKeyword(value: unknown, local: boolean): { name: string; args: unknown; local: boolean } | null {
  if (typeof value === "string") {
    const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(value);
    return m?.[1] ? { name: m[1], args: m[2] ?? "", local } : null;
  }
  if (isRecord(value) && typeof value["module"] === "string") {
    const { module, ...rest } = value;
    return { name: module as string, args: rest, local };
  }
  return null;
}

function mergeArgs(args: unknown, extra: unknown): unknown {
  if (!isRecord(extra)) return args;
  if (isRecord(args)) return { ...extra, ...args };
  if (typeof args === "string" && args.trim()) return { ...extra, _raw_params: args };
  return extra;
}

/** The file of include_tasks/import_tasks: free-form (`file.yml k=v`) or `file:`/`_raw_params:`. */
function fileArg(args: unknown): string | null {
  if (typeof args === "string") {
    const text = args.trim();
    if (isTemplated(text)) return text;
    return text.split(/\s+(?=[\w]+=)/)[0] || null;
  }
  if (isRecord(args)) {
    for (const k of ["file", "_raw_params"]) if (typeof args[k] === "string") return fileArg(args[k]);
  }
  return null;
}

/** Jinja in the task's own values (not nested task lists); conditionals are bare expressions. */
function scanTaskValues(w: WalkerApi, task: Record<string, unknown>, ctx: WalkContext, line: number): void {
  for (const k in task) {
    if (NESTED.has(k)) continue;
    if (CONDITIONALS.has(k)) w.scanConditional(task[k], ctx, line);
    else w.scanValue(task[k], ctx, line);
  }
}

// Reads Ansible Galaxy requirements files (collections and roles, every form ansible-galaxy accepts).
import { dirname, resolve } from "node:path";
import type { LoadedYaml } from "./yaml-source.js";
import type { ProjectPaths } from "./project-files.js";

const REQUIREMENTS_LOCATIONS = [
  "requirements.yml",
  "requirements.yaml",
  "collections/requirements.yml",
  "collections/requirements.yaml",
  "roles/requirements.yml",
  "roles/requirements.yaml",
];

export interface DeclaredCollection {
  name: string;
  version?: string;
  source?: string;
  type?: string;
  file: string;
  line: number;
}

export interface DeclaredRole {
  name: string;
  src?: string;
  version?: string;
  file: string;
  line: number;
}

export interface Declared {
  collections: DeclaredCollection[];
  roles: DeclaredRole[];
  files: string[];
  warnings: string[];
}

type Loader = (abs: string) => LoadedYaml;

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const str = (v: unknown): string | undefined => (v === null || v === undefined || typeof v === "object" ? undefined : String(v).trim() || undefined);

/** Reads every requirements file at the usual locations; a missing file is not an error. */
export function readRequirements(paths: ProjectPaths, load: Loader): Declared {
  const out: Declared = { collections: [], roles: [], files: [], warnings: [] };
  for (const loc of REQUIREMENTS_LOCATIONS) {
    const abs = paths.firstFile([loc]);
    if (abs) readOne(abs, paths, load, out, 0);
  }
  return out;
}

/** A role's own meta/requirements.yml (what ansible-galaxy installs along with the role), into `out`. */
export function readRoleRequirements(abs: string, paths: ProjectPaths, load: Loader, out: Declared): void {
  readOne(abs, paths, load, out, 0);
}

/**
 * A meta/main.yml `dependencies:` entry as ansible-galaxy's RoleRequirement.role_yaml_parse reads it: a string
 * (`name`, or `src[,version[,name]]`), or a mapping with `role:` (a name or such a string), or `name`/`src`/`version`/`scm`.
 */
export function roleDependencySpec(entry: unknown): Omit<DeclaredRole, "file" | "line"> | null {
  // A plain name (`common`, `geerlingguy.java`) is a role to find; only `src,version` or a URL/git spec is a source.
  if (typeof entry === "string") return /[,@]|:\/\//.test(entry) ? parseRoleString(entry) : { name: entry.trim() };
  if (!isRecord(entry)) return null;
  const role = str(entry["role"]);
  if (role) {
    const spec = role.includes(",") ? parseRoleString(role) : { name: role };
    return spec ? clean({ ...spec, version: str(entry["version"]) ?? spec.version }) : null;
  }
  const spec = roleFromDict(entry);
  return spec ? clean(spec) : null;
}

function readOne(abs: string, paths: ProjectPaths, load: Loader, out: Declared, depth: number): void {
  const rel = paths.rel(abs);
  if (out.files.includes(rel) || depth > 5) return;
  out.files.push(rel);
  const doc = load(abs);
  const top = doc.docs[0];
  if (top === null || top === undefined) return;
  if (Array.isArray(top)) {
    // The old format: a plain list of roles.
    readRoles(top, abs, paths, load, doc, out, depth);
    return;
  }
  if (!isRecord(top)) {
    out.warnings.push(`${rel}: not a requirements file (expected a list of roles or a mapping with collections:/roles:)`);
    return;
  }
  const colls = top["collections"];
  if (Array.isArray(colls)) for (const entry of colls) readCollection(entry, rel, doc, out);
  const roles = top["roles"];
  if (Array.isArray(roles)) readRoles(roles, abs, paths, load, doc, out, depth);
}

function readCollection(entry: unknown, rel: string, doc: LoadedYaml, out: Declared): void {
  const line = doc.lineOf(entry);
  if (typeof entry === "string") {
    const [name, version] = splitNameVersion(entry.trim());
    out.collections.push(clean({ name, version, type: inferType(name), file: rel, line }));
    return;
  }
  if (!isRecord(entry) || !str(entry["name"])) {
    out.warnings.push(`${rel}:${line}: collection entry without a name`);
    return;
  }
  const name = str(entry["name"]) ?? "";
  out.collections.push(
    clean({ name, version: str(entry["version"]), source: str(entry["source"]), type: str(entry["type"]) ?? inferType(name), file: rel, line }),
  );
}

function readRoles(list: unknown[], abs: string, paths: ProjectPaths, load: Loader, doc: LoadedYaml, out: Declared, depth: number): void {
  const rel = paths.rel(abs);
  for (const entry of list) {
    const line = doc.lineOf(entry);
    if (isRecord(entry) && str(entry["include"])) {
      const inc = paths.firstFile([resolve(dirname(abs), str(entry["include"]) ?? "")], `${rel}:${line}`);
      if (inc) readOne(inc, paths, load, out, depth + 1);
      else out.warnings.push(`${rel}:${line}: included requirements file ${str(entry["include"])} not found`);
      continue;
    }
    const spec = typeof entry === "string" ? parseRoleString(entry) : isRecord(entry) ? roleFromDict(entry) : null;
    if (!spec) {
      out.warnings.push(`${rel}:${line}: role entry without a name or src`);
      continue;
    }
    out.roles.push(clean({ ...spec, file: rel, line }));
  }
}

/** "src[,version[,name]]" as ansible-galaxy's role_spec_parse reads it. */
function parseRoleString(text: string): Omit<DeclaredRole, "file" | "line"> | null {
  const [src = "", version, name] = text.split(",").map((s) => s.trim());
  if (!src) return null;
  return { name: name || roleNameFromSrc(src), src: isGalaxyName(src) ? undefined : src, version: version || undefined };
}

function roleFromDict(d: Record<string, unknown>): Omit<DeclaredRole, "file" | "line"> | null {
  const src = str(d["src"]);
  let name = str(d["name"]);
  if (!name && src) name = src.includes(",") ? parseRoleString(src)?.name : roleNameFromSrc(src);
  if (!name) return null;
  const scm = str(d["scm"]);
  const source = src && scm && !src.startsWith(`${scm}+`) ? `${scm}+${src}` : src && isGalaxyName(src) ? undefined : src;
  return { name, src: source, version: str(d["version"]) };
}

/** `user.role` on Galaxy, as opposed to a URL, git spec or path. */
function isGalaxyName(src: string): boolean {
  return /^[\w-]+\.[\w-]+$/.test(src);
}

/** ansible-galaxy's repo_url_to_role_name: the last path element without .git / .tar.gz. */
function roleNameFromSrc(src: string): string {
  if (!src.includes("://") && !src.includes("@") && !src.includes("/")) return src.split(",")[0] ?? src;
  const last = src.replace(/[/]+$/, "").split("/").pop() ?? src;
  return last.replace(/\.git$/, "").replace(/\.tar\.gz$/, "").replace(/,.*$/, "");
}

function splitNameVersion(text: string): [string, string | undefined] {
  if (text.includes("://") || text.startsWith("git@") || text.includes("/")) return [text, undefined];
  const i = text.indexOf(":");
  return i > 0 ? [text.slice(0, i), text.slice(i + 1).trim() || undefined] : [text, undefined];
}

function inferType(name: string): string | undefined {
  if (name.startsWith("git+") || name.startsWith("git@") || /\.git(,|$)/.test(name)) return "git";
  if (/^https?:\/\//.test(name)) return "url";
  if (/\.tar\.gz$/.test(name)) return "file";
  if (name.startsWith("/") || name.startsWith(".")) return "dir";
  return undefined;
}

function clean<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

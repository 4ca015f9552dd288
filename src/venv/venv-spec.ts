// What a virtualenv must contain (VenvSpec), normalised so that equal needs give one stable name: dropship-<hash>.
import { createHash } from "node:crypto";
import { validRange } from "@renovatebot/pep440";
import { normalizePackageName } from "../analysis/requirement-merge.js";

export type CollectionSourceType = "galaxy" | "url" | "file" | "git" | "dir";

export interface CollectionRequirement {
  /** namespace.name for galaxy collections; the URL or path for the other types. */
  name: string;
  /** A Galaxy version range: "*", "1.2.3", ">=1.0.0,<2.0.0". */
  version?: string;
  /** A Galaxy server URL for this one collection. */
  source?: string;
  type?: CollectionSourceType;
}

export type RoleScm = "git";

/**
 * A role installed with `ansible-galaxy role install` into <venv>/roles/<name>, as requirements.yml has it:
 * - Galaxy: {name: "geerlingguy.docker", version?: "7.1.0"} (or src: "geerlingguy.docker" and another name);
 * - archive URL: {name?: "nginx", src: "https://example.com/nginx-1.2.tar.gz"};
 * - git: {name?, src: "https://example.com/r.git", scm: "git", version?: branch, tag or commit} — or src "git+https://…".
 */
export interface RoleRequirement {
  /** The directory it is installed as and the name plays use; derived from src (as the client does) when absent. */
  name?: string;
  src?: string;
  /** A Galaxy release, or a git branch, tag or commit; absent = newest release / the default branch. */
  version?: string;
  scm?: RoleScm;
}

/** A role after normalisation: name always set, src only where it is not the Galaxy name itself. */
export interface NormalisedRole {
  name: string;
  src?: string;
  version?: string;
  scm?: RoleScm;
}

export interface VenvSpec {
  /** A PEP 440 range for ansible-core, e.g. ">=2.15,<2.17"; null = whatever the host's Python supports. */
  ansibleCore: string | null;
  /** Controller-side Python requirements, e.g. "boto3>=1.28", "requests". */
  python: string[];
  collections: CollectionRequirement[];
  /** Roles for <venv>/roles (ANSIBLE_ROLES_PATH). Absent and empty are the same spec (and the same name). */
  roles?: RoleRequirement[];
}

/** A spec in canonical form (normaliseVenvSpec): every role has its name. */
export interface NormalisedVenvSpec extends Omit<VenvSpec, "roles"> {
  roles?: NormalisedRole[];
}

/** A spec resolved for one host: the host's Python minor version is part of what the venv is. */
export interface ResolvedVenvSpec extends NormalisedVenvSpec {
  pythonVersion: string;
}

/** The analysis engineer's DependencySet, as far as a venv cares. */
export interface DependencySetLike {
  ansibleCore: string | null;
  collections: { name: string; version?: string; source?: string; type?: string }[];
  python: { controller: string[]; target: string[] };
  /** Collection ranges nothing satisfies (a plugin newer than the declared range allows): no venv can be built. */
  conflicts?: { collection: string; range: string; reason: string }[];
  /** Roles not shipped in the project; `source` is requirements.yml's src. */
  roles?: { name: string; source?: string; version?: string }[];
}

/** A spec nothing can be built from (a requirement pip would not take, conflicting ranges): the input's fault. */
export class InvalidVenvSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidVenvSpecError";
  }
}

// name, optional [extras], optional specifiers, optional "; marker". No URLs and nothing that starts like a pip option.
const REQUIREMENT = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[A-Za-z0-9._,\s-]*\])?\s*((?:[<>=!~]=?|===)\s*[A-Za-z0-9.*+!_-]+(?:\s*,\s*(?:[<>=!~]=?|===)\s*[A-Za-z0-9.*+!_-]+)*)?\s*(?:;\s*([^;]+))?$/;
const COLLECTION_NAME = /^[a-z0-9_]+\.[a-z0-9_]+$/;
const GALAXY_RANGE = /^(\*|[<>=!]*\s*[0-9A-Za-z.+-]+(\s*,\s*[<>=!]*\s*[0-9A-Za-z.+-]+)*)$/;
/** Collections every ansible-core has; never installed. */
const BUILTIN_COLLECTIONS = new Set(["ansible.builtin", "ansible.legacy"]);
/** Installed through the ansibleCore field, never as a plain package. */
const ANSIBLE_ITSELF = new Set(["ansible-core", "ansible-base", "ansible"]);

function normaliseSpecifiers(s: string | undefined): string {
  if (!s) return "";
  return s
    .split(",")
    .map((p) => p.replace(/\s+/g, ""))
    .filter(Boolean)
    .sort()
    .join(",");
}

interface ParsedRequirement {
  name: string;
  extras: string;
  specifiers: string;
  marker: string;
}

function parseRequirement(req: string): ParsedRequirement {
  const m = REQUIREMENT.exec(req.trim());
  if (!m) {
    throw new InvalidVenvSpecError(
      `"${req}" is not a Python requirement Dropship accepts (name, optional [extras], version specifiers, optional ; marker — no URLs or pip options)`,
    );
  }
  const extras = m[2] ? `[${m[2].slice(1, -1).split(",").map((e) => e.trim().toLowerCase()).filter(Boolean).sort().join(",")}]` : "";
  return { name: normalizePackageName(m[1]!), extras, specifiers: normaliseSpecifiers(m[3]), marker: (m[4] ?? "").trim().replace(/\s+/g, " ") };
}

function normaliseAnsibleCore(range: string | null | undefined, fromPython: string[]): string | null {
  const parts = [range ?? "", ...fromPython].map((r) => r.replace(/^\s*ansible-core\s*/i, "").trim()).filter(Boolean);
  if (parts.length === 0) return null;
  const joined = normaliseSpecifiers(parts.join(","));
  if (!validRange(joined)) throw new InvalidVenvSpecError(`"${joined}" is not a PEP 440 version range for ansible-core, e.g. ">=2.15,<2.17"`);
  return joined;
}

function normaliseCollection(c: CollectionRequirement): Required<Pick<CollectionRequirement, "name" | "version" | "type">> & { source?: string } {
  const type = (c.type ?? "galaxy") as CollectionSourceType;
  if (!["galaxy", "url", "file", "git", "dir"].includes(type)) throw new InvalidVenvSpecError(`unknown collection source type "${type}" for ${c.name}`);
  const name = type === "galaxy" ? c.name.trim().toLowerCase() : c.name.trim();
  if (type === "galaxy" && !COLLECTION_NAME.test(name)) throw new InvalidVenvSpecError(`"${c.name}" is not a collection name (namespace.name)`);
  if (name.startsWith("-")) throw new InvalidVenvSpecError(`"${c.name}" is not a collection source`);
  const version = (c.version ?? "*").replace(/\s+/g, "") || "*";
  if (!GALAXY_RANGE.test(version)) throw new InvalidVenvSpecError(`"${c.version}" is not a version range for ${name}, e.g. ">=1.2.0" or "1.23.0"`);
  const out: { name: string; version: string; type: CollectionSourceType; source?: string } = { name, version, type };
  if (c.source?.trim()) out.source = c.source.trim();
  return out;
}

const ROLE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const GALAXY_ROLE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]+$/;
const ROLE_VERSION = /^[A-Za-z0-9_][A-Za-z0-9_.+/-]*$/;
const ARCHIVE_URL = /^https?:\/\/[^\s]+$/i;
const GIT_URL = /^((https?|ssh|git|file):\/\/[^\s]+|[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:[^\s]+)$/i;

/** The name ansible-galaxy gives a role from its src (RoleRequirement.repo_url_to_role_name in ansible-core). */
export function roleNameFromSrc(src: string): string {
  if (!src.includes("://") && !src.includes("@")) return src;
  let tail = src.split("/").pop() ?? src;
  if (tail.endsWith(".git")) tail = tail.slice(0, -4);
  if (tail.endsWith(".tar.gz")) tail = tail.slice(0, -7);
  return tail.split(",")[0]!;
}

/** Credentials in a URL are not kept in messages. */
function shown(src: string): string {
  return src.replace(/\/\/[^/@\s]*@/, "//***@");
}

export function normaliseRole(r: RoleRequirement): NormalisedRole {
  let src = r.src?.trim() || undefined;
  let scm = r.scm;
  if (src?.startsWith("git+")) {
    scm = "git";
    src = src.slice(4);
  }
  if (scm !== undefined && scm !== "git") throw new InvalidVenvSpecError(`role ${r.name ?? src}: only git sources are supported (scm "${String(scm)}")`);
  const name = (r.name?.trim() || (src ? roleNameFromSrc(src) : "")).trim();
  const label = name || (src ? shown(src) : "(unnamed)");
  if (!name || !ROLE_NAME.test(name)) throw new InvalidVenvSpecError(`"${label}" is not a role name (letters, digits, _ . -; e.g. geerlingguy.docker)`);
  if (src?.startsWith("-")) throw new InvalidVenvSpecError(`role ${name}: "${src}" is not a role source`);
  if (scm === "git") {
    if (!src || !GIT_URL.test(src)) throw new InvalidVenvSpecError(`role ${name}: "${src ? shown(src) : ""}" is not a git URL (https://…, ssh://…, git@host:path)`);
  } else if (src && src.includes("://")) {
    if (!ARCHIVE_URL.test(src)) throw new InvalidVenvSpecError(`role ${name}: "${shown(src)}" is not an http(s) URL of a role archive`);
  } else {
    const galaxyName = src ?? name;
    if (!GALAXY_ROLE.test(galaxyName)) {
      throw new InvalidVenvSpecError(`role ${name}: "${galaxyName}" is neither a Galaxy role (namespace.name) nor a URL; give its src`);
    }
    if (src === name) src = undefined;
  }
  const version = r.version?.trim() || undefined;
  if (version !== undefined && !ROLE_VERSION.test(version)) throw new InvalidVenvSpecError(`role ${name}: "${version}" is not a version, branch, tag or commit`);
  return { name, ...(src ? { src } : {}), ...(version ? { version } : {}), ...(scm ? { scm } : {}) };
}

function normaliseRoles(roles: RoleRequirement[]): NormalisedRole[] {
  const byName = new Map<string, NormalisedRole>();
  for (const r of roles) {
    const n = normaliseRole(r);
    const prev = byName.get(n.name);
    if (prev && JSON.stringify(prev) !== JSON.stringify(n)) {
      // One directory per name: two different sources (or versions) for one name cannot both be installed.
      if (prev.src === n.src && prev.scm === n.scm && (!prev.version || !n.version)) {
        byName.set(n.name, prev.version ? prev : n);
        continue;
      }
      throw new InvalidVenvSpecError(`role ${n.name} is asked for twice, differently (${describeRole(prev)} and ${describeRole(n)}); keep one`);
    }
    byName.set(n.name, n);
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** "geerlingguy.docker 7.1.0", "nginx from https://…", "web from git https://… at v2". */
export function describeRole(r: NormalisedRole): string {
  const from = r.src ? ` from ${r.scm ? `${r.scm} ` : ""}${shown(r.src)}` : "";
  return `${r.name}${from}${r.version ? `${from ? " at" : ""} ${r.version}` : ""}`;
}

/** Canonical form: sorted, deduplicated, lower-cased names, no whitespace in specifiers. */
export function normaliseVenvSpec(spec: VenvSpec): NormalisedVenvSpec {
  const ansibleReqs: string[] = [];
  const byName = new Map<string, ParsedRequirement>();
  for (const raw of spec.python) {
    const r = parseRequirement(raw);
    if (ANSIBLE_ITSELF.has(r.name)) {
      if (r.name !== "ansible-core") throw new InvalidVenvSpecError(`"${raw}": list ansible-core's range in the ansibleCore field, not the ${r.name} package`);
      if (r.specifiers) ansibleReqs.push(r.specifiers);
      continue;
    }
    const key = `${r.name};${r.marker}`;
    const prev = byName.get(key);
    byName.set(key, prev ? { ...r, extras: prev.extras || r.extras, specifiers: normaliseSpecifiers([prev.specifiers, r.specifiers].filter(Boolean).join(",")) } : r);
  }
  const python = [...byName.values()].map((r) => `${r.name}${r.extras}${r.specifiers}${r.marker ? `; ${r.marker}` : ""}`).sort();
  const collections = new Map<string, ReturnType<typeof normaliseCollection>>();
  for (const c of spec.collections) {
    const n = normaliseCollection(c);
    if (BUILTIN_COLLECTIONS.has(n.name)) continue;
    const prev = collections.get(n.name);
    if (prev && prev.version !== n.version && prev.version !== "*" && n.version !== "*") {
      n.version = `${prev.version},${n.version}`;
    } else if (prev && n.version === "*") n.version = prev.version;
    collections.set(n.name, n);
  }
  const roles = normaliseRoles(spec.roles ?? []);
  return {
    ansibleCore: normaliseAnsibleCore(spec.ansibleCore, ansibleReqs),
    python: [...new Set(python)],
    collections: [...collections.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
    ...(roles.length > 0 ? { roles } : {}),
  };
}

export function resolveForPython(spec: VenvSpec, pythonVersion: string): ResolvedVenvSpec {
  const minor = /^(\d+)\.(\d+)/.exec(pythonVersion);
  if (!minor) throw new InvalidVenvSpecError(`"${pythonVersion}" is not a Python version`);
  return { ...normaliseVenvSpec(spec), pythonVersion: `${minor[1]}.${minor[2]}` };
}

/** The canonical JSON that is hashed and written into the marker. Key order is fixed here. */
export function canonicalSpecJson(spec: ResolvedVenvSpec): string {
  return JSON.stringify({
    v: 1,
    pythonVersion: spec.pythonVersion,
    ansibleCore: spec.ansibleCore,
    python: spec.python,
    collections: spec.collections.map((c) => ({ name: c.name, version: c.version ?? "*", type: c.type ?? "galaxy", source: c.source ?? null })),
    // Only when there are roles: venvs made before roles existed keep their names.
    ...(spec.roles?.length ? { roles: spec.roles.map((r) => ({ name: r.name, src: r.src ?? null, version: r.version ?? null, scm: r.scm ?? null })) } : {}),
  });
}

export function venvHash(spec: ResolvedVenvSpec): string {
  return createHash("sha256").update(canonicalSpecJson(spec)).digest("hex").slice(0, 12);
}

export function venvName(spec: ResolvedVenvSpec): string {
  return `dropship-${venvHash(spec)}`;
}

/** The controller side of a DependencySet: target-side packages belong on the managed hosts, not in the venv. */
export function venvSpecFromDependencySet(ds: DependencySetLike): NormalisedVenvSpec {
  // Refused before anything is created: no collection version satisfies what the playbook needs.
  if (ds.conflicts?.length) {
    throw new InvalidVenvSpecError(`no virtualenv can satisfy this playbook: ${ds.conflicts.map((c) => `${c.collection} ${c.range}: ${c.reason}`).join("; ")}`);
  }
  return normaliseVenvSpec({
    ansibleCore: ds.ansibleCore,
    python: ds.python.controller,
    collections: ds.collections.map((c) => ({
      name: c.name,
      ...(c.version ? { version: c.version } : {}),
      ...(c.source ? { source: c.source } : {}),
      ...(c.type ? { type: c.type as CollectionSourceType } : {}),
    })),
    // A bare name with no src cannot be fetched (ansible-galaxy skips such dependencies too): it is the project's.
    roles: (ds.roles ?? [])
      .filter((r) => r.source || r.name.includes("."))
      .map((r) => ({ name: r.name, ...(r.source ? { src: r.source } : {}), ...(r.version ? { version: r.version } : {}) })),
  });
}

/**
 * The torrent app's fixed set (the seed's): pinned so its name never drifts. ansible-core 2.14 supports
 * controller Python 3.9–3.11; bump these pins together when the bot's host moves to a newer Python.
 */
export const TORRENT_VENV_SPEC: VenvSpec = Object.freeze({
  ansibleCore: "==2.14.18",
  python: ["requests==2.28.1", "urllib3==1.26.12"],
  collections: [{ name: "community.digitalocean", version: "1.23.0" }],
}) as VenvSpec;

/**
 * The bot's Galaxy client for the closure (fetching the roles an upload installs, to analyse them): ansible-core
 * alone, the same pin as the torrent set, so it needs no collection source (an offline COLLECTION_TARBALL_DIR too).
 */
export const GALAXY_TOOL_VENV_SPEC: VenvSpec = Object.freeze({ ansibleCore: "==2.14.18", python: [], collections: [] }) as VenvSpec;

// VenvSpec normalisation and naming, ansible-core selection per Python, tarball choice, and the chat's venv list.
import { describe, expect, it } from "vitest";
import { ansibleCoreRequirement, feasibleSeries } from "../../src/venv/ansible-core-support.js";
import { galaxyRangeToPep440, galaxyRequirementsFile } from "../../src/venv/collection-sources.js";
import { roleFailures, roleRequirementsFile } from "../../src/venv/venv-roles.js";
import { formatVenvList } from "../../src/venv/venv-format.js";
import {
  canonicalSpecJson,
  normaliseVenvSpec,
  resolveForPython,
  TORRENT_VENV_SPEC,
  venvName,
  venvSpecFromDependencySet,
  type VenvSpec,
} from "../../src/venv/venv-spec.js";
import type { VenvRecord } from "../../src/venv/venv-store.js";

const base: VenvSpec = {
  ansibleCore: ">=2.15, <2.17",
  python: ["boto3>=1.28", "Requests[socks,security] >= 2.0 ; python_version >= '3.8'"],
  collections: [{ name: "Amazon.AWS", version: ">=7.0.0" }, { name: "community.general" }, { name: "ansible.builtin" }],
};

describe("VenvSpec", () => {
  it("normalises names, specifiers, extras and order; drops builtin collections", () => {
    expect(normaliseVenvSpec(base)).toEqual({
      ansibleCore: "<2.17,>=2.15",
      python: ["boto3>=1.28", "requests[security,socks]>=2.0; python_version >= '3.8'"],
      collections: [
        { name: "amazon.aws", version: ">=7.0.0", type: "galaxy" },
        { name: "community.general", version: "*", type: "galaxy" },
      ],
    });
  });

  it("gives equal specs one name and any change another", () => {
    const shuffled: VenvSpec = {
      ansibleCore: "<2.17,>=2.15",
      python: ["requests[socks, security]>=2.0;python_version >= '3.8'", "BOTO3 >= 1.28"],
      collections: [{ name: "community.general", version: "*" }, { name: "amazon.aws", version: ">=7.0.0" }],
    };
    const a = venvName(resolveForPython(base, "3.11.2"));
    expect(a).toMatch(/^dropship-[0-9a-f]{12}$/);
    expect(venvName(resolveForPython(shuffled, "3.11.9"))).toBe(a);
    expect(venvName(resolveForPython(base, "3.12.1"))).not.toBe(a);
    expect(venvName(resolveForPython({ ...base, python: [...base.python, "jmespath"] }, "3.11.2"))).not.toBe(a);
    expect(venvName(resolveForPython({ ...base, collections: [{ name: "amazon.aws", version: ">=8.0.0" }] }, "3.11.2"))).not.toBe(a);
    expect(JSON.parse(canonicalSpecJson(resolveForPython(base, "3.11.2")))).toMatchObject({ v: 1, pythonVersion: "3.11" });
  });

  it("moves ansible-core out of the package list and merges duplicate packages", () => {
    const s = normaliseVenvSpec({ ansibleCore: null, python: ["ansible-core>=2.16", "jmespath>=1", "JMESPath<2"], collections: [] });
    expect(s).toEqual({ ansibleCore: ">=2.16", python: ["jmespath<2,>=1"], collections: [] });
    expect(() => normaliseVenvSpec({ ansibleCore: null, python: ["ansible>=8"], collections: [] })).toThrow(/ansibleCore field/);
  });

  it.each([
    "--index-url=http://evil/simple",
    "-r /etc/passwd",
    "pkg @ https://example.com/pkg.whl",
    "pkg; rm -rf /; x",
    "$(id)",
    "",
  ])("rejects %j as a requirement", (req) => {
    expect(() => normaliseVenvSpec({ ansibleCore: null, python: [req], collections: [] })).toThrow(/is not a Python requirement Dropship accepts|not a PEP 440/);
  });

  it("rejects malformed collection names, ranges and ansible-core ranges", () => {
    expect(() => normaliseVenvSpec({ ansibleCore: null, python: [], collections: [{ name: "--force" }] })).toThrow(/not a collection name/);
    expect(() => normaliseVenvSpec({ ansibleCore: null, python: [], collections: [{ name: "a.b", version: "$(id)" }] })).toThrow(/not a version range/);
    expect(() => normaliseVenvSpec({ ansibleCore: "lots", python: [], collections: [] })).toThrow(/not a PEP 440 version range/);
  });

  it("takes the controller side of a DependencySet", () => {
    const spec = venvSpecFromDependencySet({
      ansibleCore: ">=2.15",
      collections: [{ name: "community.mysql", version: "3.8.0", source: "https://galaxy.example", type: "galaxy" }],
      python: { controller: ["PyMySQL"], target: ["psycopg2"] },
    });
    expect(spec).toEqual({
      ansibleCore: ">=2.15",
      python: ["pymysql"],
      collections: [{ name: "community.mysql", version: "3.8.0", type: "galaxy", source: "https://galaxy.example" }],
    });
  });

  it("pins the torrent venv", () => {
    expect(TORRENT_VENV_SPEC.python.every((p) => p.includes("=="))).toBe(true);
    expect(TORRENT_VENV_SPEC.collections).toEqual([{ name: "community.digitalocean", version: "1.23.0" }]);
    expect(venvName(resolveForPython(TORRENT_VENV_SPEC, "3.11.2"))).toBe(venvName(resolveForPython(TORRENT_VENV_SPEC, "3.11.2")));
  });
});

describe("ansible-core for a host's Python", () => {
  it("bounds the requirement by what the Python supports and the spec asks", () => {
    expect(feasibleSeries(null, "3.11.2")).toEqual(["2.14", "2.15", "2.16", "2.17", "2.18", "2.19"]);
    expect(ansibleCoreRequirement(null, "3.11.2", "h")).toBe("ansible-core>=2.14,<2.20");
    expect(ansibleCoreRequirement(">=2.16", "3.12.0", "h")).toBe("ansible-core>=2.16,<2.22,>=2.16");
    expect(feasibleSeries("==2.14.18", "3.11.2")).toEqual(["2.14"]);
  });

  it("explains when no ansible-core fits", () => {
    expect(() => ansibleCoreRequirement(">=2.18", "3.9.2", "root@10.0.0.5")).toThrow(
      /ansible-core >=2\.18 cannot run on root@10\.0\.0\.5's Python 3\.9\.2 \(2\.18 needs Python 3\.11–3\.13; .*\): use a host with a suitable python3/,
    );
  });
});

describe("collection sources", () => {
  it("reads Galaxy ranges as PEP 440 and writes requirements files", () => {
    expect(galaxyRangeToPep440("*")).toBeNull();
    expect(galaxyRangeToPep440("1.2.3")).toBe("==1.2.3");
    expect(galaxyRangeToPep440(">=1.0.0,<2.0.0")).toBe(">=1.0.0,<2.0.0");
    expect(JSON.parse(galaxyRequirementsFile([{ name: "a.b", version: "*" }, { name: "https://x/c.tar.gz", type: "url" }]))).toEqual({
      collections: [{ name: "a.b" }, { name: "https://x/c.tar.gz", type: "url" }],
    });
  });
});

describe("the chat's venv list", () => {
  const now = Date.UTC(2025, 0, 10);
  const row = (over: Partial<VenvRecord>): VenvRecord => ({
    host: "root@10.0.0.5",
    name: "dropship-aaaaaaaaaaaa",
    path: "/root/.dropship/venvs/dropship-aaaaaaaaaaaa",
    spec: canonicalSpecJson(resolveForPython(TORRENT_VENV_SPEC, "3.11.2")),
    status: "ready",
    pinned: false,
    inUse: 0,
    sizeBytes: 150 * 1024 * 1024,
    contentDigest: null,
    buildMs: 40_000,
    createdAt: now - 86_400_000,
    lastUsedAt: now - 3 * 3_600_000,
    ...over,
  });

  it("groups per host with size, last use and flags", () => {
    const text = formatVenvList(
      [row({}), row({ name: "dropship-bbbbbbbbbbbb", pinned: true, inUse: 1, lastUsedAt: now - 30_000 }), row({ host: "local", sizeBytes: null })],
      now,
    );
    expect(text).toBe(
      [
        "local — 1 venv, 0 B",
        "dropship-aaaaaaaaaaaa — size unknown, used 3 h ago",
        "  ansible-core ==2.14.18 · Python 3.11 · 2 packages · community.digitalocean",
        "",
        "root@10.0.0.5 — 2 venvs, 300 MiB",
        "dropship-bbbbbbbbbbbb — 150 MiB, used just now [pinned, in use (1)]",
        "  ansible-core ==2.14.18 · Python 3.11 · 2 packages · community.digitalocean",
        "dropship-aaaaaaaaaaaa — 150 MiB, used 3 h ago",
        "  ansible-core ==2.14.18 · Python 3.11 · 2 packages · community.digitalocean",
      ].join("\n"),
    );
    expect(formatVenvList([], now)).toMatch(/No virtualenvs yet/);
  });
});

describe("probing a host", () => {
  it("says python3 is missing when the interpreter cannot be found", async () => {
    const { LocalHost } = await import("../../src/remote/local-host.js");
    const { probeHost } = await import("../../src/venv/host-probe.js");
    await expect(probeHost(new LocalHost("local"), "/tmp/x", "python3-that-does-not-exist")).rejects.toThrow(
      "python3 is not installed on local: run apt-get install python3 python3-venv",
    );
  });
});

describe("dependency sets with conflicting collection ranges", () => {
  it("are refused before any venv is named or built, naming the plugin and the range", async () => {
    const { analyzeProject } = await import("../../src/analysis/index.js");
    const { venvSpecFromDependencySet } = await import("../../src/venv/venv-spec.js");
    const fixture = new URL("../analysis/fixtures/version-conflict", import.meta.url).pathname;
    const { dependencySet } = analyzeProject(fixture);
    expect(dependencySet.conflicts?.length).toBeGreaterThan(0);
    expect(() => venvSpecFromDependencySet(dependencySet)).toThrow(/no virtualenv can satisfy this playbook: community\.general .*gconftool2_info.*5\.1\.0/);
  });
});

describe("roles in the spec", () => {
  const none: VenvSpec = { ansibleCore: null, python: [], collections: [] };

  it("normalises Galaxy, archive-URL and git roles, as ansible-galaxy names them", () => {
    const s = normaliseVenvSpec({
      ...none,
      roles: [
        { name: " geerlingguy.docker ", version: "7.1.0" },
        { src: "https://example.com/downloads/nginx.tar.gz" },
        { src: "git+https://git.example.com/web.git", version: "v2" },
        { name: "db", src: "https://git.example.com/db.git", scm: "git", version: "0123abcd" },
        { name: "mine", src: "geerlingguy.pip" },
        { name: "geerlingguy.docker", src: "geerlingguy.docker" },
      ],
    });
    expect(s.roles).toEqual([
      { name: "db", src: "https://git.example.com/db.git", version: "0123abcd", scm: "git" },
      { name: "geerlingguy.docker", version: "7.1.0" },
      { name: "mine", src: "geerlingguy.pip" },
      { name: "nginx", src: "https://example.com/downloads/nginx.tar.gz" },
      { name: "web", src: "https://git.example.com/web.git", version: "v2", scm: "git" },
    ]);
  });

  it("keeps names of specs without roles, and gives any role change a new name", () => {
    const plain = resolveForPython(base, "3.11.2");
    expect(JSON.parse(canonicalSpecJson(plain))).not.toHaveProperty("roles");
    expect(venvName(resolveForPython({ ...base, roles: [] }, "3.11.2"))).toBe(venvName(plain));
    const withRole = venvName(resolveForPython({ ...base, roles: [{ name: "a.b" }] }, "3.11.2"));
    expect(withRole).not.toBe(venvName(plain));
    expect(venvName(resolveForPython({ ...base, roles: [{ name: "a.b", version: "1.0.0" }] }, "3.11.2"))).not.toBe(withRole);
    expect(venvName(resolveForPython({ ...base, roles: [{ name: "a.b", src: "https://x.example/b.tar.gz" }] }, "3.11.2"))).not.toBe(withRole);
    // Equal needs, one name: order, whitespace and a src equal to the name do not matter.
    expect(venvName(resolveForPython({ ...base, roles: [{ name: "a.b", src: "a.b" }, { name: "c.d" }] }, "3.11.2"))).toBe(
      venvName(resolveForPython({ ...base, roles: [{ name: "c.d " }, { name: "a.b" }] }, "3.11.2")),
    );
  });

  it.each([
    [{ name: "--force" }, /not a role name/],
    [{ name: "common" }, /neither a Galaxy role \(namespace\.name\) nor a URL; give its src/],
    [{ name: "x", src: "ftp://example.com/x.tar.gz" }, /not an http\(s\) URL of a role archive/],
    [{ name: "x", src: "git+--upload-pack=evil" }, /not a role source/],
    [{ name: "x", src: "git+evil host:path" }, /not a git URL/],
    [{ name: "x", src: "https://h/x.hg", scm: "hg" as "git" }, /only git sources are supported/],
    [{ name: "a.b", version: "$(id)" }, /not a version, branch, tag or commit/],
    [{ name: "a.b", version: "-x" }, /not a version, branch, tag or commit/],
  ])("refuses the role %j", (role, message) => {
    expect(() => normaliseVenvSpec({ ...none, roles: [role] })).toThrow(message);
  });

  it("refuses one name asked for twice from different places; merges a version into a bare repeat", () => {
    expect(() => normaliseVenvSpec({ ...none, roles: [{ name: "a.b", version: "1.0.0" }, { name: "a.b", version: "2.0.0" }] })).toThrow(
      "role a.b is asked for twice, differently (a.b 1.0.0 and a.b 2.0.0); keep one",
    );
    expect(normaliseVenvSpec({ ...none, roles: [{ name: "a.b" }, { name: "a.b", version: "1.0.0" }] }).roles).toEqual([{ name: "a.b", version: "1.0.0" }]);
  });

  it("takes a DependencySet's external roles; a bare name with no src is the project's and left out", () => {
    const spec = venvSpecFromDependencySet({
      ansibleCore: null,
      collections: [],
      python: { controller: [], target: [] },
      roles: [{ name: "geerlingguy.docker", version: "7.1.0" }, { name: "web", source: "git+https://git.example.com/web.git" }, { name: "common" }],
    });
    expect(spec.roles).toEqual([
      { name: "geerlingguy.docker", version: "7.1.0" },
      { name: "web", src: "https://git.example.com/web.git", scm: "git" },
    ]);
  });

  it("words ansible-galaxy's role failures with the role, as the spec describes it", () => {
    const asked = normaliseVenvSpec({ ...none, roles: [{ name: "a.nope" }, { name: "gone", src: "http://h/gone.tar.gz" }] }).roles!;
    const notFound = "Starting galaxy role install process\n- downloading role 'nope', owned by a\n [WARNING]: - a.nope was NOT installed successfully: - sorry,\na.nope was not found on http://h/api.\nERROR! - you can use --ignore-errors to skip failed roles and finish processing the list.\n";
    expect(roleFailures(notFound, asked)).toEqual(["role a.nope: sorry, a.nope was not found on http://h/api"]);
    const download = "- downloading role from http://h/gone.tar.gz\nERROR! failed to download the file: HTTP Error 404: Not Found\n [WARNING]: - gone was NOT installed successfully.\nERROR! - you can use --ignore-errors to skip failed roles and finish processing the list.\n";
    expect(roleFailures(download, asked)).toEqual(["role gone from http://h/gone.tar.gz: failed to download the file: HTTP Error 404: Not Found"]);
    expect(roleFailures(" [WARNING]: - dep.x was NOT installed successfully: - sorry, dep.x was not found on http://h/api.", asked)).toEqual([
      "role dep.x (a dependency): sorry, dep.x was not found on http://h/api",
    ]);
    expect(JSON.parse(roleRequirementsFile(asked))).toEqual({ roles: [{ name: "a.nope" }, { name: "gone", src: "http://h/gone.tar.gz" }] });
  });
});

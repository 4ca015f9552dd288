// Issue 10: real playbooks resolve and run — roles to install, collection version minimums, ansible.cfg paths,
// magic-variable paths. Each case is a fixture project under fixtures/.
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { analyzeProject, renderReport, toAnalysisJson } from "../../src/analysis/index.js";
import * as merge from "../../src/analysis/requirement-merge.js";
import { project, scratch } from "./project-fixture.js";

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const usedColls = (r: ReturnType<typeof analyzeProject>): string[] => r.collections.filter((c) => c.used).map((c) => c.name);

describe("roles to install (requirements.yml, role meta)", () => {
  it("carries every role with its source, type and version, including a project role's meta dependencies", () => {
    const r = analyzeProject(fixture("roles-requirements"));
    expect(r.dependencySet.roles).toEqual([
      { name: "geerlingguy.docker", type: "galaxy" },
      // meta/requirements.yml of the web role pins it; meta/main.yml names it as a plain string.
      { name: "geerlingguy.java", type: "galaxy", version: "2.3.0" },
      { name: "geerlingguy.mysql", type: "galaxy", version: "4.3.0" },
      { name: "geerlingguy.ntp", type: "galaxy", version: "2.3.1" },
      { name: "nginx_role", type: "git", source: "git+https://github.com/x/nginx-role.git", version: "v2.1.0" },
      { name: "role", type: "git", source: "git+https://github.com/x/role.git", version: "3f2a1c9d" },
      { name: "y", type: "url", source: "https://github.com/x/y/archive/v1.tar.gz" },
    ]);
    const byName = Object.fromEntries(r.roles.map((x) => [x.name, x]));
    expect(byName["nginx_role"]).toEqual({ name: "nginx_role", source: "git+https://github.com/x/nginx-role.git", declared: true, used: true });
    expect(byName["geerlingguy.java"]).toEqual({ name: "geerlingguy.java", source: "galaxy", declared: true, used: true });
    expect(byName["db"]?.source).toBe("project");
    expect(r.warnings.filter((w) => w.includes("nginx_role") || w.includes("geerlingguy.java"))).toEqual([]);
    expect(usedColls(r)).toEqual(["community.general"]);
  });

  it("reads every meta dependency form ansible-galaxy accepts", () => {
    const r = analyzeProject(
      project({
        "site.yml": "- hosts: all\n  roles: [app]",
        "roles/app/tasks/main.yml": "- ansible.builtin.ping:",
        "roles/common/tasks/main.yml": "- ansible.builtin.ping:",
        "roles/app/meta/main.yml": `
dependencies:
  - common
  - git+https://example.test/x/yrole.git,v1,yrole
  - role: geerlingguy.git,3.0.0
  - { role: geerlingguy.pip, version: 2.2.0 }
  - { src: "https://example.test/z.tar.gz", name: zrole }
  - { src: "https://example.test/w.git", scm: git, version: main, name: wrole }`,
      }),
    );
    expect(r.dependencySet.roles).toEqual([
      { name: "geerlingguy.git", type: "galaxy", version: "3.0.0" },
      { name: "geerlingguy.pip", type: "galaxy", version: "2.2.0" },
      { name: "wrole", type: "git", source: "git+https://example.test/w.git", version: "main" },
      { name: "yrole", type: "git", source: "git+https://example.test/x/yrole.git", version: "v1" },
      { name: "zrole", type: "url", source: "https://example.test/z.tar.gz" },
    ]);
    expect(r.roles.find((x) => x.name === "common")?.source).toBe("project");
  });

  it("reads the old top-level list form", () => {
    const r = analyzeProject(fixture("roles-old-list"));
    expect(r.dependencySet.roles).toEqual([
      { name: "geerlingguy.ntp", type: "galaxy", version: "2.3.1" },
      { name: "geerlingguy.pip", type: "galaxy", version: "2.0.0" },
      { name: "y", type: "url", source: "https://github.com/x/y/archive/v1.tar.gz" },
    ]);
  });
});

describe("collection versions from version_added", () => {
  it("turns an FQCN the indexed collection lacks into a newer-version requirement, not an unresolved name", () => {
    const r = analyzeProject(fixture("newer-plugin"));
    expect(r.unresolved).toEqual([]);
    expect(r.warnings.some((w) => w.startsWith("declared but not used"))).toBe(false);
    expect(r.warnings).toContain(
      "site.yml:3: module community.general.some_new_module is not in community.general 6.6.2 (the indexed version); requiring community.general >6.6.2",
    );
    // >=3.0.0 declared, >=5.1.0 from gconftool2_info's version_added, >6.6.2 from the unknown module.
    expect(r.dependencySet.collections).toEqual([{ name: "community.general", version: ">6.6.2" }]);
    expect(r.conflicts).toEqual([]);
  });

  it("requires at least the version_added of every used plugin, merged with the declared range", () => {
    const r = analyzeProject(project({ "site.yml": "- hosts: all\n  tasks:\n    - community.general.gconftool2_info: key=/a\n    - community.general.ufw: rule=allow" }));
    expect(r.dependencySet.collections).toEqual([{ name: "community.general", version: ">=5.1.0" }]);
  });

  it("reports a declared range that excludes where a used plugin was added as a conflict", () => {
    const r = analyzeProject(fixture("version-conflict"));
    expect(r.conflicts).toEqual([
      {
        collection: "community.general",
        range: ">=5.1.0,<5.0.0",
        reason:
          "community.general.gconftool2_info (site.yml:3) was added in community.general 5.1.0, but requirements.yml:2 asks for >=4.0.0,<5.0.0 (the index has 6.6.2)",
      },
    ]);
    expect(r.dependencySet.conflicts).toEqual(r.conflicts);
    expect(r.dependencySet.collections).toContainEqual({ name: "community.docker", version: ">=3.4.0" });
    const json = toAnalysisJson(r);
    expect(Object.keys(json)).toEqual(["entry", "collections", "roles", "python", "ansibleCore", "unresolved", "varsPrompt", "warnings", "conflicts"]);
    expect(json.conflicts).toEqual(r.conflicts);
    expect(renderReport(r)).toContain("Version conflicts (nothing can be installed):\n  - community.general >=5.1.0,<5.0.0: community.general.gconftool2_info");
  });

  it("leaves conflicts out of a dependency set that has none, so its hash does not change", () => {
    const r = analyzeProject(fixture("newer-plugin"));
    expect(Object.keys(r.dependencySet)).toEqual(["ansibleCore", "collections", "python", "roles"]);
  });

  it("merges collection ranges into one and says when nothing satisfies them", () => {
    expect(merge.mergeCollectionRange([">=3.0.0", ">=5.1.0", ">6.6.2"])).toEqual({ range: ">6.6.2", satisfiable: true });
    expect(merge.mergeCollectionRange([">=4.0.0,<5.0.0", ">=5.1.0"])).toEqual({ range: ">=5.1.0,<5.0.0", satisfiable: false });
    expect(merge.mergeCollectionRange(["==2.0.0", ">=2.1.0"]).satisfiable).toBe(false);
    expect(merge.mergeCollectionRange(["2.0.0", "!=2.0.0"]).satisfiable).toBe(false);
    expect(merge.mergeCollectionRange(["*", ">=1.2.0"])).toEqual({ range: ">=1.2.0", satisfiable: true });
    expect(merge.mergeCollectionRange(["<=3.0.0", ">=3.0.0"])).toEqual({ range: ">=3.0.0,<=3.0.0", satisfiable: true });
    expect(merge.mergeCollectionRange([])).toEqual({ range: null, satisfiable: true });
  });
});

describe("ansible.cfg paths", () => {
  it("follows every roles_path, collections_path and plugin path entry as ansible-core resolves them", () => {
    const r = analyzeProject(fixture("cfg-paths"));
    expect(r.unresolved).toEqual([]);
    expect(Object.fromEntries(r.roles.map((x) => [x.name, x.source]))).toEqual({
      base: "project",
      extra_role: "missing",
      "kubernetes/node": "project",
    });
    // Collections used only inside roles found through roles_path.
    expect(r.dependencySet.collections.map((c) => c.name)).toEqual(["community.crypto", "community.docker"]);
    expect(usedColls(r)).toEqual(["acme.tools", "community.crypto", "community.docker"]);
  });

  it("expands known $VARS/${VARS} and leaves out entries with unknown ones", () => {
    const r = analyzeProject(fixture("cfg-paths"), { env: { EXTRA_ROLES: "extra/roles" } });
    expect(r.roles.find((x) => x.name === "extra_role")?.source).toBe("project");
    expect(r.dependencySet.collections.map((c) => c.name)).toContain("community.postgresql");
  });

  it("ignores entries outside the project without telling whether they exist", () => {
    const outside = scratch();
    mkdirSync(join(outside, "secret", "tasks"), { recursive: true });
    writeFileSync(join(outside, "secret", "tasks", "main.yml"), "- community.docker.docker_network: name=x\n");
    const files = {
      "site.yml": "- hosts: all\n  roles: [secret]",
      "ansible.cfg": `[defaults]\nroles_path = ${outside}:linked:../nowhere-at-all\nlibrary = ${outside}`,
    };
    const withLink = project(files);
    symlinkSync(outside, join(withLink, "linked"));
    const withDangling = project(files);
    symlinkSync(join(outside, "does-not-exist"), join(withDangling, "linked"));
    const a = analyzeProject(withLink);
    const b = analyzeProject(withDangling);
    expect(a.roles).toEqual([{ name: "secret", source: "missing", declared: false, used: true }]);
    // The same words whether the outside target exists or not; only the entry as written is echoed.
    expect(a.warnings).toEqual(b.warnings);
    expect(a.warnings).toEqual([
      `ansible.cfg:2: roles_path entry ${outside} is outside the project; ignored`,
      "ansible.cfg:2: roles_path entry linked is outside the project; ignored",
      "ansible.cfg:2: roles_path entry ../nowhere-at-all is outside the project; ignored",
      `ansible.cfg:3: library entry ${outside} is outside the project; ignored`,
      "site.yml:2: role secret not found in the project (searched roles/, roles_path and the playbook's directory)",
    ]);
    expect(usedColls(a)).toEqual([]);
  });
});

describe("magic-variable paths", () => {
  it("follows playbook_dir, role_path and inventory_dir", () => {
    const r = analyzeProject(fixture("magic-vars"));
    expect(r.warnings.filter((w) => w.includes("templated"))).toEqual([]);
    expect(usedColls(r)).toEqual(["community.crypto", "community.docker", "community.general", "community.postgresql"]);
    expect(r.roles.map((x) => [x.name, x.source])).toEqual([
      ["roles/app", "project"],
      ["roles/shared", "project"],
    ]);
  });

  it("takes the playbook's own directory as a role", () => {
    const r = analyzeProject(fixture("playbook-dir-role"));
    expect(usedColls(r)).toEqual(["community.general"]);
    expect(r.warnings.filter((w) => w.includes("templated"))).toEqual([]);
  });

  it("still reports other templated paths", () => {
    const r = analyzeProject(project({ "site.yml": "- hosts: all\n  tasks:\n    - include_tasks: \"{{ env }}/x.yml\"\n    - include_tasks: \"{{ role_path }}/x.yml\"" }));
    expect(r.warnings).toEqual([
      "site.yml:3: task file path {{ env }}/x.yml is templated; not followed",
      "site.yml:4: task file path {{ role_path }}/x.yml is templated; not followed",
    ]);
  });
});

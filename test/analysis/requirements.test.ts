import { describe, expect, it } from "vitest";
import { analyzeProject } from "../../src/analysis/index.js";
import { intersectRanges, mergeRequirements } from "../../src/analysis/requirement-merge.js";
import { project } from "./project-fixture.js";

const site = "- hosts: all\n  roles: [geerlingguy.docker, local_role]\n  tasks:\n    - community.general.ufw: rule=allow\n    - community.docker.docker_network: name=n";

describe("declared requirements", () => {
  it("reads every form from the usual locations and merges them with what is used", () => {
    const root = project({
      "site.yml": site,
      "roles/local_role/tasks/main.yml": "- ansible.builtin.ping:",
      "collections/requirements.yml": `
collections:
  - community.general
  - name: community.docker
    version: ">=3.0.0,<4.0.0"
    source: https://galaxy.example.test
  - name: https://example.test/acme-tools-1.0.0.tar.gz
    type: url
  - name: git+https://example.test/org/coll.git,main
  - community.crypto:>=2.10.0
roles:
  - name: geerlingguy.docker
    version: 6.1.0`,
      "roles/requirements.yml": `
- src: https://example.test/roles/nginx.git
  scm: git
  version: v1
  name: nginx
- geerlingguy.pip,2.0.0
- include: more.yml`,
      "roles/more.yml": "- src: git+https://example.test/roles/ntp.git",
    });
    const r = analyzeProject(root);
    expect(r.collections.map((c) => [c.name, c.declared, c.used])).toEqual([
      ["community.crypto", true, false],
      ["community.docker", true, true],
      ["community.general", true, true],
      ["git+https://example.test/org/coll.git,main", true, false],
      ["https://example.test/acme-tools-1.0.0.tar.gz", true, false],
    ]);
    expect(r.roles).toEqual([
      { name: "geerlingguy.docker", source: "galaxy", declared: true, used: true },
      { name: "geerlingguy.pip", source: "galaxy", declared: true, used: false },
      { name: "local_role", source: "project", declared: false, used: true },
      { name: "nginx", source: "git+https://example.test/roles/nginx.git", declared: true, used: false },
      { name: "ntp", source: "git+https://example.test/roles/ntp.git", declared: true, used: false },
    ]);
    expect(r.dependencySet.collections).toEqual([
      { name: "community.crypto", version: ">=2.10.0" },
      { name: "community.docker", version: ">=3.0.0,<4.0.0", source: "https://galaxy.example.test" },
      { name: "community.general" },
      { name: "git+https://example.test/org/coll.git,main", type: "git" },
      { name: "https://example.test/acme-tools-1.0.0.tar.gz", type: "url" },
    ]);
    expect(r.dependencySet.roles).toEqual([
      { name: "geerlingguy.docker", type: "galaxy", version: "6.1.0" },
      { name: "geerlingguy.pip", type: "galaxy", version: "2.0.0" },
      { name: "nginx", type: "git", source: "git+https://example.test/roles/nginx.git", version: "v1" },
      { name: "ntp", type: "git", source: "git+https://example.test/roles/ntp.git" },
    ]);
    expect(r.warnings).toContain(
      "declared but not used: community.crypto, git+https://example.test/org/coll.git,main, https://example.test/acme-tools-1.0.0.tar.gz",
    );
  });

  it("says which used collections are undeclared, and which roles are unknown", () => {
    const root = project({
      "site.yml": site,
      "roles/local_role/tasks/main.yml": "- ansible.builtin.ping:",
      "requirements.yml": "collections:\n  - community.general",
    });
    const r = analyzeProject(root);
    expect(r.warnings).toContain("used but not declared in requirements.yml: community.docker");
    expect(r.warnings).toContain(
      "site.yml:2: role geerlingguy.docker is neither in the project nor in a requirements file; assuming the Galaxy role",
    );
    expect(r.roles[0]).toEqual({ name: "geerlingguy.docker", source: "galaxy", declared: false, used: true });
  });
});

describe("Python requirements and ansible-core range", () => {
  it("splits controller-side (local plays, delegation, Jinja plugins) from target-side modules", () => {
    const root = project({
      "site.yml": `
- hosts: localhost
  tasks:
    - amazon.aws.ec2_instance: name=x
- hosts: db
  tasks:
    - community.mysql.mysql_user: name=x
    - community.postgresql.postgresql_db: name=x
      delegate_to: localhost
    - community.general.ldap_entry: dn=x
      connection: local
    - community.general.redis_info: {}
    - ansible.builtin.debug: msg="{{ lookup('community.general.dig', 'x') }}"`,
    });
    const r = analyzeProject(root);
    expect(r.python).toEqual({
      controller: ["boto3>=1.18.0", "botocore>=1.21.0", "dnspython", "psycopg2-binary", "python-ldap"],
      target: ["PyMySQL", "redis"],
    });
    expect(r.dependencySet.python).toEqual(r.python);
  });

  it("takes the collection's own requirements the way ansible-builder reads them (exclusions applied)", () => {
    // community.skydive's requirements.txt lists only "ansible", which ansible-builder excludes.
    const r = analyzeProject(project({ "site.yml": "- hosts: localhost\n  tasks:\n    - community.skydive.skydive_node: {}\n    - community.docker.docker_network: name=n" }));
    expect(r.python.controller).toEqual(["docker", "paramiko", "requests", "urllib3"]);
  });

  it("intersects requires_ansible of the used collections", () => {
    const r = analyzeProject(project({ "site.yml": "- hosts: all\n  tasks:\n    - community.general.ufw: rule=x\n    - ansible.posix.mount: path=/x" }));
    expect(r.ansibleCore).toBe(">=2.11.0");
    expect(analyzeProject(project({ "site.yml": "- hosts: all\n  tasks:\n    - ping:" })).ansibleCore).toBeNull();
    expect(intersectRanges([">=2.9.10", ">=2.12", "<2.16,>=2.11"])).toEqual({ range: ">=2.12,<2.16", conflict: false });
    expect(intersectRanges([">=2.16", "<2.15"]).conflict).toBe(true);
  });

  it("merges requirement strings by package like ansible-builder", () => {
    expect(mergeRequirements(["boto3>=1.18", "Boto3<2", "requests", "docker[ssh]", "docker>=5", "docker>=5.1", "x; python_version<'3'"])).toEqual([
      "Boto3>=1.18,<2",
      "docker[ssh]>=5.1",
      "requests",
      "x; python_version<'3'",
    ]);
  });
});

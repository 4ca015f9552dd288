import { describe, expect, it } from "vitest";
import { analyzeProject, type AnalysisResult } from "../../src/analysis/index.js";
import { project } from "./project-fixture.js";

const used = (r: AnalysisResult): string[] => r.collections.filter((c) => c.used).map((c) => c.name);
const reasons = (r: AnalysisResult, coll: string): string[] =>
  (r.collections.find((c) => c.name === coll)?.reasons ?? []).map((x) => `${x.kind}:${x.name}@${x.line}`);
const play = (tasks: string, head = ""): Record<string, string> => ({
  "site.yml": `- hosts: all\n${head}  tasks:\n${tasks.replace(/^\n/, "").replace(/^/gm, "    ")}`,
});

describe("finding actions", () => {
  it("takes the key that is not a task keyword and not with_*; with_<lookup> is a lookup", () => {
    const r = analyzeProject(project(play(`
- name: keywords around the action
  community.general.ufw:
    rule: allow
  become: true
  register: out
  when: x is defined
  loop_control: {label: x}
  with_community.general.cartesian: [[1], [2]]
  tags: [a]`)));
    expect(reasons(r, "community.general")).toEqual(["lookup:community.general.cartesian@3", "modules:community.general.ufw@3"]);
    expect(r.unresolved).toEqual([]);
  });

  it("reads action: and local_action: in string and dict forms; local_action runs on the controller", () => {
    const r = analyzeProject(project(play(`
- action: community.general.ufw rule=allow
- action:
    module: community.docker.docker_container
    name: web
- local_action: amazon.aws.s3_bucket name=b
- local_action:
    module: community.mysql.mysql_db
    name: x`)));
    expect(used(r)).toEqual(["amazon.aws", "community.docker", "community.general", "community.mysql"]);
    expect(r.python.controller).toEqual(["boto3>=1.18.0", "botocore>=1.21.0", "PyMySQL"]);
    expect(r.python.target).toEqual(["docker", "paramiko", "requests", "urllib3"]);
  });

  it("warns about conflicting action statements and tasks without an action", () => {
    const r = analyzeProject(project(play(`
- ansible.builtin.debug: msg=a
  ansible.builtin.ping:
- name: only keywords
  become: yes
- ansible.builtin.ping:
  becom: true
  delegat_to: localhost`)));
    expect(r.warnings).toEqual(
      expect.arrayContaining([
        "site.yml:3: conflicting action statements: ansible.builtin.debug, ansible.builtin.ping",
        "site.yml:5: task has no action (no module name among its keys)",
        "site.yml:7: unknown task keyword becom — did you mean become?",
        "site.yml:7: unknown task keyword delegat_to — did you mean delegate_to?",
      ]),
    );
  });

  it("records raw/shell/command/script uses", () => {
    const r = analyzeProject(project(play("- shell: ls\n- ansible.builtin.command: ls\n- raw: ls\n- script: x.sh\n- debug: msg=x")));
    expect(r.shellUses.map((s) => s.module)).toEqual(["shell", "command", "raw", "script"]);
  });
});

describe("resolving names", () => {
  it("keeps FQCNs; builtin short names need no collection", () => {
    const r = analyzeProject(project(play("- copy: src=a dest=b\n- ansible.builtin.template: src=a dest=b\n- ansible.posix.mount: path=/x")));
    expect(used(r)).toEqual(["ansible.posix"]);
    expect(r.unresolved).toEqual([]);
  });

  it("searches the play's collections: list before ansible.builtin and routing", () => {
    // cargo is in community.general but not in ansible-core's routing table
    const r = analyzeProject(project(play("- cargo: name=x", "  collections: [community.general]\n")));
    expect(reasons(r, "community.general")).toEqual(["modules:cargo@4"]);
  });

  it("routes short names through ansible-core's table and follows redirect chains", () => {
    // ec2_instance: ansible.builtin → community.aws.ec2_instance → amazon.aws.ec2_instance
    const r = analyzeProject(project(play("- ec2_instance: name=x\n- ufw: rule=allow\n- docker_container: name=x")));
    expect(used(r)).toEqual(["amazon.aws", "community.docker", "community.general"]);
    expect(reasons(r, "amazon.aws")).toEqual(["modules:ec2_instance@3"]);
  });

  it("follows a collection's own meta/runtime.yml redirect", () => {
    const r = analyzeProject(project(play("- community.general.docker_container: name=x\n- community.aws.ec2_instance: name=y")));
    expect(used(r)).toEqual(["amazon.aws", "community.docker"]);
  });

  it("reports unknown and removed names with a did-you-mean", () => {
    const r = analyzeProject(project(play("- copyy: src=a\n- community.general.ufww: rule=x\n- comunity.general.ufw: rule=x\n- bigip_facts: x=1")));
    expect(r.unresolved.map((u) => `${u.name}@${u.line}`)).toEqual([
      "copyy@3",
      "community.general.ufww@4",
      "comunity.general.ufw@5",
      "bigip_facts@6",
    ]);
    expect(r.suggestions.map((s) => s.suggestion)).toEqual([
      "ansible.builtin.copy",
      "community.general.ufw",
      "community.general.ufw",
      null,
    ]);
    expect(r.warnings).toContain("site.yml:6: module bigip_facts not resolved (removed: bigip_facts has been removed please use bigip_device_info module.)");
  });

  it("accepts collections the index does not know, with a warning", () => {
    const r = analyzeProject(project(play("- prometheus.prometheus.node_exporter: {}")));
    expect(used(r)).toEqual(["prometheus.prometheus"]);
    expect(r.warnings.some((w) => w.startsWith("collection prometheus.prometheus is not in the index"))).toBe(true);
  });

  it("uses a role's meta collections:, not the play's, inside the role", () => {
    const r = analyzeProject(
      project({
        "site.yml": "- hosts: all\n  collections: [community.general]\n  roles: [db]",
        "roles/db/meta/main.yml": "collections:\n  - community.postgresql",
        "roles/db/tasks/main.yml": "- postgresql_db: name=x\n- cargo: name=x",
      }),
    );
    expect(used(r)).toEqual(["community.postgresql"]);
    expect(r.unresolved.map((u) => u.name)).toEqual(["cargo"]);
  });

  it("counts roles from collections (roles:, import_role) as uses of the collection", () => {
    const r = analyzeProject(
      project({
        "site.yml": "- hosts: all\n  roles:\n    - role: sensu.sensu_go.agent\n  tasks:\n    - import_role:\n        name: community.zabbix.zabbix_agent",
      }),
    );
    expect(r.roles).toEqual([
      { name: "community.zabbix.zabbix_agent", source: "collection:community.zabbix", declared: false, used: true },
      { name: "sensu.sensu_go.agent", source: "collection:sensu.sensu_go", declared: false, used: true },
    ]);
    expect(used(r)).toEqual(["community.zabbix", "sensu.sensu_go"]);
    expect(r.dependencySet.roles).toEqual([]);
  });

  it("treats modules in the project's library/ and local collections as present", () => {
    const r = analyzeProject(
      project({
        "site.yml": "- hosts: all\n  tasks:\n    - my_module: a=1\n    - acme.tools.thing: {}",
        "library/my_module.py": "# a custom module",
        "collections/ansible_collections/acme/tools/plugins/modules/thing.py": "# module",
      }),
    );
    expect(r.unresolved).toEqual([]);
    expect(used(r)).toEqual(["acme.tools"]);
    expect(r.dependencySet.collections).toEqual([]);
  });
});

describe("Jinja, module_defaults and other plugin kinds", () => {
  it("finds FQCN lookups, query(), filters and tests; builtin ones need nothing", () => {
    const r = analyzeProject(project(play(`
- debug:
    msg: "{{ lookup('community.hashi_vault.hashi_vault', 'a') | community.general.json_query('x') | to_json }}"
- debug: msg="{{ query('amazon.aws.aws_ssm', 'p') | default([]) | ansible.utils.ipaddr }}"
- debug: msg=x
  when: x is community.general.a_module and y is defined and 'a|b' in z
- debug: msg="{{ data | json_query('a') }}"`)));
    expect(used(r)).toEqual(["amazon.aws", "ansible.utils", "community.general", "community.hashi_vault"]);
    expect(reasons(r, "community.general")).toEqual(["filter:community.general.json_query@3", "test:community.general.a_module@6", "filter:json_query@8"]);
    expect(r.unresolved).toEqual([]);
    expect(r.python.controller).toContain("jmespath");
  });

  it("resolves module_defaults groups by FQCN and through action_groups", () => {
    const r = analyzeProject(
      project(
        play("- amazon.aws.s3_bucket: name=x", "  module_defaults:\n    group/aws: {region: eu-west-1}\n    group/community.general.proxmox: {api_host: h}\n    ansible.builtin.uri: {timeout: 5}\n"),
      ),
    );
    expect(reasons(r, "amazon.aws")).toEqual(["module_defaults:group/aws@1", "modules:amazon.aws.s3_bucket@7"]);
    expect(reasons(r, "community.general")).toEqual(["module_defaults:group/community.general.proxmox@1"]);
    expect(used(r)).toEqual(["amazon.aws", "community.general"]);
  });

  it("counts connection:, become_method:, inventory plugin files and ansible.cfg callbacks", () => {
    const r = analyzeProject(
      project({
        "site.yml": "- hosts: all\n  connection: community.docker.docker\n  become_method: community.general.doas\n  tasks:\n    - ping:\n      connection: kubectl",
        "inventory/aws_ec2.yml": "plugin: amazon.aws.aws_ec2\nregions: [eu-west-1]",
        "ansible.cfg": "[defaults]\ncallbacks_enabled = profile_tasks, community.general.yaml\nstdout_callback = ansible.posix.json",
      }),
    );
    expect(Object.fromEntries(r.collections.map((c) => [c.name, c.reasons.map((x) => `${x.kind}:${x.name}`)]))).toEqual({
      "amazon.aws": ["inventory:amazon.aws.aws_ec2"],
      "ansible.posix": ["callback:profile_tasks", "callback:ansible.posix.json"],
      "community.docker": ["connection:community.docker.docker"],
      "community.general": ["callback:community.general.yaml", "become:community.general.doas"],
      "kubernetes.core": ["connection:kubectl"],
    });
    expect(r.python.controller).toEqual(expect.arrayContaining(["boto3>=1.18.0", "docker", "kubernetes>=12.0.0"]));
  });
});

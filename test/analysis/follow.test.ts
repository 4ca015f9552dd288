import { symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { analyzeProject, AnalysisInputError, type AnalysisResult } from "../../src/analysis/index.js";
import { project, scratch } from "./project-fixture.js";

/** Collection names the analysis found used. */
const used = (r: AnalysisResult): string[] => r.collections.filter((c) => c.used).map((c) => c.name);

describe("entry playbook choice", () => {
  it("takes a single playbook file as its own project", () => {
    const root = project({ "deploy.yml": "- hosts: all\n  tasks:\n    - community.general.ufw: rule=allow" });
    const r = analyzeProject(join(root, "deploy.yml"));
    expect(r.entry).toBe("deploy.yml");
    expect(used(r)).toEqual(["community.general"]);
  });

  it("prefers site.yml, then main.yml, then playbook.yml, else the only playbook", () => {
    const play = "- hosts: all\n  tasks: []";
    expect(analyzeProject(project({ "main.yml": play, "site.yml": play, "playbook.yml": play })).entry).toBe("site.yml");
    expect(analyzeProject(project({ "main.yml": play, "playbook.yml": play })).entry).toBe("main.yml");
    expect(analyzeProject(project({ "playbook.yml": play })).entry).toBe("playbook.yml");
    expect(analyzeProject(project({ "deploy.yml": play, "requirements.yml": "collections: []" })).entry).toBe("deploy.yml");
  });

  it("asks for --entry when several playbooks or none are found, and honours it", () => {
    const play = "- hosts: all\n  tasks: []";
    const root = project({ "a.yml": play, "b.yml": play });
    expect(() => analyzeProject(root)).toThrow(/several playbooks in .*a\.yml, b\.yml; choose one with --entry/);
    expect(analyzeProject(root, { entry: "b.yml" }).entry).toBe("b.yml");
    expect(() => analyzeProject(root, { entry: "c.yml" })).toThrow(/entry playbook c\.yml not found/);
    expect(() => analyzeProject(project({ "vars.yml": "a: 1" }))).toThrow(/no playbook found/);
  });
});

describe("following the project", () => {
  it("follows import_playbook, task files, roles, dependencies, handlers, blocks and pre/post tasks", () => {
    const root = project({
      "site.yml": "- import_playbook: plays/web.yml",
      "plays/web.yml": `
- hosts: web
  pre_tasks:
    - import_tasks: ../tasks/pre.yml
  roles:
    - role: app
  tasks:
    - block:
        - include_tasks:
            file: ../tasks/inner.yml
      rescue:
        - community.general.ufw: rule=deny
      always:
        - include_role:
            name: lib
            tasks_from: extra
  post_tasks:
    - ansible.builtin.import_role: {name: lib}
  handlers:
    - name: bounce
      community.general.supervisorctl: name=app state=restarted`,
      "tasks/pre.yml": "- community.crypto.openssl_privatekey: path=/k",
      "tasks/inner.yml": "- ansible.posix.sysctl: name=x value=1",
      "roles/app/meta/main.yml": "dependencies:\n  - role: base",
      "roles/app/tasks/main.yml": "- include_tasks: sub.yml",
      "roles/app/tasks/sub.yml": "- community.postgresql.postgresql_db: name=x",
      "roles/app/handlers/main.yml": "- name: h\n  community.rabbitmq.rabbitmq_user: user=x",
      "roles/base/tasks/main.yml": "- community.mysql.mysql_db: name=x",
      "roles/lib/tasks/main.yml": "- community.windows.win_firewall: state=enabled",
      "roles/lib/tasks/extra.yml": "- community.docker.docker_network: name=x",
    });
    const r = analyzeProject(root);
    expect(used(r)).toEqual([
      "ansible.posix",
      "community.crypto",
      "community.docker",
      "community.general",
      "community.mysql",
      "community.postgresql",
      "community.rabbitmq",
      "community.windows",
    ]);
    expect(r.roles.map((x) => [x.name, x.source])).toEqual([
      ["app", "project"],
      ["base", "project"],
      ["lib", "project"],
    ]);
    expect(r.stats.files).toBe(11);
  });

  it("reads vars_files and reports templated paths as not followed", () => {
    const root = project({
      "site.yml": `
- hosts: all
  vars_files:
    - vars/main.yml
    - "vars/{{ env }}.yml"
  tasks:
    - include_tasks: "{{ ansible_os_family }}.yml"
    - include_role:
        name: "{{ role_name }}"`,
      "vars/main.yml": "token: \"{{ lookup('community.hashi_vault.hashi_vault', 'secret/x') }}\"",
    });
    const r = analyzeProject(root);
    expect(used(r)).toEqual(["community.hashi_vault"]);
    expect(r.warnings).toEqual(
      expect.arrayContaining([
        "site.yml:3: vars file vars/{{ env }}.yml is templated; not followed",
        "site.yml:6: task file path {{ ansible_os_family }}.yml is templated; not followed",
        "site.yml:7: role name {{ role_name }} is templated; not followed",
      ]),
    );
  });

  it("fails on import cycles and stops (with a warning) on include cycles", () => {
    const imports = project({ "site.yml": "- import_playbook: b.yml", "b.yml": "- import_playbook: site.yml" });
    expect(() => analyzeProject(imports)).toThrow(/import cycle site\.yml → b\.yml → site\.yml/);
    const tasks = project({ "site.yml": "- hosts: all\n  tasks:\n    - import_tasks: a.yml", "a.yml": "- import_tasks: a.yml" });
    expect(() => analyzeProject(tasks)).toThrow(/import cycle a\.yml → a\.yml/);
    const dynamic = project({
      "site.yml": "- hosts: all\n  tasks:\n    - include_tasks: loop.yml",
      "loop.yml": "- include_tasks: loop.yml\n  when: again",
    });
    expect(analyzeProject(dynamic).warnings.some((w) => w.includes("include cycle loop.yml → loop.yml"))).toBe(true);
    const roles = project({
      "site.yml": "- hosts: all\n  roles: [a]",
      "roles/a/meta/main.yml": "dependencies: [b]",
      "roles/b/meta/main.yml": "dependencies: [a]",
    });
    expect(() => analyzeProject(roles)).toThrow(/import cycle roles\/a → roles\/b → roles\/a/);
  });

  it("refuses paths that leave the project, by .. or by symlink", () => {
    const outside = scratch();
    writeFileSync(join(outside, "evil.yml"), "- ansible.builtin.debug: msg=x\n");
    const dotdot = project({ "site.yml": `- hosts: all\n  tasks:\n    - import_tasks: ../${outside.split("/").pop()}/evil.yml` });
    expect(() => analyzeProject(dotdot)).toThrow(AnalysisInputError);
    expect(() => analyzeProject(dotdot)).toThrow(/leads outside the project/);
    const link = project({ "site.yml": "- hosts: all\n  tasks:\n    - import_tasks: tasks.yml" });
    symlinkSync(join(outside, "evil.yml"), join(link, "tasks.yml"));
    expect(() => analyzeProject(link)).toThrow(/tasks\.yml \(referenced from site\.yml:3\): path leads outside the project/);
  });
});

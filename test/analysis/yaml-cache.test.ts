// A YamlCache shared by several analyses of one project (analyseClosure's rounds) parses each file once, and a
// file whose text changed again.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { analyzeProject, YamlCache } from "../../src/analysis/index.js";
import { project } from "./project-fixture.js";

function counting(cache: YamlCache): string[] {
  const parsed: string[] = [];
  const set = cache.set.bind(cache);
  cache.set = (abs, source, loaded) => {
    parsed.push(abs);
    set(abs, source, loaded);
  };
  return parsed;
}

describe("a YAML cache across analyses", () => {
  it("parses an unchanged project once and gives the same result", () => {
    const root = project({
      "site.yml": "- hosts: all\n  roles: [web]\n  tasks:\n    - ansible.posix.sysctl: {name: x, value: '1'}",
      "roles/web/tasks/main.yml": "- community.general.ufw: {rule: allow}\n- include_tasks: more.yml",
      "roles/web/tasks/more.yml": "- ansible.builtin.debug: {msg: \"{{ x | community.general.json_query('a') }}\"}",
    });
    const cache = new YamlCache();
    const parsed = counting(cache);
    const first = analyzeProject(root, { yamlCache: cache });
    expect(parsed.length).toBe(3);
    const second = analyzeProject(root, { yamlCache: cache });
    expect(parsed.length).toBe(3);
    expect(second).toEqual(first);
    expect(second).toEqual(analyzeProject(root));
  });

  it("parses a file again when its text changed, and the result follows the change", () => {
    const root = project({
      "site.yml": "- hosts: all\n  tasks:\n    - include_tasks: tasks.yml",
      "tasks.yml": "- community.general.ufw: {rule: allow}",
    });
    const cache = new YamlCache();
    const parsed = counting(cache);
    const before = analyzeProject(root, { yamlCache: cache });
    expect(before.dependencySet.collections.map((c) => c.name)).toEqual(["community.general"]);
    writeFileSync(join(root, "tasks.yml"), "- ansible.posix.sysctl: {name: x, value: '1'}\n");
    const after = analyzeProject(root, { yamlCache: cache });
    expect(parsed.filter((p) => p.endsWith("tasks.yml"))).toHaveLength(2);
    expect(parsed.filter((p) => p.endsWith("site.yml"))).toHaveLength(1);
    expect(after.dependencySet.collections.map((c) => c.name)).toEqual(["ansible.posix"]);
  });
});

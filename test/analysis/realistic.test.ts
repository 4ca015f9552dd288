import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { analyzeProject, toAnalysisJson } from "../../src/analysis/index.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/realistic", import.meta.url));

// Expected values worked out by hand from the fixture and the Debian ansible 7.7 collections' metadata.
describe("a realistic project (roles, requirements.yml, routing, Jinja plugins, module_defaults, vars_prompt)", () => {
  const r = analyzeProject(FIXTURE);

  it("finds exactly the collections it needs, declared or not", () => {
    expect(r.collections.map((c) => [c.name, c.declared, c.used])).toEqual([
      ["amazon.aws", true, true], // aws_ec2 inventory, group/aws, ec2_vpc_net & ec2_instance (routed), s3_object
      ["ansible.posix", false, true], // profile_tasks and timer (routed) callbacks, sysctl
      ["ansible.utils", false, true], // | ansible.utils.ipaddr
      ["community.crypto", false, true], // include_tasks tls.yml in the webserver role
      ["community.docker", false, true], // docker_container, routed
      ["community.general", true, true], // ufw/timezone routed, json_query filter, yaml stdout callback
      ["community.grafana", true, false],
      ["community.hashi_vault", false, true], // lookup in group_vars/all.yml
      ["community.postgresql", true, true], // short names through the database role's meta collections:
    ]);
    expect(r.collections.find((c) => c.name === "amazon.aws")?.reasons).toEqual([
      { kind: "inventory", name: "amazon.aws.aws_ec2", file: "inventory/aws_ec2.yml", line: 1 },
      { kind: "module_defaults", name: "group/aws", file: "playbooks/infra.yml", line: 2 },
      { kind: "modules", name: "ec2_vpc_net", file: "playbooks/infra.yml", line: 17 },
      { kind: "modules", name: "ec2_instance", file: "playbooks/infra.yml", line: 23 },
      { kind: "requirements", name: "amazon.aws:>=5.0.0,<6.0.0", file: "requirements.yml", line: 3 },
      { kind: "modules", name: "amazon.aws.s3_object", file: "roles/database/tasks/main.yml", line: 13 },
    ]);
  });

  it("splits Python packages between the controller venv and the managed hosts", () => {
    expect(r.python).toEqual({
      controller: [
        "azure-identity", // community.hashi_vault (meta/ee-requirements.txt)
        "boto3>=1.18.0", // amazon.aws, all on localhost or delegated there
        "botocore>=1.21.0",
        "hvac>=0.10.6",
        "jmespath", // community.general.json_query's own requirements:
        "jsonschema", // ansible.utils requirements.txt
        "netaddr",
        "textfsm",
        "ttp",
        "urllib3>=1.15",
        "xmltodict",
      ],
      target: [
        "cryptography>=1.6", // community.crypto modules' docs (>=1.2.3 and >=1.6)
        "docker", // community.docker meta/ee-requirements.txt
        "paramiko",
        "psycopg2-binary", // community.postgresql requirements.txt
        "requests",
        "urllib3",
      ],
    });
  });

  it("reports roles, the ansible-core range, prompts and nothing unresolved", () => {
    expect(r.entry).toBe("site.yml");
    expect(r.roles).toEqual([
      { name: "common", source: "project", declared: false, used: true },
      { name: "database", source: "project", declared: false, used: true },
      { name: "geerlingguy.ntp", source: "galaxy", declared: true, used: true },
      { name: "webserver", source: "project", declared: false, used: true },
    ]);
    expect(r.ansibleCore).toBe(">=2.11.0");
    expect(r.unresolved).toEqual([]);
    expect(r.varsPrompt).toEqual([
      { name: "environment_name", prompt: "Which environment (staging/production)?", private: false, default: "staging" },
      { name: "dns_api_token", prompt: "API token for the DNS provider", private: true, default: null },
    ]);
    expect(r.warnings).toEqual([
      "used but not declared in requirements.yml: ansible.posix, ansible.utils, community.crypto, community.docker, community.hashi_vault",
      "declared but not used: community.grafana",
    ]);
  });

  it("builds a sorted, stable DependencySet", () => {
    expect(r.dependencySet).toEqual({
      ansibleCore: ">=2.11.0",
      collections: [
        { name: "amazon.aws", version: ">=5.0.0,<6.0.0" },
        { name: "ansible.posix" },
        { name: "ansible.utils" },
        { name: "community.crypto" },
        { name: "community.docker" },
        { name: "community.general", version: "6.6.2" },
        { name: "community.grafana", source: "https://galaxy.ansible.com" },
        { name: "community.hashi_vault" },
        { name: "community.postgresql" },
      ],
      python: r.python,
      roles: [{ name: "geerlingguy.ntp", type: "galaxy", version: "2.3.2" }],
    });
    expect(JSON.stringify(analyzeProject(FIXTURE).dependencySet)).toBe(JSON.stringify(r.dependencySet));
    expect(Object.keys(toAnalysisJson(r))).toEqual(["entry", "collections", "roles", "python", "ansibleCore", "unresolved", "varsPrompt", "warnings", "conflicts"]);
  });
});

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { loadAnsibleIndex } from "../../src/analysis/index.js";

const DIST = "/usr/lib/python3/dist-packages";
const dpkgVersion = (pkg: string): string => execFileSync("dpkg-query", ["-W", "-f", "${Version}", pkg], { encoding: "utf8" });

describe("the generated Ansible index", () => {
  const index = loadAnsibleIndex();

  it("was generated from the installed ansible-core and ansible packages (else: regenerate it)", () => {
    expect(index.source).toEqual({
      ansibleCore: dpkgVersion("ansible-core"),
      ansible: dpkgVersion("ansible"),
      generator: "scripts/generate-ansible-index.py",
    });
  });

  it("matches the packages' own files: keywords, routing, redirects, requires_ansible, requirements.txt", () => {
    const keywords = yaml.load(readFileSync(`${DIST}/ansible/keyword_desc.yml`, "utf8")) as Record<string, string>;
    expect([...index.keywords].sort()).toEqual(Object.keys(keywords).sort());
    expect(index.builtinRoute("modules", "ec2_instance")).toEqual({ fqcn: "community.aws.ec2_instance" });
    const awsRuntime = yaml.load(readFileSync(`${DIST}/ansible_collections/community/aws/meta/runtime.yml`, "utf8")) as {
      requires_ansible: string;
      plugin_routing: { modules: Record<string, { redirect?: string }> };
    };
    expect(index.collectionRedirect("community.aws", "modules", "ec2_instance")).toEqual({
      fqcn: awsRuntime.plugin_routing.modules["ec2_instance"]?.redirect,
    });
    expect(index.requiresAnsible("community.aws")).toBe(awsRuntime.requires_ansible);
    const reqs = readFileSync(`${DIST}/ansible_collections/amazon/aws/requirements.txt`, "utf8")
      .split("\n")
      .filter((l) => l.trim() && !l.startsWith("#"));
    expect(index.pythonFor("amazon.aws", "modules", "ec2_instance")).toEqual(reqs.sort());
  });

  it("applies ansible-builder's exclusions to every collection", () => {
    const excluded = new Set(["ansible", "ansible-core", "ansible-base", "python", "pytest", "pyyaml", "yaml", "mock"]);
    for (const coll of index.collectionNames()) {
      for (const req of index.collection(coll)?.python ?? []) {
        expect(excluded.has(req.split(/[[<>=!~;\s]/)[0]!.toLowerCase()), `${coll}: ${req}`).toBe(false);
      }
    }
  });
});

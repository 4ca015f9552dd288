// runVenvCommand called directly (no process): arguments, the order of its steps, and which failures are the input's
// (exit 2) and which the host's (exit 1). Building for real is in venv-cli.test.ts.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostConnectError } from "../../src/hosts/host.js";
import { runVenvCommand, VENV_USAGE, VenvCommandInputError, type VenvCommandDeps } from "../../src/venv/venv-cli.js";

let tmp: string;
let project: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-venv-usecase-"));
  project = path.join(tmp, "project");
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, "site.yml"), "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n");
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Deps whose target fails with `err`, recording what was asked of them. */
function deps(err: Error) {
  const asked: string[] = [];
  const d: VenvCommandDeps = {
    openTarget: async (name) => {
      asked.push(`openTarget ${name}`);
      throw err;
    },
    roleStager: () => {
      asked.push("roleStager");
      return null;
    },
    progress: (line) => asked.push(`progress ${line}`),
  };
  return { d, asked };
}

describe("runVenvCommand", () => {
  it("answers --help on stdout and argument mistakes with the usage on stderr, touching nothing", async () => {
    const { d, asked } = deps(new Error("not reached"));
    expect(await runVenvCommand(["--help"], d)).toEqual({ stdout: `${VENV_USAGE}\n`, stderr: "", exitCode: 0 });
    expect(await runVenvCommand([project, "other"], d)).toEqual({ stdout: "", stderr: `error: one project at a time (also got other)\n${VENV_USAGE}\n`, exitCode: 2 });
    expect(await runVenvCommand([project, "--host", " "], d)).toMatchObject({ stderr: `error: --host needs a host name\n${VENV_USAGE}\n`, exitCode: 2 });
    expect((await runVenvCommand([project, "--verbose"], d)).stderr).toMatch(/^error: Unknown option '--verbose'/);
    expect(asked).toEqual([]);
  });

  it("analyses before opening the host, so a bad project reaches no host", async () => {
    const { d, asked } = deps(new Error("not reached"));
    const r = await runVenvCommand([path.join(tmp, "absent.yml")], d);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^error: .*absent\.yml.*no such file or directory/);
    expect(asked.filter((a) => a.startsWith("openTarget"))).toEqual([]);
  });

  it("exits 2 for the input's faults (an unknown host) and 1 for the host's (unreachable)", async () => {
    const unknown = deps(new VenvCommandInputError("there is no host called web9"));
    expect(await runVenvCommand([project, "--host", "web9"], unknown.d)).toEqual({ stdout: "", stderr: "error: there is no host called web9\n", exitCode: 2 });
    expect(unknown.asked).toEqual([`progress analysing ${project}`, "roleStager", "openTarget web9"]);
    const down = deps(new HostConnectError("unreachable", "cannot reach root@10.0.0.5:22: connection refused"));
    expect(await runVenvCommand([project, "--host", "web1"], down.d)).toEqual({ stdout: "", stderr: "error: cannot reach root@10.0.0.5:22: connection refused\n", exitCode: 1 });
    expect((await runVenvCommand([project], down.d)).exitCode).toBe(1);
    expect(down.asked).toContain("openTarget null");
  });

  it("lets a bug through instead of dressing it as a user error", async () => {
    await expect(runVenvCommand([project], deps(new TypeError("x is undefined")).d)).rejects.toThrow("x is undefined");
  });
});

// A venv's ANSIBLE_ROLES_PATH / ANSIBLE_COLLECTIONS_PATH override ansible.cfg: a project that keeps its roles under
// its own roles_path must still find them in a run (real ansible-playbook over SSH to a real sshd).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/shared/logger.js";
import { openDatabase, type Db } from "../../../src/storage/database.js";
import { JobStore } from "../../../src/jobs/job-store.js";
import { playbookMayMove } from "../../../src/jobs/playbook/playbook-states.js";
import { PlaybookRunner, type RunEvent } from "../../../src/jobs/playbook/playbook-runner.js";
import { startSshFixture, type SshFixture } from "../../remote/ssh-fixture.js";

let f: SshFixture;
let db: Db;
let archive: Buffer;

beforeAll(async () => {
  f = await startSshFixture();
  db = openDatabase(path.join(f.tempDir, "db.sqlite"));
  const root = path.join(f.tempDir, "src", "vendored");
  const files: Record<string, string> = {
    "ansible.cfg": "[defaults]\nroles_path = ./vendor/roles\n",
    "site.yml": "- hosts: all\n  gather_facts: false\n  roles: [greeter]\n",
    "vendor/roles/greeter/tasks/main.yml": "- ansible.builtin.debug:\n    msg: hello from the vendored role\n",
  };
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  archive = execFileSync("tar", ["-czf", "-", "-C", path.dirname(root), "vendored"]);
});

afterAll(async () => {
  db?.close();
  await f?.stop();
});

describe("a run of a project with its own roles_path", () => {
  it("finds the project's roles although the venv sets ANSIBLE_ROLES_PATH", async () => {
    const jobs = new JobStore(db, Date.now, { playbook: playbookMayMove });
    const job = jobs.create({ kind: "playbook", ownerId: 1, chatId: 1, state: "approved", input: { fileName: "vendored.tar.gz", fileId: "f" } });
    jobs.patchData(job.id, { entry: "site.yml", run: { host: "web1" }, dependencySet: { collections: [], python: { controller: [] } } });
    const end = await new Promise<Extract<RunEvent, { kind: "finished" }>>((resolve) => {
      const runner = new PlaybookRunner({
        jobs,
        connectHost: () => f.connect(),
        // Debian's ansible-core stands for a venv's; the variables are what a real venv's environment sets.
        venvs: {
          ensure: async () => ({
            name: "system", path: "/usr", reused: true, pythonVersion: "3", installed: { collections: {}, roles: {} }, release: () => undefined,
            env: { PATH: "/usr/local/bin:/usr/bin:/bin", ANSIBLE_ROLES_PATH: "/nonexistent/venv/roles", ANSIBLE_COLLECTIONS_PATH: "/nonexistent/venv/collections" },
          }),
        },
        fetchUpload: async () => archive,
        callbackPluginFile: path.resolve("playbooks/callback_plugins/dropship_events.py"),
        logger: createLogger({ level: "silent" }),
        onEvent: (e) => e.kind === "finished" && resolve(e),
        tmpDir: f.tempDir,
      });
      runner.start(job.id, {}, []);
    });
    expect(end.state, end.log.slice(-2000)).toBe("done");
    expect(end.log).toContain("hello from the vendored role");
    expect(end.used).toEqual({ venv: "system", collections: [], roles: [] });
  }, 120_000);
});

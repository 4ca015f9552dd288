// A real ansible-playbook run (Debian's ansible-core, over SSH to a real sshd) through PlaybookRunner: output of a
// few megabytes is kept as head and tail with the cut said, and a private answer that Ansible renders into task
// names and failure messages reaches no event the runner emits (progress, steps, recap, error, log).
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/shared/logger.js";
import { openDatabase, type Db } from "../../../src/storage/database.js";
import { JobStore } from "../../../src/jobs/job-store.js";
import { playbookMayMove } from "../../../src/jobs/playbook/playbook-states.js";
import { PlaybookRunner, RUN_LOG_LIMITS, type RunEvent } from "../../../src/jobs/playbook/playbook-runner.js";
import { startSshFixture, type SshFixture } from "../../remote/ssh-fixture.js";

const SECRET = "pw-Zq81-unshown-7c2e";
const BIG = 3_000_000;

const PLAYBOOK = `- name: output test
  hosts: all
  gather_facts: false
  tasks:
    - name: "a lot of output"
      ansible.builtin.debug:
        msg: "{{ 'x' * ${BIG} }}"
    - name: "Set password {{ db_password }}"
      ansible.builtin.debug:
        msg: "ok"
    - name: refuse it
      ansible.builtin.fail:
        msg: "the password {{ db_password }} was refused"
`;

let f: SshFixture;
let db: Db;

beforeAll(async () => {
  f = await startSshFixture();
  db = openDatabase(path.join(f.tempDir, "db.sqlite"));
});

afterAll(async () => {
  db?.close();
  await f?.stop();
});

describe("PlaybookRunner output", () => {
  it("keeps head and tail of megabytes of output, says how much was cut, and redacts the private answer everywhere", async () => {
    const jobs = new JobStore(db, Date.now, { playbook: playbookMayMove });
    const job = jobs.create({ kind: "playbook", ownerId: 1, chatId: 1, state: "approved", input: { fileName: "site.yml", fileId: "f" } });
    jobs.patchData(job.id, { entry: "site.yml", run: { host: "web1" }, dependencySet: { collections: [], python: { controller: [] } } });
    const events: RunEvent[] = [];
    const finished = new Promise<Extract<RunEvent, { kind: "finished" }>>((resolve) => {
      const runner = new PlaybookRunner({
        jobs,
        connectHost: () => f.connect(),
        // Debian's ansible-core on the host stands for a venv's (this test is about output, not venvs).
        venvs: {
          ensure: async () => ({
            name: "system", path: "/usr", reused: true, pythonVersion: "3", installed: null, release: () => undefined,
            env: { PATH: "/usr/local/bin:/usr/bin:/bin" },
          }),
        },
        fetchUpload: async () => Buffer.from(PLAYBOOK),
        callbackPluginFile: path.resolve("playbooks/callback_plugins/dropship_events.py"),
        logger: createLogger({ level: "silent" }),
        onEvent: (e) => {
          events.push(e);
          if (e.kind === "finished") resolve(e);
        },
        tmpDir: f.tempDir,
      });
      runner.start(job.id, { db_password: SECRET }, [SECRET]);
    });
    const end = await finished;

    expect(end.state, end.log.slice(-2000)).toBe("failed");
    // Head and tail: the play's start and its recap, and the line saying what was cut in between.
    expect(end.log).toContain("PLAY [output test]");
    expect(end.log).toContain("PLAY RECAP");
    expect(end.log).toMatch(/\[… [\d.]+ MiB \([\d,]+ characters\) of output cut here …\]/);
    const cut = Number(/\(([\d,]+) characters\)/.exec(end.log)![1]!.replace(/,/g, ""));
    expect(cut).toBeGreaterThan(BIG - RUN_LOG_LIMITS.headChars - RUN_LOG_LIMITS.tailChars);
    expect(end.log.length).toBeLessThanOrEqual(RUN_LOG_LIMITS.headChars + RUN_LOG_LIMITS.tailChars + 200);

    // Ansible rendered the answer into a task name and a failure message: every event has it hidden.
    const everything = JSON.stringify(events);
    expect(everything).not.toContain(SECRET);
    expect(everything).toContain("Set password ********");
    expect(end.error).toBe('task "refuse it" failed on localhost: the password ******** was refused');
    expect(JSON.stringify(jobs.get(job.id))).not.toContain(SECRET);
  }, 120_000);
});

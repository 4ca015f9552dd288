// After a crash, the next start removes what interrupted playbook runs left on their hosts (answers file included).
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/shared/logger.js";
import { openDatabase, type Db } from "../../../src/storage/database.js";
import { JobStore } from "../../../src/jobs/job-store.js";
import { PlaybookRunner } from "../../../src/jobs/playbook/playbook-runner.js";
import { startSshFixture, type SshFixture } from "../../remote/ssh-fixture.js";

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

describe("PlaybookRunner after a restart", () => {
  it("fails interrupted runs and removes exactly their work directories on their hosts", async () => {
    const jobs = new JobStore(db);
    const job = jobs.create({ kind: "playbook", ownerId: 1, chatId: 1, state: "running", input: { fileName: "x.yml", fileId: "f" } });
    jobs.patchData(job.id, { run: { host: "web1" } });
    const other = jobs.create({ kind: "playbook", ownerId: 1, chatId: 1, state: "analysed", input: { fileName: "y.yml", fileId: "g" } });
    // The host's /tmp, seen from outside: a run's leftovers, and a look-alike of another job that must stay.
    const mine = path.join(f.world.tmp, `dropship-run-${job.id}-Ab12Cd34`);
    const lookalike = path.join(f.world.tmp, `dropship-run-${job.id}0-Zz99Yy88`);
    for (const d of [mine, lookalike]) {
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, "answers.json"), '{"secret":"hunter22"}');
    }
    const connected: string[] = [];
    const runner = new PlaybookRunner({
      jobs,
      connectHost: async (name) => (connected.push(name), f.connect()),
      venvs: { ensure: async () => { throw new Error("not used"); } },
      fetchUpload: async () => Buffer.alloc(0),
      callbackPluginFile: "/dev/null",
      logger: createLogger({ level: "silent" }),
      onEvent: () => undefined,
    });

    const interrupted = runner.failInterrupted();
    expect(interrupted.map((i) => i.jobId)).toEqual([job.id]);
    expect(jobs.get(job.id)!.state).toBe("failed");
    expect(jobs.get(other.id)!.state).toBe("analysed");
    await runner.cleanUpInterrupted(interrupted.map((i) => i.jobId));
    expect(connected).toEqual(["web1"]);
    expect(fs.existsSync(mine)).toBe(false);
    expect(fs.existsSync(lookalike)).toBe(true);
  });
});

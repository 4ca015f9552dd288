// The run dialogue's steps against a real SQLite job store with the playbook flow, without Telegram: who may run a
// job, what the dialogue is shown, and each step's state and data (host, answers, approval once, leaving); the hosts
// offered are the job owner's to use (HostAccess on the same database), checked again when chosen and at Start.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../../../src/storage/database.js";
import { JobStore } from "../../../src/jobs/job-store.js";
import { playbookMayMove } from "../../../src/jobs/playbook/playbook-states.js";
import { HostAccess } from "../../../src/hosts/host-access.js";
import type { HostRecord } from "../../../src/hosts/host-registry.js";
import { RunDialogueSteps } from "../../../src/jobs/playbook/run-dialogue-steps.js";
import { registryWithoutSsh } from "../../hosts/host-fixture.js";

const OWNER = 7;
const STRANGER = 8;
/** Another allowed user, who owns a host of their own. */
const OTHER = 9;

let dir: string;
let db: Db;
let jobs: JobStore;
let started: { jobId: number; vars: Record<string, string>; secrets: string[] }[];
let order: string[];
let steps: RunDialogueSteps;
let access: HostAccess;
let hosts: Record<string, HostRecord>;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-run-steps-"));
  db = openDatabase(path.join(dir, "db.sqlite"));
  jobs = new JobStore(db, Date.now, { playbook: playbookMayMove });
  started = [];
  order = [];
  const { registry } = registryWithoutSsh(db);
  access = new HostAccess({ db, registry, people: { botOwnerId: OWNER, allowedUserIds: [OTHER] } });
  hosts = {
    web1: await access.add(OWNER, "web1", { username: "deploy", address: "203.0.113.5", port: 22 }),
    db1: await access.add(OWNER, "db1", { username: "deploy", address: "2001:db8::1", port: 2222 }),
    other: await access.add(OTHER, "other-box", { username: "root", address: "203.0.113.9", port: 22 }),
  };
  steps = new RunDialogueSteps({
    jobs,
    hosts: access,
    runner: {
      start: (jobId, vars, secrets) => {
        order.push("runner");
        started.push({ jobId, vars, secrets });
      },
    },
  });
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** An analysed playbook job with two questions, one private, as the upload's analysis leaves it. */
function analysedJob(ownerId = OWNER): number {
  const id = jobs.create({ kind: "playbook", ownerId, chatId: 70, state: "received", input: { fileName: "site.tgz", fileId: "f", fileSize: 1, entry: null } }).id;
  jobs.transition(id, "analysed", {
    data: {
      entry: "site.yml",
      venv: "dropship-0123456789ab",
      dependencySet: { collections: [{ name: "ansible.posix" }], python: { controller: ["jmespath"] } },
      varsPrompt: [
        { name: "release", prompt: "Which release?", private: false, default: "main" },
        { name: "token", prompt: "API token?", private: true, default: null },
      ],
    },
  });
  return id;
}

const ANSWERS = { release: "v2", token: "s3cret-token" };

/** Through the dialogue up to the approval card. */
function answeredJob(): number {
  const id = analysedJob();
  expect(steps.chooseHost(id, hosts.web1!)).toEqual({ ok: true });
  steps.recordAnswers(id);
  return id;
}

describe("mayRun", () => {
  it("lets the owner run an analysed job, and restart a dialogue left half-way", () => {
    const id = analysedJob();
    expect(steps.mayRun(id, OWNER)).toEqual({ allowed: true });
    steps.chooseHost(id, hosts.web1!);
    expect(steps.mayRun(id, OWNER)).toEqual({ allowed: true });
  });

  it("refuses a stranger, and says the same for a job that does not exist", () => {
    const id = analysedJob();
    expect(steps.mayRun(id, STRANGER)).toEqual({ allowed: false, reason: "not-owner" });
    expect(steps.mayRun(id + 100, OWNER)).toEqual({ allowed: false, reason: "not-owner" });
  });

  it("refuses a job that is not a playbook", () => {
    const torrent = jobs.create({ kind: "torrent", ownerId: OWNER, chatId: 70, state: "estimated", input: {} }).id;
    expect(steps.mayRun(torrent, OWNER)).toEqual({ allowed: false, reason: "not-owner" });
    expect(steps.facts(torrent)).toBeNull();
  });

  it("refuses a job that is running, finished or was never analysed, naming its state", () => {
    const running = answeredJob();
    expect(steps.approve(running, ANSWERS, 1, () => undefined)).toEqual({ started: true });
    expect(steps.mayRun(running, OWNER)).toEqual({ allowed: false, reason: "not-runnable", state: "approved" });
    const refused = jobs.create({ kind: "playbook", ownerId: OWNER, chatId: 70, state: "received", input: {} }).id;
    jobs.transition(refused, "failed", { error: "not a zip" });
    expect(steps.mayRun(refused, OWNER)).toEqual({ allowed: false, reason: "not-runnable", state: "failed" });
    expect(steps.facts(refused)).toBeNull();
  });
});

describe("facts", () => {
  it("gives the dialogue the job's entry, venv, needs, questions and the hosts its owner may use, in list order", () => {
    expect(steps.facts(analysedJob())).toEqual({
      ownerId: OWNER,
      fileName: "site.tgz",
      entry: "site.yml",
      venv: "dropship-0123456789ab",
      collections: ["ansible.posix"],
      roles: [],
      packages: ["jmespath"],
      questions: [
        { name: "release", prompt: "Which release?", private: false, default: "main" },
        { name: "token", prompt: "API token?", private: true, default: null },
      ],
      // Not other-box: another user's host, not shared with the job's owner.
      hosts: [
        { name: "db1", address: "deploy@[2001:db8::1]:2222", id: hosts.db1!.id },
        { name: "web1", address: "deploy@203.0.113.5", id: hosts.web1!.id },
      ],
    });
  });
});

describe("the dialogue's steps", () => {
  it("records the chosen host, and may choose again", () => {
    const id = analysedJob();
    steps.chooseHost(id, hosts.web1!);
    steps.chooseHost(id, hosts.db1!);
    expect(jobs.get(id)).toMatchObject({ state: "host_chosen", data: { run: { host: "db1", hostId: hosts.db1!.id } } });
    expect(jobs.events(id).slice(-2).map((e) => [e.state, e.detail])).toEqual([["host_chosen", "web1"], ["host_chosen", "db1"]]);
  });

  it("records which questions were answered, never the answers", () => {
    const id = answeredJob();
    const job = jobs.get(id)!;
    expect(job).toMatchObject({ state: "answered", data: { run: { host: "web1", hostId: hosts.web1!.id, answered: ["release", "token"] } } });
    expect(jobs.events(id).at(-1)!.detail).toBe("release, token");
    expect(JSON.stringify(job)).not.toContain("s3cret-token");
  });

  it("will not record answers before a host is chosen", () => {
    const id = analysedJob();
    expect(() => steps.recordAnswers(id)).toThrow(/cannot go from analysed to answered/);
  });

  it("approves once: stores the progress message, shows it, then starts the runner with the private answers as secrets", () => {
    const id = answeredJob();
    const show = () => void order.push("progress shown");

    expect(steps.approve(id, ANSWERS, 555, show)).toEqual({ started: true });
    expect(steps.approve(id, ANSWERS, 556, show)).toEqual({ started: false, reason: "not-answered" });

    expect(started).toEqual([{ jobId: id, vars: ANSWERS, secrets: ["s3cret-token"] }]);
    // The presenter must be attached before the runner emits its first event.
    expect(order).toEqual(["progress shown", "runner"]);
    expect(jobs.get(id)).toMatchObject({ state: "approved", data: { progressMessageId: 555 } });
    expect(jobs.events(id).filter((e) => e.state === "approved")).toHaveLength(1);
  });

  it("does not approve a job whose questions are not answered yet", () => {
    const id = analysedJob();
    steps.chooseHost(id, hosts.web1!);
    expect(steps.approve(id, ANSWERS, 1, () => order.push("progress shown"))).toEqual({ started: false, reason: "not-answered" });
    expect(started).toEqual([]);
    expect(order).toEqual([]);
    expect(jobs.get(id)!.state).toBe("host_chosen");
  });

  it("leaving goes back to analysed from either dialogue state, so the job can be run later", () => {
    const chosen = analysedJob();
    steps.chooseHost(chosen, hosts.web1!);
    steps.leave(chosen);
    expect(jobs.get(chosen)!.state).toBe("analysed");
    expect(jobs.events(chosen).at(-1)).toMatchObject({ state: "analysed", detail: "run dialogue left" });

    const answered = answeredJob();
    steps.leave(answered);
    expect(jobs.get(answered)!.state).toBe("analysed");
    expect(steps.mayRun(answered, OWNER)).toEqual({ allowed: true });
  });

  it("leaving changes nothing once the run was approved", () => {
    const id = answeredJob();
    steps.approve(id, ANSWERS, 1, () => undefined);
    steps.leave(id);
    expect(jobs.get(id)!.state).toBe("approved");
  });
});

describe("hosts that are not the job owner's to use", () => {
  it("refuses another user's host when it is chosen, and records nothing", () => {
    const id = analysedJob();
    expect(steps.chooseHost(id, hosts.other!)).toMatchObject({ ok: false, reason: "not-allowed", message: expect.stringContaining("other-box is not shared with you") });
    expect(jobs.get(id)!.state).toBe("analysed");
    // Once its owner shares it, it is offered and can be chosen.
    access.setShared(OTHER, hosts.other!.id, OWNER, true);
    expect(steps.facts(id)!.hosts.map((h) => h.name)).toEqual(["db1", "other-box", "web1"]);
    expect(steps.chooseHost(id, hosts.other!)).toEqual({ ok: true });
  });

  it("refuses Start on a host unshared between choosing it and Start: nothing runs and the job can be run again", () => {
    access.setShared(OTHER, hosts.other!.id, OWNER, true);
    const id = analysedJob();
    expect(steps.chooseHost(id, hosts.other!)).toEqual({ ok: true });
    steps.recordAnswers(id);
    access.setShared(OTHER, hosts.other!.id, OWNER, false);
    const show = () => void order.push("progress shown");
    expect(steps.approve(id, ANSWERS, 1, show)).toEqual({
      started: false,
      reason: "host-refused",
      message: "other-box is not shared with you (any more); its owner can share it from /hosts",
    });
    expect(started).toEqual([]);
    expect(order).toEqual([]);
    expect(jobs.get(id)!.state).toBe("analysed");
    expect(steps.mayRun(id, OWNER)).toEqual({ allowed: true });
  });

  it("refuses Start when the chosen host was removed and another added under its name", async () => {
    const id = answeredJob();
    access.remove(OWNER, "web1");
    await access.add(OWNER, "web1", { username: "root", address: "198.51.100.1", port: 22 });
    expect(steps.approve(id, ANSWERS, 1, () => undefined)).toMatchObject({ started: false, reason: "host-refused" });
    expect(started).toEqual([]);
  });
});

// The "analyse an upload" use-case against a real SQLite job store with the playbook flow: what it records for an
// accepted upload, a refused archive and a project with bad YAML, and how the controller's Python is probed.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../../../src/storage/database.js";
import { JobStore } from "../../../src/jobs/job-store.js";
import { playbookMayMove } from "../../../src/jobs/playbook/playbook-states.js";
import { UnpackError } from "../../../src/jobs/playbook/unpack-project.js";
import { AnalysisInputError } from "../../../src/analysis/index.js";
import {
  analysePlaybookUpload,
  cachedControllerPython,
  type PlaybookJobInput,
  type PlaybookUploadDeps,
} from "../../../src/jobs/playbook/playbook-upload-job.js";
import { rawZip } from "../../analysis/archive-builders.js";

const PLAYBOOK = `- hosts: all
  vars_prompt:
    - name: release_tag
      prompt: Which release?
      private: false
      default: main
  tasks:
    - name: firewall
      community.general.ufw: { rule: allow, port: "443" }
`;

let dir: string;
let db: Db;
let jobs: JobStore;
let deps: PlaybookUploadDeps;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-upload-job-"));
  db = openDatabase(path.join(dir, "db.sqlite"));
  jobs = new JobStore(db, Date.now, { playbook: playbookMayMove });
  fs.mkdirSync(path.join(dir, "work"));
  deps = { jobs, controllerPython: async () => "3.11.2", roleStager: null, tmpDir: path.join(dir, "work") };
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const input = (fileName: string, entry: string | null = null): PlaybookJobInput => ({ fileName, fileId: "file-1", fileSize: 123, entry });
const upload = (fileName: string, bytes: Buffer | string) => ({ ownerId: 7, chatId: 70, input: input(fileName), bytes: Buffer.from(bytes) });

describe("analysePlaybookUpload", () => {
  it("records an accepted upload as an analysed job whose data the run step reads", async () => {
    const outcome = await analysePlaybookUpload(deps, upload("deploy.yml", PLAYBOOK));

    expect(outcome.kind).toBe("analysed");
    if (outcome.kind !== "analysed") return;
    expect(outcome.analysis.venv).toMatchObject({ name: expect.stringMatching(/^dropship-[0-9a-f]{12}$/), pythonVersion: "3.11" });
    const job = jobs.get(outcome.jobId)!;
    expect(job).toMatchObject({ kind: "playbook", ownerId: 7, chatId: 70, state: "analysed", input: input("deploy.yml"), error: null });
    expect(job.data).toMatchObject({
      entry: "deploy.yml",
      venv: (outcome.analysis.venv as { name: string }).name,
      venvPythonVersion: "3.11",
      varsPrompt: [{ name: "release_tag", prompt: "Which release?", private: false, default: "main" }],
      counts: { files: 1, tasks: 1, collections: 1, varsPrompt: 1 },
      project: { kind: "yaml", files: 1 },
    });
    expect(jobs.events(outcome.jobId).map((e) => e.state)).toEqual(["received", "analysed"]);
    // The unpacked copy is gone: the run fetches the upload again by its file id.
    expect(fs.readdirSync(path.join(dir, "work"))).toEqual([]);
  });

  it("records why the venv has no name when the controller's Python is unknown", async () => {
    const outcome = await analysePlaybookUpload({ ...deps, controllerPython: async () => ({ error: "no python3" }) }, upload("deploy.yml", PLAYBOOK));
    expect(outcome.kind).toBe("analysed");
    expect(jobs.get(outcome.jobId)!.data).toMatchObject({ venv: null, venvError: "no python3" });
  });

  it("fails the job with the refusal when the archive is not what its name says", async () => {
    const outcome = await analysePlaybookUpload(deps, upload("project.zip", "this is not a zip"));

    expect(outcome.kind).toBe("refused");
    if (outcome.kind !== "refused") return;
    expect(outcome.error).toBeInstanceOf(UnpackError);
    const job = jobs.get(outcome.jobId)!;
    expect(job.state).toBe("failed");
    expect(job.error).toBe(outcome.error.message);
    expect(jobs.events(outcome.jobId).map((e) => e.state)).toEqual(["received", "failed"]);
  });

  it("fails the job for a zip slip archive and writes nothing", async () => {
    const outcome = await analysePlaybookUpload(deps, upload("slip.zip", rawZip([{ name: "../escapee.yml", data: PLAYBOOK }])));
    expect(outcome.kind).toBe("refused");
    expect(jobs.get(outcome.jobId)!.state).toBe("failed");
    expect(fs.readdirSync(path.join(dir, "work"))).toEqual([]);
  });

  it("fails the job with file:line when the YAML is invalid", async () => {
    const outcome = await analysePlaybookUpload(deps, upload("broken.yml", "- hosts: all\n  tasks: [\n    - name: x\n"));

    expect(outcome.kind).toBe("refused");
    if (outcome.kind !== "refused") return;
    expect(outcome.error).toBeInstanceOf(AnalysisInputError);
    expect(outcome.error.message).toMatch(/broken\.yml/);
    expect(outcome.error.message).not.toContain(dir);
    expect(jobs.get(outcome.jobId)).toMatchObject({ state: "failed", error: outcome.error.message });
  });
});

describe("cachedControllerPython", () => {
  it("probes once while it succeeds, and again after a failure", async () => {
    let probes = 0;
    const results: (() => Promise<string>)[] = [async () => Promise.reject(new Error("python3 not found")), async () => "3.12.1"];
    const python = cachedControllerPython(() => results[Math.min(probes++, 1)]!());

    expect(await python()).toEqual({ error: "the controller's Python version is unknown (python3 not found)" });
    expect(await python()).toBe("3.12.1");
    expect(await python()).toBe("3.12.1");
    expect(probes).toBe(2);
  });
});

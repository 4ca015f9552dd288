// End to end: playbooks and project archives sent to the real app through the fake Telegram API are unpacked,
// analysed and answered; hostile uploads are refused; nothing is left in the temp dir.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { analyzeProject } from "../../src/analysis/index.js";
import { UNUSABLE_FILE } from "../../src/bot/features/fallback.js";
import { resolveForPython, venvName, venvSpecFromDependencySet } from "../../src/venv/venv-spec.js";
import type { SentMessage } from "../world/fake-telegram.js";
import { rawZip, tarCommand } from "../analysis/archive-builders.js";
import { makeRoleArchive, startGalaxy, type GalaxyStandIn } from "../world/galaxy.js";
import { ALICE, lastMessageId, nextBotMessage, startWorld, type World } from "./harness.js";

let world: World;
const FIXTURES = path.resolve(import.meta.dirname, "../analysis/fixtures");

let galaxy: GalaxyStandIn;

beforeAll(async () => {
  world = await startWorld();
  // The realistic fixture installs geerlingguy.ntp 2.3.2: the closure fetches it to read it, from this stand-in.
  galaxy = await startGalaxy();
  const archive = await makeRoleArchive(path.join(world.dir, "roles"), { top: "ansible-role-ntp-2.3.2", message: "ntp" });
  galaxy.addRole("geerlingguy", "ntp", "2.3.2", archive);
  await world.startApp({ GALAXY_SERVER: galaxy.url });
}, 120_000);

afterAll(async () => {
  await world?.stop();
  await galaxy?.stop();
});

const leftovers = () => fs.readdirSync(path.join(world.dir, "data", "work"));

afterEach(() => {
  // Every upload is unpacked into DATA_DIR/work/dropship-project-*, and removed whatever the outcome.
  expect(leftovers()).toEqual([]);
});

/** Sends a document and returns the bot's first reply to it. */
async function send(doc: { fileName: string; bytes: Buffer | string; caption?: string; mimeType?: string }): Promise<SentMessage> {
  const before = lastMessageId(world, ALICE.id);
  world.telegram.sendDocument(ALICE, doc);
  // Text replies only: a report document from an earlier upload may still be on its way; the "⏳ fetching roles"
  // status comes first when a project installs roles, and is not the answer.
  return nextBotMessage(world, ALICE.id, before, (m) => !m.document && !m.text.startsWith("⏳"), 60_000);
}

function latestJob() {
  const [job] = world.app!.jobs.listRecent(ALICE.id, 1);
  return job!;
}

const controllerPython = execFileSync("python3", ["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"], { encoding: "utf8" }).trim();

const TYPOS = Array.from({ length: 14 }, (_, i) => `ansible.builtin.cpoy${i}`);
const PLAYBOOK = `- hosts: webservers
  vars_prompt:
    - name: release_tag
      prompt: Which release should be deployed?
      private: false
      default: main
  tasks:
    - name: firewall
      community.general.ufw: { rule: allow, port: "443" }
    - name: typo
      comunity.general.ufw: { rule: allow, port: "80" }
${TYPOS.map((t) => `    - ${t}: { src: a, dest: b }`).join("\n")}
`;

describe("a bare playbook (.yml)", () => {
  it("is answered with what it needs and the venv it maps to, recorded as an analysed job, and the full report attached", async () => {
    const reply = await send({ fileName: "deploy.yml", mimeType: "application/x-yaml", bytes: PLAYBOOK });
    expect(reply.parse_mode).toBe("HTML");
    const text = reply.text;
    expect(text).toContain("Playbook analysis");
    expect(text).toContain("Entry: deploy.yml from deploy.yml");
    expect(text).toMatch(/⚠️ community\.general used but not declared — community\.general\.ufw at deploy\.yml:8/);
    expect(text).toContain("release_tag — Which release should be deployed? [default main]");
    expect(text).toMatch(/comunity\.general\.ufw at deploy\.yml:10 — did you mean community\.general\.ufw\?/);
    expect(text).toContain("… and ");
    expect(text).toContain("Press ▶️ Run…");

    // The venv name is the venv spec's, for this host's Python: the same the venv manager would build.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-e2e-pb-"));
    try {
      fs.writeFileSync(path.join(dir, "deploy.yml"), PLAYBOOK);
      const expected = venvName(resolveForPython(venvSpecFromDependencySet(analyzeProject(path.join(dir, "deploy.yml")).dependencySet), controllerPython));
      expect(text).toContain(`Virtualenv: ${expected} (Python ${controllerPython.split(".").slice(0, 2).join(".")})`);

      const job = latestJob();
      expect(job.kind).toBe("playbook");
      expect(job.state).toBe("analysed");
      expect(text).toContain(`job #${job.id}`);
      expect(job.input).toMatchObject({ fileName: "deploy.yml", entry: null });
      expect(job.data).toMatchObject({ entry: "deploy.yml", venv: expected, counts: { varsPrompt: 1, unresolved: 15 } });
      expect((job.data.dependencySet as { collections: { name: string }[] }).collections.map((c) => c.name)).toEqual(["community.general"]);
      expect(world.app!.jobs.events(job.id).map((e) => e.state)).toEqual(["received", "analysed"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }

    // More unresolved names than the chat shows: the whole report follows as a document.
    const doc = await nextBotMessage(world, ALICE.id, reply.message_id, (m) => Boolean(m.document));
    expect(doc.document!.file_name).toBe("deploy-analysis.txt");
    const report = doc.document!.bytes.toString("utf8");
    for (const t of TYPOS) expect(report).toContain(t);

    const before = lastMessageId(world, ALICE.id);
    world.telegram.sendText(ALICE, "/jobs");
    const jobs = await nextBotMessage(world, ALICE.id, before, (m) => m.text.includes("Your recent jobs"));
    expect(jobs.text).toMatch(/#\d+ playbook · analysed · no cost yet · just now\n\s+deploy\.yml/);
  });
});

describe("a project archive (.tar.gz)", () => {
  it("is unpacked (its single top folder is the root), analysed with the caption's entry, and summarised", async () => {
    const bytes = tarCommand(FIXTURES, ["realistic"]);
    const reply = await send({ fileName: "realistic.tar.gz", mimeType: "application/gzip", bytes, caption: "entry: realistic/site.yml" });
    const text = reply.text;
    // 15 files and 21 tasks of its own, plus the fetched role geerlingguy.ntp (meta and one task), read by the closure.
    expect(text).toContain("Entry: site.yml from realistic.tar.gz (17 file(s), 22 task(s))");
    expect(text).toContain("geerlingguy.ntp — galaxy");
    expect(text).toContain("ansible-core: >=2.11.0");
    expect(text).toMatch(/amazon\.aws — amazon\.aws\.aws_ec2 at inventory\/aws_ec2\.yml:1/);
    expect(text).toMatch(/⚠️ ansible\.posix used but not declared/);
    expect(text).toContain("community.grafana — declared, not used");
    expect(text).toContain("geerlingguy.ntp — galaxy");
    expect(text).toMatch(/controller \(into the virtualenv\): .*boto3>=1\.18\.0/);
    expect(text).toMatch(/managed hosts: .*psycopg2-binary/);
    expect(text).toContain("dns_api_token — API token for the DNS provider (hidden)");
    expect(text).toMatch(/Virtualenv: dropship-[0-9a-f]{12} \(Python \d+\.\d+\)/);
    // The HTML reached Telegram well-formed: bold section titles became entities.
    expect(reply.entities.some((e) => e.type === "bold")).toBe(true);
    const job = latestJob();
    expect(job).toMatchObject({ kind: "playbook", state: "analysed", input: { fileName: "realistic.tar.gz", entry: "realistic/site.yml" } });
    expect((job.data.project as { kind: string }).kind).toBe("tar.gz");
  });

  it("asks for an entry when the caption names one that is not there", async () => {
    const reply = await send({ fileName: "realistic.tgz", bytes: tarCommand(FIXTURES, ["realistic"]), caption: "entry: nope.yml" });
    expect(reply.text).toMatch(/^⚠️ I could not analyse realistic\.tgz: entry playbook nope\.yml not found in realistic\.tgz$/);
    expect(latestJob()).toMatchObject({ state: "failed", error: expect.stringContaining("nope.yml not found") });
  });
});

describe("hostile uploads", () => {
  it("refuses a zip slip archive, writes nothing outside, and records the job as failed", async () => {
    const escapee = path.join(os.tmpdir(), "dropship-zip-slip-escapee.yml");
    const bytes = rawZip([{ name: "site.yml", data: "- hosts: all\n  tasks: []\n" }, { name: "../dropship-zip-slip-escapee.yml", data: "pwned" }]);
    const reply = await send({ fileName: "project.zip", mimeType: "application/zip", bytes });
    expect(reply.text).toMatch(/^⚠️ I can't use project\.zip: the archive has an entry that points outside it .*zip slip/);
    expect(fs.existsSync(escapee)).toBe(false);
    const job = latestJob();
    expect(job.state).toBe("failed");
    expect(job.error).toMatch(/zip slip/);
  });

  it("refuses a YAML bomb without expanding it", async () => {
    const levels = ["a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]"];
    for (let i = 1; i < 9; i++) levels.push(`${"abcdefghi"[i]}: &${"abcdefghi"[i]} [${Array(9).fill(`*${"abcdefghi"[i - 1]}`).join(",")}]`);
    const bomb = `- hosts: all\n  vars:\n${levels.map((l) => `    ${l}`).join("\n")}\n  tasks: []\n`;
    const reply = await send({ fileName: "laughs.yml", bytes: bomb });
    expect(reply.text).toMatch(/^⚠️ I could not analyse laughs\.yml: laughs\.yml: YAML aliases expand to more than [\d,]+ nodes \(a "YAML bomb"\)/);
    expect(latestJob().state).toBe("failed");
  });

  it("refuses a document over 20 MB before asking Telegram for it", async () => {
    const jobsBefore = world.app!.jobs.listRecent(ALICE.id, 100).length;
    const getFiles = () => world.telegram.calls.filter((c) => c.method === "getFile").length;
    const calls = getFiles();
    const reply = await send({ fileName: "huge.tar.gz", bytes: Buffer.alloc(20 * 1024 * 1024 + 1) });
    expect(reply.text).toBe(
      "⚠️ huge.tar.gz is 20.1 MB; Telegram lets bots download files up to 20 MB. " +
        "Leave out what the playbook does not need (.git, build artefacts, large files) and send it again.",
    );
    expect(getFiles()).toBe(calls);
    expect(world.app!.jobs.listRecent(ALICE.id, 100).length).toBe(jobsBefore);
  });

  it("answers other documents with what works", async () => {
    const reply = await send({ fileName: "notes.pdf", mimeType: "application/pdf", bytes: "%PDF-1.4" });
    expect(reply.text).toBe(UNUSABLE_FILE);
  });
});

describe("/help", () => {
  it("describes analysis and the run flow", async () => {
    const before = lastMessageId(world, ALICE.id);
    world.telegram.sendText(ALICE, "/help");
    const help = await nextBotMessage(world, ALICE.id, before, (m) => m.text.includes("Dropship"));
    expect(help.text).toContain("entry: playbooks/site.yml");
    expect(help.text).toContain("Press ▶️ Run… under the analysis");
    expect(help.text).not.toMatch(/prepare a matching virtualenv and run it/);
  });
});

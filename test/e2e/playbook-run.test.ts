// End to end: /addhost pins a real sshd host's key; an uploaded project is run there through the chat (host, answers,
// approval, progress, recap, log) in a real venv; private answers never show; a changed host key is refused.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateEd25519, fingerprintOf } from "../../src/shared/ssh-keys.js";
import type { SentMessage } from "../world/fake-telegram.js";
import { freeLoopbackAddress } from "../world/loopback.js";
import { startSshHost, type SshHost } from "../world/sshd-host.js";
import { ALICE, BOB, MALLORY, buttonData, lastMessageId, nextBotMessage, startWorld, type World } from "./harness.js";

const SECRET = "tok-7f3a9c-very-private-4411";
const GREETING = "hello from the dropship run test";

const PLAYBOOK = `- name: Dropship run test
  hosts: all
  gather_facts: false
  vars_prompt:
    - name: greeting
      prompt: What should the file say?
      private: false
      default: hi
    - name: secret_token
      prompt: The deploy token
      private: true
  vars:
    home: "{{ lookup('ansible.builtin.env', 'HOME') }}"
  tasks:
    - name: write the greeting
      ansible.builtin.copy:
        dest: "{{ home }}/dropship-greeting.txt"
        content: "{{ greeting }}\\n"
        mode: "0644"
    - name: store a digest of the token
      ansible.builtin.copy:
        dest: "{{ home }}/dropship-token.sha1"
        content: "{{ secret_token | hash('sha1') }}\\n"
    - name: a file to patch
      ansible.builtin.copy:
        dest: "{{ home }}/dropship-patched.txt"
        content: "one\\ntwo\\n"
    - name: patch it with ansible.posix
      ansible.posix.patch:
        src: files/change.patch
        dest: "{{ home }}/dropship-patched.txt"
`;
const PATCH = "--- a/dropship-patched.txt\n+++ b/dropship-patched.txt\n@@ -1,2 +1,2 @@\n one\n-two\n+three\n";

// Ansible renders the private answer into a task name and a failure message; a bot-token-shaped string in a
// message stands for a secret Dropship was never told about.
const LEAKY_PLAYBOOK = `- name: Redaction test
  hosts: all
  gather_facts: false
  vars_prompt:
    - name: db_password
      prompt: Database password
      private: true
  tasks:
    # Long enough for a progress edit to show it, however the edits are coalesced.
    - name: "Set password {{ db_password }}"
      ansible.builtin.command: sleep 2.5
    - name: say it
      ansible.builtin.debug:
        msg: "password is {{ db_password }}; token 5550001:AAHfakefakefakefakefakefakefakefake12"
    - name: "check {{ db_password }}"
      ansible.builtin.fail:
        msg: "the password {{ db_password }} was refused"
`;
const LEAKY_TOKEN = "5550001:AAHfakefakefakefakefakefakefakefake12";

const SLOW_PLAYBOOK = PLAYBOOK.replace(
  "    - name: a file to patch",
  "    - name: wait a long time\n      ansible.builtin.command: sleep 4321\n    - name: a file to patch",
);

let world: World;
let host: SshHost;
let hostDir: string;
let address: string;
let project: Buffer;
let slowProject: Buffer;
let leakyProject: Buffer;

beforeAll(async () => {
  world = await startWorld();
  const app = await world.startApp();
  address = await freeLoopbackAddress(22);
  hostDir = path.join(world.dir, "host");
  host = await startSshHost({ address, dir: hostDir, hostPrivateKey: hostKey.private, authorizedKeys: [app.botKey.publicKey] });
  const src = path.join(world.dir, "project-src", "runme");
  fs.mkdirSync(path.join(src, "files"), { recursive: true });
  fs.writeFileSync(path.join(src, "site.yml"), PLAYBOOK);
  fs.writeFileSync(path.join(src, "requirements.yml"), "collections:\n  - name: ansible.posix\n");
  fs.writeFileSync(path.join(src, "files", "change.patch"), PATCH);
  project = execFileSync("tar", ["-czf", "-", "-C", path.dirname(src), "runme"]);
  fs.writeFileSync(path.join(src, "site.yml"), SLOW_PLAYBOOK);
  slowProject = execFileSync("tar", ["-czf", "-", "-C", path.dirname(src), "runme"]);
  fs.writeFileSync(path.join(src, "site.yml"), LEAKY_PLAYBOOK);
  leakyProject = execFileSync("tar", ["-czf", "-", "-C", path.dirname(src), "runme"]);
}, 120_000);

afterAll(async () => {
  await host?.stop();
  await world?.stop();
});

const hostKey = generateEd25519("run-test-host");
const fingerprint = (pub: string) => fingerprintOf(Buffer.from(pub.split(" ")[1]!, "base64"));

function say(text: string, user = ALICE): Promise<SentMessage> {
  const before = lastMessageId(world, user.id);
  world.telegram.sendText(user, text);
  return nextBotMessage(world, user.id, before, () => true, 30_000);
}

function press(m: SentMessage, label: RegExp, user = ALICE): Promise<SentMessage> {
  const before = lastMessageId(world, ALICE.id);
  world.telegram.pressButton(user, m, buttonData(m, label));
  return nextBotMessage(world, ALICE.id, before, (x) => !x.document, 30_000);
}

async function upload(bytes = project): Promise<SentMessage> {
  const before = lastMessageId(world, ALICE.id);
  world.telegram.sendDocument(ALICE, { fileName: "runme.tar.gz", mimeType: "application/gzip", bytes });
  return nextBotMessage(world, ALICE.id, before, (m) => m.text.includes("Playbook analysis"), 30_000);
}

/** The database files (the WAL and shared-memory files too) whose bytes contain `text`. */
function filesContaining(text: string): string[] {
  const dataDir = path.join(world.dir, "data");
  return fs.readdirSync(dataDir).filter((n) => n.startsWith("dropship.sqlite")).filter((n) => fs.readFileSync(path.join(dataDir, n)).includes(Buffer.from(text)));
}

/** Answers the dialogue up to the approval card: Run…, the host, the greeting, the private answer. */
async function answerUpToCard(summary: SentMessage, greeting: string, secret: string): Promise<SentMessage> {
  const which = await press(summary, /Run/);
  await press(which, /web1/);
  await say(greeting);
  return say(secret);
}

/** Waits for the end of job `jobId`'s run: its recap message and log document. */
async function runEnd(jobId: number, after: number): Promise<{ recap: SentMessage; log: SentMessage }> {
  const recap = await nextBotMessage(world, ALICE.id, after, (m) => /Job #\d+ (done|failed|cancelled)/.test(m.text) && m.text.includes(`#${jobId} `), 240_000);
  const log = await nextBotMessage(world, ALICE.id, recap.message_id, (m) => Boolean(m.document), 30_000);
  return { recap, log };
}

/** Everything the bot showed Alice: texts, their earlier versions, and text documents. */
function everythingShown(): string {
  return world.telegram
    .messages(ALICE.id)
    .map((m) => [m.text, ...m.edits.map((e) => e.text), m.document?.bytes.toString("utf8") ?? ""].join("\n"))
    .join("\n");
}

describe("hosts", () => {
  it("/addhost pins the host key on first use; the adder owns the host, and /hosts shows each user only theirs", async () => {
    const added = await say(`/addhost web1 root@${address}`);
    expect(added.text).toContain(`Added web1 (root@${address})`);
    expect(added.text).toContain(fingerprint(hostKey.public));
    expect(world.app!.hosts.get("web1")).toMatchObject({ address, port: 22, username: "root", hostKey: hostKey.public.split(" ")[1], addedBy: ALICE.id, ownerId: ALICE.id });

    // Another allowed user adds a host too: his own, which the bot's owner sees but does not run on.
    const bobAdds = await say(`/addhost bobbox root@${address}`, BOB);
    expect(bobAdds.text).toContain(`Added bobbox (root@${address})`);
    expect(bobAdds.text).toContain("It is yours");
    expect(world.app!.hosts.get("bobbox")).toMatchObject({ addedBy: BOB.id, ownerId: BOB.id });
    const list = await say("/hosts", BOB);
    expect(list.text).toContain(`bobbox — root@${address}`);
    expect(list.text).toContain(fingerprint(hostKey.public));
    expect(list.text).not.toContain("web1");
    const aliceList = await say("/hosts");
    expect(aliceList.text).toContain("owner: Bob (@bob) · 1002 · not shared · you do not run playbooks on it");
  });
});

/** The labels of a message's buttons. */
const labels = (m: SentMessage) => ((m.reply_markup as { inline_keyboard?: { text: string }[][] } | undefined)?.inline_keyboard ?? []).flat().map((b) => b.text);

describe("who may run on a host", () => {
  /** Bob's side of the chat: his message or press, and the bot's next message to him. */
  const bob = {
    say: (text: string) => say(text, BOB),
    async press(m: SentMessage, label: RegExp): Promise<SentMessage> {
      const before = lastMessageId(world, BOB.id);
      world.telegram.pressButton(BOB, m, buttonData(m, label));
      return nextBotMessage(world, BOB.id, before, (x) => !x.document, 30_000);
    },
    async upload(): Promise<SentMessage> {
      const before = lastMessageId(world, BOB.id);
      world.telegram.sendDocument(BOB, { fileName: "runme.tar.gz", mimeType: "application/gzip", bytes: project });
      return nextBotMessage(world, BOB.id, before, (m) => m.text.includes("Playbook analysis"), 30_000);
    },
  };

  /** Alice opens web1's share panel from /hosts and presses Bob's button there. */
  async function aliceSetsBobOnWeb1(expected: RegExp): Promise<void> {
    const list = await say("/hosts");
    const panelBefore = lastMessageId(world, ALICE.id);
    world.telegram.pressButton(ALICE, list, buttonData(list, /web1/));
    const panel = await world.telegram.waitFor(() => world.telegram.messages(ALICE.id).find((m) => m.message_id === list.message_id && m.text.includes("Who may run playbooks on web1")), 15_000);
    expect(panelBefore).toBe(lastMessageId(world, ALICE.id)); // edited in place, no new message
    world.telegram.pressButton(ALICE, panel, buttonData(panel, /Bob/));
    await world.telegram.waitFor(() => labels(world.telegram.messages(ALICE.id).find((m) => m.message_id === list.message_id)!).some((l) => expected.test(l)), 15_000);
  }

  it("offers a user only hosts theirs or shared with them; a host unshared before Start is refused; their own host runs", async () => {
    const summary = await bob.upload();
    const jobId = world.app!.jobs.listRecent(BOB.id, 1)[0]!.id;
    const first = await bob.press(summary, /Run/);
    expect(labels(first)).toEqual(["🖥 bobbox", "Cancel"]);
    await bob.say("/cancel");

    await aliceSetsBobOnWeb1(/^✅ Bob/);
    const listed = await bob.press(summary, /Run/);
    expect(labels(listed)).toEqual(["🖥 bobbox", "🖥 web1", "Cancel"]);
    // Unshared while Bob's list is on screen: picking web1 is refused.
    await aliceSetsBobOnWeb1(/^➕ Bob/);
    const notRun = await bob.press(listed, /web1/);
    expect(notRun.text).toBe("Not run: web1 is not shared with you (any more); its owner can share it from /hosts. Press ▶️ Run… on the summary to choose again.");
    expect(world.app!.jobs.get(jobId)!.state).toBe("analysed");

    await aliceSetsBobOnWeb1(/^✅ Bob/);
    const second = await bob.press(summary, /Run/);
    await bob.press(second, /web1/);
    await bob.say("bob's greeting");
    const card = await bob.say("bob-secret-0001");
    expect(card.text).toContain("Host: web1");

    // Alice takes web1 back before Bob presses Start: refused, nothing ran, the job can be run again.
    await aliceSetsBobOnWeb1(/^➕ Bob/);
    const refused = await bob.press(card, /Start/);
    expect(refused.text).toBe(`Job #${jobId} did not start: web1 is not shared with you (any more); its owner can share it from /hosts. Press ▶️ Run… on its summary to choose a host again.`);
    expect(world.app!.jobs.get(jobId)!.state).toBe("analysed");
    expect(world.app!.jobs.events(jobId).map((e) => e.state)).not.toContain("approved");

    // On his own host it runs.
    const third = await bob.press(summary, /Run/);
    await bob.press(third, /bobbox/);
    await bob.say("bob's greeting");
    const card2 = await bob.say("bob-secret-0002");
    world.telegram.pressButton(BOB, card2, buttonData(card2, /Start/));
    const recap = await nextBotMessage(world, BOB.id, card2.message_id, (m) => /Job #\d+ (done|failed)/.test(m.text), 240_000);
    expect(recap.text).toContain(`Job #${jobId} done`);
    expect(fs.readFileSync(path.join(host.home, "dropship-greeting.txt"), "utf8")).toBe("bob's greeting\n");
  }, 300_000);
});

describe("Run… on an analysed project", () => {
  it("asks host and questions, runs it with progress, sends recap and log, and never shows the private answer", async () => {
    const summary = await upload();
    expect(summary.text).toContain("Press ▶️ Run…");
    const jobId = world.app!.jobs.listRecent(ALICE.id, 1)[0]!.id;
    const run = buttonData(summary, /Run/);

    // A stranger and another allowed user press Run: nothing starts.
    const calls = world.telegram.calls.length;
    const answered = world.telegram.answeredCallbacks.length;
    world.telegram.pressButton(MALLORY, summary, run);
    world.telegram.pressButton(BOB, summary, run, { force: true });
    await world.telegram.waitFor(() => world.telegram.answeredCallbacks.length >= answered + 2 && world.telegram.answeredCallbacks.slice(-2));
    const texts = world.telegram.answeredCallbacks.slice(-2).map((a) => a.text);
    expect(texts).toEqual(expect.arrayContaining(["This is a private bot.", "Only the person who sent this playbook can run it."]));
    expect(world.telegram.calls.slice(calls).filter((c) => c.method === "sendMessage")).toEqual([]);
    expect(world.app!.jobs.get(jobId)!.state).toBe("analysed");

    const which = await press(summary, /Run/);
    expect(which.text).toContain(`Job #${jobId}: which host should run site.yml?`);
    // Bob's host is not offered to the bot's owner: it is not shared with her.
    expect(labels(which)).toEqual(["🖥 web1", "Cancel"]);
    const q1 = await press(which, /web1/);
    expect(q1.text).toContain("What should the file say?");
    const q2 = await say(GREETING);
    expect(q2.text).toContain("The deploy token");
    expect(q2.text).toContain("🔒 Private");
    const card = await say(SECRET);
    // The private answer was deleted from the chat as soon as it was read.
    const secretMsg = world.telegram.messages(ALICE.id, { includeUser: true }).find((m) => m.text === SECRET);
    expect(secretMsg?.deleted).toBe(true);
    expect(card.text).toContain(`Run job #${jobId}?`);
    expect(card.text).toContain(`Host: web1 (root@${address})`);
    expect(card.text).toContain("ansible.posix");
    expect(card.text).toContain(`greeting = ${GREETING}`);
    expect(card.text).toContain("secret_token = (hidden)");

    world.telegram.pressButton(ALICE, card, buttonData(card, /Start/));
    const recap = await nextBotMessage(world, ALICE.id, card.message_id, (m) => m.text.includes(`Job #${jobId} done`) || m.text.includes(`Job #${jobId} failed`), 240_000);
    const log = await nextBotMessage(world, ALICE.id, recap.message_id, (m) => Boolean(m.document), 30_000);
    expect(recap.text, log.document?.bytes.toString()).toContain(`Job #${jobId} done`);
    expect(recap.text).toMatch(/localhost: ok=4 changed=4 unreachable=0 failed=0/);
    expect(log.document!.file_name).toBe(`job-${jobId}-ansible.txt`);
    expect(log.document!.bytes.toString()).toContain("PLAY RECAP");

    // The card became the progress message: per-task edits, then the final line without buttons.
    const progress = world.telegram.messages(ALICE.id).find((m) => m.message_id === card.message_id)!;
    const shown = [...progress.edits.map((e) => e.text), progress.text].join("\n");
    // n of m counts the play's tasks as the callback plugin does (implicit meta tasks included). Under Telegram's
    // limits edits come at most once a second, so tasks shorter than that are coalesced: some task shows, not each.
    expect(shown).toMatch(/task \d of \d+: (write the greeting|store a digest of the token|a file to patch|patch it with ansible\.posix)\n/);
    expect(world.telegram.calls.filter((c) => c.response?.error_code === 429)).toEqual([]);
    expect(progress.text).toMatch(/✅ finished · ok 4 · changed 4 · failed 0 · unreachable 0/);
    expect(progress.reply_markup).toBeUndefined();

    // What the playbook did, seen from outside the host; its work directory is gone, the venv stays.
    expect(fs.readFileSync(path.join(host.home, "dropship-greeting.txt"), "utf8")).toBe(`${GREETING}\n`);
    expect(fs.readFileSync(path.join(host.home, "dropship-patched.txt"), "utf8")).toBe("one\nthree\n");
    expect(fs.readFileSync(path.join(host.home, "dropship-token.sha1"), "utf8").trim()).toBe(createHash("sha1").update(SECRET).digest("hex"));
    expect(fs.readdirSync(host.tmp).filter((n) => n.startsWith("dropship-run-"))).toEqual([]);

    const job = world.app!.jobs.get(jobId)!;
    expect(job.state).toBe("done");
    expect(world.app!.jobs.events(jobId).map((e) => e.state)).toEqual(["received", "analysed", "host_chosen", "answered", "approved", "venv_ready", "running", "done"]);
    expect(JSON.stringify(job)).not.toContain(SECRET);
    expect(everythingShown()).not.toContain(SECRET);
    expect(world.logLines.join("\n")).not.toContain(SECRET);
    // Nor is it on disk: the conversation's stored state held a reference to it, never the value.
    expect(filesContaining(SECRET)).toEqual([]);
    expect(filesContaining(GREETING)).not.toEqual([]);
  }, 300_000);

  it("an abandoned dialogue leaves the private answer nowhere on disk", async () => {
    const abandoned = "abandoned-answer-93kq-zz17";
    const summary = await upload();
    const card = await answerUpToCard(summary, "walked away", abandoned);
    expect(card.text).toContain("secret_token = (hidden)");
    // The owner walks away here: the dialogue waits, its state in the kv table. The plugin writes it after the card
    // is sent, so wait for the state that holds the answer's message.
    const answer = world.telegram.messages(ALICE.id, { includeUser: true }).find((m) => m.text === abandoned)!;
    const stored = () => (world.app!.db.prepare("SELECT value FROM kv WHERE key LIKE 'conversations:%'").all() as { value: string }[]).map((r) => r.value).join("");
    for (let i = 0; i < 100 && !stored().includes(`"message_id":${answer.message_id},`); i++) await new Promise((r) => setTimeout(r, 50));
    expect(stored()).toContain(`"message_id":${answer.message_id},`);
    expect(stored()).toContain("walked away");
    expect(filesContaining("walked away")).not.toEqual([]);
    expect(filesContaining(abandoned)).toEqual([]);
    expect(world.logLines.join("\n")).not.toContain(abandoned);
    await press(card, /Cancel/);
  });

  it("after a restart mid-dialogue the private answer is asked again, and the new one is used", async () => {
    const before = "answer-before-restart-4f1d";
    const after = "answer-after-restart-8e2c";
    const summary = await upload();
    const jobId = world.app!.jobs.listRecent(ALICE.id, 1)[0]!.id;
    const card = await answerUpToCard(summary, "restart greeting", before);
    await world.app!.stop();
    await world.startApp();
    const asked = await press(card, /Start/);
    expect(asked.text).toContain("private answers live only in its memory");
    const again = await nextBotMessage(world, ALICE.id, asked.message_id, (m) => m.text.includes("The deploy token"));
    expect(world.app!.jobs.get(jobId)!.state).toBe("answered");
    const card2 = await say(after);
    expect(again.text).toContain("question 2 of 2");
    expect(card2.text).toContain("greeting = restart greeting");
    world.telegram.pressButton(ALICE, card2, buttonData(card2, /Start/));
    const { recap } = await runEnd(jobId, card2.message_id);
    expect(recap.text).toContain(`Job #${jobId} done`);
    expect(fs.readFileSync(path.join(host.home, "dropship-token.sha1"), "utf8").trim()).toBe(createHash("sha1").update(after).digest("hex"));
    expect(filesContaining(before)).toEqual([]);
    expect(filesContaining(after)).toEqual([]);
  }, 300_000);

  it("task names, progress, recap and log never show the private answer Ansible rendered into them", async () => {
    const secret = "leaky-pw-51c0-Hq";
    const callsBefore = world.telegram.calls.length;
    const summary = await upload(leakyProject);
    const jobId = world.app!.jobs.listRecent(ALICE.id, 1)[0]!.id;
    const which = await press(summary, /Run/);
    await press(which, /web1/);
    const card = await say(secret);
    world.telegram.pressButton(ALICE, card, buttonData(card, /Start/));
    const { recap, log } = await runEnd(jobId, card.message_id);
    expect(recap.text).toContain(`Job #${jobId} failed`);
    expect(recap.text).toContain('task "check ********" failed on localhost: the password ******** was refused');
    const progress = world.telegram.messages(ALICE.id).find((m) => m.message_id === card.message_id)!;
    const shown = [...progress.edits.map((e) => e.text), progress.text].join("\n");
    expect(shown).toMatch(/task \d of \d+: Set password \*{8}/);
    const document = log.document!.bytes.toString("utf8");
    expect(document).toContain("TASK [Set password ********]");
    // Every text and caption the bot sent or edited since the upload, and the document's bytes.
    const sent = world.telegram.calls.slice(callsBefore).filter((c) => c.method !== "getUpdates").map((c) => JSON.stringify(c.params)).join("\n");
    for (const leak of [secret, LEAKY_TOKEN]) {
      expect(sent).not.toContain(leak);
      expect(document).not.toContain(leak);
      expect(everythingShown()).not.toContain(leak);
    }
    expect(world.logLines.join("\n")).not.toContain(secret);
    expect(filesContaining(secret)).toEqual([]);
  }, 300_000);

  it("/cancel leaves the dialogue and the job can be run later", async () => {
    const summary = await upload();
    const jobId = world.app!.jobs.listRecent(ALICE.id, 1)[0]!.id;
    await press(summary, /Run/);
    const left = await say("/cancel");
    expect(left.text).toContain(`Left the run of job #${jobId}; nothing ran.`);
    expect(world.app!.jobs.get(jobId)!.state).toBe("analysed");
  });

  it("Cancel on the progress message kills the remote ansible and cleans up", async () => {
    const summary = await upload(slowProject);
    const jobId = world.app!.jobs.listRecent(ALICE.id, 1)[0]!.id;
    const which = await press(summary, /Run/);
    await press(which, /web1/);
    await say("slow greeting");
    const card = await say("slow-secret-value");
    world.telegram.pressButton(ALICE, card, buttonData(card, /Start/));
    const waiting = await world.telegram.waitFor(() => {
      const m = world.telegram.messages(ALICE.id).find((x) => x.message_id === card.message_id);
      return m?.text.includes("wait a long time") && m.reply_markup ? m : undefined;
    }, 60_000, "the progress message at the slow task");
    const sleeping = () => execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).split("\n").some((l) => l.startsWith("sleep 4321"));
    // fake Telegram's waitFor re-checks on API calls only; the process table needs polling.
    for (let i = 0; i < 100 && !sleeping(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(sleeping()).toBe(true);
    // While the tasks run, the answers are in no file on the host: the plugin removed vars.json after ansible read it.
    const workDirs = fs.readdirSync(host.tmp).filter((n) => n.startsWith("dropship-run-"));
    expect(workDirs).toHaveLength(1);
    expect(fs.readdirSync(path.join(host.tmp, workDirs[0]!))).not.toContain("vars.json");
    const grep = spawnSync("grep", ["-rl", "slow-secret-value", host.tmp, host.home], { encoding: "utf8" });
    expect(grep.status, grep.stdout).toBe(1); // 1: nothing matched
    world.telegram.pressButton(ALICE, waiting, buttonData(waiting, /Cancel/));
    const recap = await nextBotMessage(world, ALICE.id, card.message_id, (m) => m.text.includes(`Job #${jobId} cancelled`), 30_000);
    expect(recap.text).toContain("ansible-playbook was stopped");
    expect(world.app!.jobs.get(jobId)!.state).toBe("cancelled");
    expect(sleeping()).toBe(false);
    expect(fs.readdirSync(host.tmp).filter((n) => n.startsWith("dropship-run-"))).toEqual([]);
    const answer = world.telegram.answeredCallbacks.at(-1);
    expect(answer?.text).toContain(`Job ${jobId} cancelled`);
  }, 90_000);

  it("refuses a host whose key changed", async () => {
    await host.stop();
    const other = generateEd25519("impostor");
    host = await startSshHost({ address, dir: path.join(world.dir, "impostor"), hostPrivateKey: other.private, authorizedKeys: [world.app!.botKey.publicKey] });
    const summary = await upload();
    const jobId = world.app!.jobs.listRecent(ALICE.id, 1)[0]!.id;
    const which = await press(summary, /Run/);
    await press(which, /web1/);
    await say("another greeting");
    const card = await say("another-secret-value");
    world.telegram.pressButton(ALICE, card, buttonData(card, /Start/));
    const recap = await nextBotMessage(world, ALICE.id, card.message_id, (m) => m.text.includes(`Job #${jobId} failed`), 60_000);
    expect(recap.text).toContain("changed — refusing to connect");
    expect(recap.text).toContain(fingerprint(other.public));
    expect(fs.existsSync(path.join(host.home, "dropship-greeting.txt"))).toBe(false);
    expect(world.app!.jobs.get(jobId)!.state).toBe("failed");
  }, 90_000);
});

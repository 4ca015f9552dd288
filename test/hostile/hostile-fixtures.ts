// The jobs and files hostile cases point at, made the way users make them (through the real bot), before any case runs.
import fs from "node:fs";
import path from "node:path";
import { createLinkSigner } from "../../src/web/link-signer.js";
import type { FakeUser, SentMessage } from "../world/fake-telegram.js";
import type { Fixtures } from "./hostile-runner.js";
import { FRIEND, OWNER, SIGNING_KEY, type HostileWorld } from "./hostile-world.js";

export const VALID_PLAYBOOK = "- hosts: all\n  tasks:\n    - name: ping\n      ansible.builtin.ping:\n";

const button = (m: SentMessage, prefix: string): string => {
  const rows = (m.reply_markup as { inline_keyboard?: { callback_data?: string }[][] } | undefined)?.inline_keyboard ?? [];
  const data = rows.flat().map((b) => b.callback_data ?? "").find((d) => d.startsWith(prefix));
  if (!data) throw new Error(`no ${prefix} button on ${JSON.stringify(m.text)}`);
  return data;
};

async function reply(w: HostileWorld, user: FakeUser, send: () => void, match: (m: SentMessage) => boolean): Promise<SentMessage> {
  const after = Math.max(0, ...w.tg.messages(user.id, { includeUser: true }).map((m) => m.message_id));
  send();
  return w.tg.waitFor(() => w.tg.messages(user.id).find((m) => m.message_id > after && match(m)), 20_000, "a fixture's reply");
}

async function card(w: HostileWorld, user: FakeUser, hashDigit: string, name: string): Promise<{ jobId: number; message: SentMessage }> {
  const m = await reply(w, user, () => w.tg.sendText(user, `magnet:?xt=urn:btih:${hashDigit.repeat(40)}&dn=${name}&xl=1000000`), (x) => x.text.includes("Press Start"));
  return { jobId: Number(button(m, "t:start:").split(":")[2]), message: m };
}

export async function makeFixtures(w: HostileWorld): Promise<Fixtures> {
  const ownerCard = (await card(w, OWNER, "a", "owners-card")).jobId;
  const friendCard = (await card(w, FRIEND, "b", "friends-card")).jobId;
  const toCancel = await card(w, FRIEND, "c", "cancelled-card");
  w.tg.pressButton(FRIEND, toCancel.message, `t:cancel:${toCancel.jobId}`);
  await w.tg.waitFor(() => w.app.jobs.get(toCancel.jobId)?.state === "cancelled", 10_000, "the fixture card to be cancelled");
  const summary = await reply(w, FRIEND, () => w.tg.sendDocument(FRIEND, { fileName: "site.yml", bytes: VALID_PLAYBOOK }), (m) => m.text.includes("job #"));
  const friendPlaybook = Number(button(summary, "pr:run:").split(":")[2]);
  const refused = await reply(w, FRIEND, () => w.tg.sendDocument(FRIEND, { fileName: "broken.zip", bytes: "not a zip" }), (m) => m.text.includes("broken.zip"));
  const failedPlaybook = Math.max(...w.app.db.prepare("SELECT id FROM jobs WHERE state = 'failed'").all().map((r) => (r as { id: number }).id));
  if (!refused || w.app.jobs.get(failedPlaybook)?.kind !== "playbook") throw new Error("the failed upload fixture was not recorded");

  // The fixtures' last updates finish (their logs and pacing) before the first case snapshots the world.
  await new Promise((r) => setTimeout(r, 1000));

  // Finished downloads as a torrent job leaves them: two jobs' folders, one with a symlink planted in it.
  const downloads = path.join(w.dataDir, "downloads");
  const jobA = String(ownerCard);
  const jobB = String(friendCard);
  fs.mkdirSync(path.join(downloads, jobA, "Movie"), { recursive: true });
  fs.writeFileSync(path.join(downloads, jobA, "Movie", "movie.mkv"), "movie bytes");
  fs.symlinkSync("/etc/passwd", path.join(downloads, jobA, "Movie", "passwd"));
  fs.writeFileSync(path.join(downloads, jobA, ".dropship-delivered"), "");
  fs.mkdirSync(path.join(downloads, jobB), { recursive: true });
  fs.writeFileSync(path.join(downloads, jobB, "secret.txt"), "friend's file");
  const signer = createLinkSigner(SIGNING_KEY);
  return {
    ownerCard,
    friendCard,
    cancelledCard: toCancel.jobId,
    friendPlaybook,
    failedPlaybook,
    links: { jobA, jobB, sign: (jobId, relPath, exp) => signer.sign(jobId, relPath, exp) },
  };
}

// The torrent presenter's end of a job against the fake Telegram, without a world: what the chat keeps when Telegram
// refuses part of the hand-over (the result message, the card's deletion, the pointer edit). The usual path, a real
// job end to end, is test/e2e/torrent-result.test.ts.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Api } from "grammy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TorrentPresenter } from "../../src/bot/presenters/torrent-presenter.js";
import { documentSource } from "../../src/bot/telegram-files.js";
import { JobStore } from "../../src/jobs/job-store.js";
import { createLogger } from "../../src/shared/logger.js";
import { openDatabase, type Db } from "../../src/storage/database.js";
import { startFakeTelegram, type FakeTelegram, type SentMessage } from "../world/fake-telegram.js";

const TOKEN = "123456:TEST-token-for-the-presenter_xyz";
const user = { id: 2001, first_name: "Uma" };
let tg: FakeTelegram;
let db: Db;
let dir: string;
const logLines: string[] = [];
const delivered: number[] = [];

beforeAll(async () => {
  // Each test sends a card and a burst after it: this checks what the chat ends with, not pacing.
  tg = await startFakeTelegram({ token: TOKEN, limits: { floodControl: false } });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "torrent-presenter-"));
  db = openDatabase(path.join(dir, "jobs.sqlite"));
  tg.sendText(user, "hi"); // the fake knows the chat from here on
});

afterAll(async () => {
  await tg?.stop();
  db?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function presenter(): { presenter: TorrentPresenter; jobs: JobStore } {
  const jobs = new JobStore(db);
  const p = new TorrentPresenter({
    api: new Api(TOKEN, { apiRoot: tg.apiRoot }),
    jobs,
    downloadsDir: dir,
    editIntervalMs: 1000,
    sendDocuments: () => true,
    uploadLimitBytes: 50_000_000,
    documentSource: (file, name) => documentSource({ localBotApi: false }, file, name),
    links: {
      signJobLinks: (id, paths) => ({ index: `https://f.example/d/${id}/`, files: paths.map((p) => ({ path: p, url: `https://f.example/d/${id}/${p}` })), expiresAt: new Date() }),
    },
    markDelivered: async (id) => void delivered.push(id),
    logger: createLogger({ level: "debug", destination: { write: (l: string) => void logLines.push(l) } }),
  });
  return { presenter: p, jobs };
}

/** A started job, its card in the chat, attached to the presenter; `file` is written to its download directory. */
async function startedJob(name: string, file: { path: string; content: string }) {
  const { presenter: p, jobs } = presenter();
  const job = jobs.create({ kind: "torrent", ownerId: user.id, chatId: user.id, state: "approved", input: { name, infoHash: "0".repeat(40), sizeBytes: null, magnetUri: null, torrentFile: null } });
  const card = await new Api(TOKEN, { apiRoot: tg.apiRoot }).sendMessage(user.id, `🧲 ${name}\nPress Start`);
  fs.mkdirSync(path.join(dir, String(job.id)), { recursive: true });
  fs.writeFileSync(path.join(dir, String(job.id), file.path), file.content);
  p.attach(job.id, user.id, card.message_id);
  const result = { files: [{ path: file.path, size: file.content.length, sha256: "x", resumes: 0 }], totalBytes: file.content.length, actualUsd: 0.01, durationSeconds: 60, overheadSeconds: 0 };
  const done = async () => {
    p.handle({ jobId: job.id, state: "done", costSoFarUsd: 0.01, elapsedSeconds: 60, result });
    await p.idle();
  };
  return { jobId: job.id, cardId: card.message_id, done, presenter: p };
}

const messageNow = (id: number): SentMessage => tg.messages(user.id).find((m) => m.message_id === id)!;
const everShown = (match: (t: string) => boolean) => tg.messages(user.id).filter((m) => [m.text, ...m.edits.map((e) => e.text)].some(match));

describe("torrent presenter, when Telegram refuses part of the hand-over", () => {
  it("a refused result message goes onto the card instead, and the documents still follow", async () => {
    const job = await startedJob("refused-send", { path: "a.txt", content: "a\n" });
    tg.failNext("sendMessage", { error_code: 400, description: "Bad Request: can't parse entities" });
    await job.done();
    const card = messageNow(job.cardId);
    expect(card.deleted).toBe(false);
    expect(card.text).toContain("All files");
    expect(everShown((t) => t.includes("All files") && t.includes("refused-send")).map((m) => m.message_id)).toEqual([job.cardId]);
    expect(tg.messages(user.id).at(-1)!.document?.file_name).toBe("a.txt");
    expect(delivered).toContain(job.jobId);
    expect(logLines.join("\n")).toContain("could not send the result message; the card shows the result instead");
  });

  it("a card that can be neither deleted nor edited is only logged: the links, the documents and the delivery stand", async () => {
    const job = await startedJob("stuck-card", { path: "b.txt", content: "b\n" });
    tg.failNext("deleteMessage", { error_code: 400, description: "Bad Request: message can't be deleted" });
    tg.failNext("editMessageText", { error_code: 400, description: "Bad Request: message to edit not found" });
    await job.done();
    const links = tg.messages(user.id).find((m) => m.message_id > job.cardId && m.text.includes("All files"))!;
    expect(links.text).toContain("stuck-card");
    expect(messageNow(job.cardId).text).toBe("🧲 stuck-card\nPress Start");
    expect(tg.messages(user.id).at(-1)!.document?.file_name).toBe("b.txt");
    expect(delivered).toContain(job.jobId);
    expect(logLines.join("\n")).toContain("could not turn the card into a pointer");
  });

  it("a failure is one message in place of the card, and a cancellation stays on the card", async () => {
    const failed = await startedJob("broken", { path: "c.txt", content: "c\n" });
    failed.presenter.handle({ jobId: failed.jobId, state: "failed", costSoFarUsd: 0.01, elapsedSeconds: 5, error: "no seeders answered" });
    await failed.presenter.idle();
    expect(messageNow(failed.cardId).deleted).toBe(true);
    expect(everShown((t) => t.includes("broken") && t.includes("failed")).map((m) => m.message_id)).toEqual([tg.messages(user.id).at(-1)!.message_id]);
    expect(tg.messages(user.id).at(-1)!.text).toContain("no seeders answered");

    const cancelled = await startedJob("stopped", { path: "d.txt", content: "d\n" });
    const before = tg.messages(user.id).length;
    cancelled.presenter.handle({ jobId: cancelled.jobId, state: "cancelled", costSoFarUsd: 0.01, elapsedSeconds: 5 });
    await cancelled.presenter.idle();
    expect(messageNow(cancelled.cardId).text).toMatch(/^🛑 stopped cancelled/);
    expect(tg.messages(user.id)).toHaveLength(before);
  });
});

describe("torrent presenter, while a job downloads", () => {
  it("shows Transferring once aria2 has everything and the bot still pulls the last files", async () => {
    const job = await startedJob("pulling", { path: "e.txt", content: "e\n" });
    const progress = { name: "pulling", totalBytes: 100, completedBytes: 100, downloadSpeed: 0, uploadSpeed: 0, seeders: 1, connections: 1, etaSeconds: 0, files: [] };
    const transfer = { doneBytes: 40, totalBytes: 100, bytesPerSecond: 10, filesDone: 0, filesTotal: 1 };
    job.presenter.handle({ jobId: job.jobId, state: "downloading", costSoFarUsd: 0, elapsedSeconds: 3, progress: { ...progress, phase: "complete" }, transfer });
    await job.presenter.idle();
    const shown = messageNow(job.cardId).text;
    expect(shown).toContain("✅ Downloading\n▶️ Transferring");
    expect(shown).toContain("40 B of 100 B");
  });
});

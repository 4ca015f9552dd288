// Files between the bot's disk and the Bot API: the upload limit and document form per server, and reading what a
// local Bot API server's getFile points at.
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { InputFile } from "grammy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, type Config } from "../../src/config.js";
import { documentSource, fetchTelegramFile, uploadLimitBytes } from "../../src/bot/telegram-files.js";

const env = { TELEGRAM_BOT_TOKEN: "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghi", OWNER_ID: "42", DO_TOKEN: "dop_v1_x", LINK_SIGNING_KEY: "k".repeat(32) };
let dir: string;
let server: http.Server;
let root: string;
const served: string[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "telegram-files-"));
  // A Bot API stand-in that serves /file/ downloads, so a test sees which way a file was fetched.
  server = http.createServer((req, res) => {
    served.push(req.url ?? "");
    res.end("over http");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  fs.rmSync(dir, { recursive: true, force: true });
});

const config = (local: boolean): Config => loadConfig({ ...env, TELEGRAM_API_ROOT: root, TELEGRAM_LOCAL_BOT_API: String(local) });

describe("telegram files", () => {
  it("uploads up to 50 MB through Telegram's server and 2000 MB through a local one", () => {
    expect(uploadLimitBytes({ localBotApi: false })).toBe(50_000_000);
    expect(uploadLimitBytes({ localBotApi: true })).toBe(2_000_000_000);
  });

  it("sends a finished file as an upload, or to a local server as its percent-encoded file:// URI", () => {
    const file = path.join(dir, "Album «2026»", "01 #1 100%.flac");
    const upload = documentSource({ localBotApi: false }, file, "01 #1 100%.flac");
    expect(upload).toBeInstanceOf(InputFile);
    expect((upload as InputFile).filename).toBe("01 #1 100%.flac");
    const uri = documentSource({ localBotApi: true }, file, "ignored") as string;
    expect(uri).toBe(`file://${dir.split(path.sep).map(encodeURIComponent).join("/")}/Album%20%C2%AB2026%C2%BB/01%20%231%20100%25.flac`);
    expect(() => documentSource({ localBotApi: true }, "relative/x", "x")).toThrow(/absolute path/);
  });

  it("reads the absolute path a local server's getFile gives from disk, and fetches other paths over HTTP", async () => {
    const onDisk = path.join(dir, "documents", "file_0.torrent");
    fs.mkdirSync(path.dirname(onDisk), { recursive: true });
    fs.writeFileSync(onDisk, "from disk");
    expect((await fetchTelegramFile(config(true), onDisk)).toString()).toBe("from disk");
    expect(served).toEqual([]);
    expect((await fetchTelegramFile(config(false), "documents/file_0.torrent")).toString()).toBe("over http");
    expect(served).toEqual([`/file/bot${env.TELEGRAM_BOT_TOKEN}/documents/file_0.torrent`]);
    await expect(fetchTelegramFile(config(true), path.join(dir, "gone.torrent"))).rejects.toThrow(/cannot read .*gone\.torrent .*\(ENOENT\); the bot must run where that server's files are/);
  });
});

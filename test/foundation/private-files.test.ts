// DATA_DIR is the bot's user's alone: the database (and its -wal, -shm) is created 0600 with secure_delete on, and a
// wider DATA_DIR found at start is made 0700 with 0600 files, and the start says so in the log.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { wireStorage } from "../../src/app/wire-storage.js";
import { createLogger } from "../../src/shared/logger.js";
import { openDatabase } from "../../src/storage/database.js";

const dirs: string[] = [];
const tmpDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-modes-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);

describe("private data files", () => {
  it("creates the database 0600 (its -wal and -shm too) with secure_delete on", () => {
    const file = path.join(tmpDir(), "data", "dropship.sqlite");
    const previous = process.umask(0o022);
    try {
      const db = openDatabase(file);
      db.prepare("INSERT INTO kv (key, value, updated_at) VALUES ('k', 'v', 0)").run();
      expect(db.pragma("secure_delete", { simple: true })).toBe(1);
      expect([mode(file), mode(`${file}-wal`), mode(`${file}-shm`)]).toEqual(["600", "600", "600"]);
      db.close();
    } finally {
      process.umask(previous);
    }
  });

  it("makes a readable DATA_DIR 0700 with 0600 files at start, and logs that it did", () => {
    const dataDir = path.join(tmpDir(), "data");
    fs.mkdirSync(path.join(dataDir, "downloads", "7"), { recursive: true, mode: 0o755 });
    fs.chmodSync(dataDir, 0o755);
    fs.writeFileSync(path.join(dataDir, "dropship.sqlite"), "", { mode: 0o644 });
    fs.writeFileSync(path.join(dataDir, "downloads", "7", "file.iso"), "x", { mode: 0o664 });
    const lines: string[] = [];
    const logger = createLogger({ level: "info", destination: { write: (l: string) => void lines.push(l) } });
    const config = loadConfig({
      TELEGRAM_BOT_TOKEN: "7000001:AAtest-token-for-modes-tests_0123456789",
      OWNER_ID: "1",
      DO_TOKEN: "dop_v1_test",
      LINK_SIGNING_KEY: "k".repeat(40),
      DATA_DIR: dataDir,
    });
    const storage = wireStorage(config, logger);
    storage.db.close();
    expect(mode(dataDir)).toBe("700");
    expect(mode(path.join(dataDir, "downloads", "7"))).toBe("700");
    expect(mode(path.join(dataDir, "dropship.sqlite"))).toBe("600");
    expect(mode(path.join(dataDir, "downloads", "7", "file.iso"))).toBe("600");
    expect(mode(path.join(dataDir, "keys", "id_ed25519"))).toBe("600");
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; fixed?: number }).find((l) => l.msg.includes("made directories 0700"));
    expect(logged?.fixed).toBe(5);

    // The next start finds nothing to fix and says nothing.
    lines.length = 0;
    wireStorage(config, logger).db.close();
    expect(lines.filter((l) => l.includes("made directories 0700"))).toEqual([]);
  });
});

// Per-user choices, in the users table: for now whether finished files also arrive as Telegram documents.
import type { Db } from "../storage/database.js";

export class UserSettings {
  constructor(
    private readonly db: Db,
    private readonly defaults: { sendFiles: boolean },
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether this user gets small files as documents: their own choice, else the configured default. */
  sendFiles(userId: number): boolean {
    const row = this.db.prepare<[number], { send_files: number | null }>("SELECT send_files FROM users WHERE telegram_id = ?").get(userId);
    return row?.send_files == null ? this.defaults.sendFiles : row.send_files === 1;
  }

  setSendFiles(userId: number, role: "owner" | "user", on: boolean): void {
    this.db
      .prepare(
        `INSERT INTO users (telegram_id, role, created_at, send_files) VALUES (?, ?, ?, ?)
         ON CONFLICT (telegram_id) DO UPDATE SET send_files = excluded.send_files, role = excluded.role`,
      )
      .run(userId, role, this.now(), on ? 1 : 0);
  }
}

// Per-user choices, in the users table: whether finished files also arrive as Telegram documents (/files), and how a
// torrent's files are chosen after its metadata (/settings).
import type { Db } from "../storage/database.js";

/** How a user wants a torrent's files chosen (the torrent job reads this through its FilePreferences port). */
export interface FileChoiceSettings {
  /** After a magnet's metadata: show the file picker for a torrent of several files, or fetch every file. */
  afterMetadata: "ask" | "all";
  /** When the picker gets no answer in time: fetch every file, or cancel the job. */
  onPickerTimeout: "all" | "cancel";
}

export const DEFAULT_FILE_CHOICE: FileChoiceSettings = { afterMetadata: "ask", onPickerTimeout: "all" };

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

  /** How this user wants files chosen: their own choices, each falling back to the default on its own. */
  fileChoice(userId: number): FileChoiceSettings {
    const row = this.db
      .prepare<[number], { after_metadata: FileChoiceSettings["afterMetadata"] | null; picker_timeout: FileChoiceSettings["onPickerTimeout"] | null }>(
        "SELECT after_metadata, picker_timeout FROM users WHERE telegram_id = ?",
      )
      .get(userId);
    return {
      afterMetadata: row?.after_metadata ?? DEFAULT_FILE_CHOICE.afterMetadata,
      onPickerTimeout: row?.picker_timeout ?? DEFAULT_FILE_CHOICE.onPickerTimeout,
    };
  }

  /** Records the choices given; one not given keeps what it was (the user's, or the default). */
  setFileChoice(userId: number, role: "owner" | "user", choice: Partial<FileChoiceSettings>): void {
    this.db
      .prepare(
        `INSERT INTO users (telegram_id, role, created_at, after_metadata, picker_timeout) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (telegram_id) DO UPDATE SET role = excluded.role,
           after_metadata = COALESCE(excluded.after_metadata, users.after_metadata),
           picker_timeout = COALESCE(excluded.picker_timeout, users.picker_timeout)`,
      )
      .run(userId, role, this.now(), choice.afterMetadata ?? null, choice.onPickerTimeout ?? null);
  }

  /**
   * How long this user's torrents seed after their download unless the card says otherwise, as the torrent job's
   * policy code ("r1.0", "t30"); null: the default, not at all.
   */
  seedPolicyCode(userId: number): string | null {
    const row = this.db.prepare<[number], { seed_policy: string | null }>("SELECT seed_policy FROM users WHERE telegram_id = ?").get(userId);
    return row?.seed_policy ?? null;
  }

  setSeedPolicyCode(userId: number, role: "owner" | "user", code: string): void {
    this.db
      .prepare(
        `INSERT INTO users (telegram_id, role, created_at, seed_policy) VALUES (?, ?, ?, ?)
         ON CONFLICT (telegram_id) DO UPDATE SET role = excluded.role, seed_policy = excluded.seed_policy`,
      )
      .run(userId, role, this.now(), code);
  }
}

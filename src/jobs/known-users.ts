// The names of the bot's users as Telegram last showed them (users.display_name), so lists of people — who a host is
// shared with — can say "Fred (@fred)" and not only an id. Written only when a name changes.
import type { Db } from "../storage/database.js";

/** Longest name kept; Telegram allows 64 characters for each of first and last name. */
const MAX_NAME = 80;

export class KnownUsers {
  private readonly seen = new Map<number, string>();

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records the name a user goes by; cheap when it has not changed since the last call. */
  remember(userId: number, role: "owner" | "user", name: string): void {
    const shown = name.replace(/\s+/g, " ").trim().slice(0, MAX_NAME);
    if (!shown || this.seen.get(userId) === shown) return;
    this.db
      .prepare(
        `INSERT INTO users (telegram_id, role, display_name, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (telegram_id) DO UPDATE SET display_name = excluded.display_name, role = excluded.role`,
      )
      .run(userId, role, shown, this.now());
    this.seen.set(userId, shown);
  }

  /** The name last seen for this user, if any. */
  nameOf(userId: number): string | undefined {
    const cached = this.seen.get(userId);
    if (cached !== undefined) return cached;
    const row = this.db.prepare<[number], { display_name: string | null }>("SELECT display_name FROM users WHERE telegram_id = ?").get(userId);
    return row?.display_name ?? undefined;
  }
}

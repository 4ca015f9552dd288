// SFTP sessions kept open on one connection for pulls: each is a channel with its own 2 MiB window, and opening one
// costs four round trips (channel, subsystem, version, limits), so they are opened once and reused file after file.
import type ssh2 from "ssh2";

export class SftpSessionPool {
  private sessions: ssh2.SFTPWrapper[] = [];
  /** How many the server allowed when it last refused one (OpenSSH's MaxSessions counts every session). */
  private cap = Number.POSITIVE_INFINITY;
  private pending: Promise<unknown> = Promise.resolve();

  constructor(private readonly open: () => Promise<ssh2.SFTPWrapper>) {}

  /** Up to `count` open sessions, opening the missing ones; fewer if the server refuses more, but at least one. */
  get(count: number): Promise<ssh2.SFTPWrapper[]> {
    // One caller at a time, so that two pulls starting together do not both open a full set.
    const next = this.pending.then(() => this.fill(Math.max(1, count)));
    this.pending = next.catch(() => {});
    return next;
  }

  private async fill(count: number): Promise<ssh2.SFTPWrapper[]> {
    const want = Math.min(count, Math.max(this.cap, 1)) - this.sessions.length;
    if (want > 0) {
      const tries = await Promise.allSettled(Array.from({ length: want }, () => this.open()));
      for (const t of tries) if (t.status === "fulfilled") this.keep(t.value);
      const refused = tries.find((t): t is PromiseRejectedResult => t.status === "rejected");
      if (refused && this.sessions.length === 0) throw refused.reason;
      if (refused) this.cap = this.sessions.length;
    }
    return this.sessions.slice(0, count);
  }

  private keep(sftp: ssh2.SFTPWrapper): void {
    this.sessions.push(sftp);
    sftp.once("close", () => (this.sessions = this.sessions.filter((s) => s !== sftp)));
  }

  /** Ends every session (the connection stays). */
  end(): void {
    for (const s of this.sessions) s.end();
    this.sessions = [];
  }
}

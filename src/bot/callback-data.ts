// Callback data of the torrent card's buttons: "t:start:<job id>" / "t:cancel:<job id>" (well under 64 bytes).
export type TorrentAction = "start" | "cancel";

export const TORRENT_BUTTON = /^t:(start|cancel):(\d{1,15})$/;

export function torrentButton(action: TorrentAction, jobId: number): string {
  return `t:${action}:${jobId}`;
}

export function parseTorrentButton(data: string): { action: TorrentAction; jobId: number } | null {
  const m = TORRENT_BUTTON.exec(data);
  return m ? { action: m[1] as TorrentAction, jobId: Number(m[2]) } : null;
}

// Whether the bot's disk has room for a torrent's files before they are pulled (or the droplet is even created):
// a pull that fills the disk fails late, after paying for the download, and can starve the database next to it.
import fs from "node:fs";
import { formatBytes } from "../../shared/text-format.js";

/** Free bytes available to this process on the file system holding `dir`. */
export type FreeSpaceProbe = (dir: string) => Promise<number>;

export const statfsFreeBytes: FreeSpaceProbe = async (dir) => {
  const s = await fs.promises.statfs(dir);
  return s.bavail * s.bsize;
};

/** Why `needBytes` cannot be pulled into `dir` while keeping `minFreeBytes` free (DOWNLOAD_MIN_FREE_MB), or null. */
export async function downloadRoomProblem(
  dir: string,
  needBytes: number,
  minFreeBytes: number,
  probe: FreeSpaceProbe = statfsFreeBytes,
): Promise<string | null> {
  fs.mkdirSync(dir, { recursive: true });
  const free = await probe(dir);
  if (free >= needBytes + minFreeBytes) return null;
  return (
    `not enough free disk on the bot's host for the files: they need ${formatBytes(needBytes)} and ` +
    `${formatBytes(minFreeBytes)} must stay free (DOWNLOAD_MIN_FREE_MB), but ${dir} has ${formatBytes(free)} free; ` +
    "free some space there or point DOWNLOAD_DIR at a bigger disk"
  );
}

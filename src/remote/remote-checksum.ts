// What a pull checks its copy against on the host: the file's SHA-256 (openssl, else sha256sum), with the file's identity taken just
// before and just after hashing, so that a file that changed during the hash is told apart from a bad copy (the
// pull compares SFTP stats taken before and after the copy with it, for changes outside the hash).
import { run, type Host } from "../hosts/host.js";

/** Size, modification and change times to the nanosecond, and inode: any write or replacement changes it. */
const IDENTITY = `stat -L -c "%s %.9Y %.9Z %i" -- "$1"`;

export interface RemoteChecksum {
  sha256: string;
  /** The file's identity before and after hashing. */
  before: string;
  after: string;
}

/** OpenSSL's SHA-256 is 3–5× faster than coreutils' (SHA-NI, AVX2); sha256sum when the host has no openssl. */
const HASH = `case "$1" in -*) f="./$1";; *) f="$1";; esac; if command -v openssl >/dev/null; then openssl dgst -sha256 -r "$f"; else sha256sum -- "$1"; fi`;

export async function remoteChecksum(host: Host, remotePath: string, signal?: AbortSignal): Promise<RemoteChecksum> {
  const { stdout } = await run(host, ["sh", "-c", `${IDENTITY} && { ${HASH}; } && ${IDENTITY}`, "sh", remotePath], { signal });
  const [before = "", line = "", after = ""] = stdout.split("\n");
  // Both tools prefix the line with "\" when they had to escape the file name.
  const sha256 = line.replace(/^\\/, "").split(/\s+/)[0] ?? "";
  if (!/^[0-9a-f]{64}$/.test(sha256) || !before || !after) throw new Error(`could not hash ${remotePath} on ${host.label}: openssl or sha256sum gave no checksum`);
  return { sha256, before, after };
}

/** Whether an SFTP stat (size, whole-second mtime) still describes the file an identity line was taken of. */
export function identityMatches(identity: string, stat: { size: number; mtime: number }): boolean {
  const [size, mtime] = identity.split(" ");
  return Number(size) === stat.size && Math.floor(Number(mtime)) === stat.mtime;
}

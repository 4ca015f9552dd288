// What a fake droplet's disk looks like and what its cloud-init does: the machine's own root filesystem, except
// that packages cloud-init is asked to install are ABSENT until it installs them, apt-get and cloud-init are the
// stand-ins below, and package state (/var/lib/dpkg, where the lock lives) is the droplet's own.
//
// /usr/bin and /var/lib/dpkg are overlays (lower: this machine's, upper: a tmpfs of the droplet), so nothing done
// on a droplet reaches the machine's own package state, and a whiteout hides each missing package's files.
// "Installing" copies the package's files from a pool (bind mounts of this machine's files, made before hiding).
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { CloudInitRequest } from "./fake-digitalocean-cloud-init.js";

/** The stand-ins for apt-get and cloud-init (shell scripts); the droplet sees this machine's files, so this path too. */
const TOOLS = path.join(path.dirname(fileURLToPath(import.meta.url)), "droplet-image");
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Packages a fresh droplet lacks, with their files (this machine has them: scripts/setup-system.sh). */
export const ABSENT_PACKAGES: Readonly<Record<string, readonly string[]>> = {
  aria2: ["/usr/bin/aria2c"],
};

export interface DropletImageTimings {
  /** How long cloud-init's package step holds the package manager's lock (apt-get update + install). */
  packagesMs: number;
}

/**
 * Shell run in the droplet's mount namespace before its sshd starts; $HOST_DIR is the droplet's own directory.
 * `diskBytes`: the droplet's disk, scaled down, as a size-limited tmpfs on /root (where torrents download), so a full
 * disk fails a write with ENOSPC as on DigitalOcean; null leaves /root on this machine's disk.
 */
export function dropletImagePrepare(opts: { diskBytes: number | null } = { diskBytes: null }): string {
  const img = "$HOST_DIR/image";
  const lines = [
    ...(opts.diskBytes === null ? [] : [`mount -t tmpfs -o size=${Math.max(4096, Math.floor(opts.diskBytes))},mode=700 dropship-disk /root`]),
    // The droplet's own /dev/disk: attached volumes appear in by-id/ there (this machine's /dev is shared).
    `mkdir -p /dev/disk && mount -t tmpfs -o mode=755,size=1m dropship-dev-disk /dev/disk && mkdir -p /dev/disk/by-id`,
    // tmpfs: an overlay's upper dir must not itself be on overlayfs (containers' root filesystems are).
    `mkdir -p ${img} && mount -t tmpfs -o mode=755 dropship-image ${img}`,
    `mkdir -p ${img}/usr-bin ${img}/usr-bin.work ${img}/dpkg ${img}/dpkg.work ${img}/pool /run/cloud-init`,
  ];
  for (const [pkg, files] of Object.entries(ABSENT_PACKAGES)) {
    for (const f of files) {
      if (path.dirname(f) !== "/usr/bin") throw new Error(`only /usr/bin is overlaid; cannot hide ${f}`);
      const pooled = `${img}/pool/${pkg}${f}`;
      lines.push(`mkdir -p "$(dirname ${pooled})" && touch ${pooled} && mount --bind ${f} ${pooled}`);
      lines.push(`mknod ${img}/usr-bin/${f.split("/").pop()} c 0 0`); // an overlay whiteout: the file is gone
    }
  }
  lines.push(
    `mount -t overlay dropship-usr-bin -o lowerdir=/usr/bin,upperdir=${img}/usr-bin,workdir=${img}/usr-bin.work /usr/bin`,
    `mount -t overlay dropship-dpkg -o lowerdir=/var/lib/dpkg,upperdir=${img}/dpkg,workdir=${img}/dpkg.work /var/lib/dpkg`,
    // The droplet's own, unlocked lock files (copied up, so locking them never touches this machine's).
    `: > /var/lib/dpkg/lock-frontend && : > /var/lib/dpkg/lock`,
    // Real apt here would change this machine's packages: the droplet gets the stand-in instead.
    `install -m 755 ${sq(TOOLS + "/apt-get")} /usr/bin/apt-get && install -m 755 ${sq(TOOLS + "/apt-get")} /usr/bin/apt`,
    `install -m 755 ${sq(TOOLS + "/cloud-init")} /usr/bin/cloud-init`,
    `echo "POOL=${img}/pool" > /run/dropship-image.env`,
    // cloud-init starts with the machine, before sshd: a first login already sees it running.
    `echo running > /run/cloud-init/status`,
  );
  return lines.join(" &&\n");
}

/**
 * cloud-init's later stages as the droplet runs them once its sshd is up: package_update and packages (host keys and
 * authorized keys were applied before sshd started). Sets /run/cloud-init/status to done or error at the end.
 */
export function cloudInitRun(req: CloudInitRequest, timings: DropletImageTimings): string {
  const doc = req.document ?? {};
  const pkgs = req.packages.map((p) => `'${p.replace(/'/g, "")}'`).join(" ");
  const update = doc.package_update === true || doc.package_upgrade === true || req.packages.length > 0;
  const secs = (timings.packagesMs / 1000).toFixed(2);
  const body =
    req.packages.length === 0 && !update
      ? "true"
      : // One apt-get run holding the lock for the whole step, as cloud-init's apt-get update + install would.
        `DROPSHIP_APT_DELAY=${secs} apt-get -y ${update ? "--update " : ""}install ${pkgs}`;
  return [
    `echo "cloud-init: modules:final running" `,
    `if { ${body}; }; then echo done > /run/cloud-init/status; else echo error > /run/cloud-init/status; fi`,
    `echo "cloud-init: finished with status $(cat /run/cloud-init/status)"`,
  ].join("\n");
}

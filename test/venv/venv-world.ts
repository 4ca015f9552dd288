// Test fixture for venv tests: a real sshd host, the loopback package index, collection tarballs, a temp database,
// and a Host wrapper that records every command sent (to prove that a reuse runs no pip).
import path from "node:path";
import type { ExecOptions, Host } from "../../src/hosts/host.js";
import { openDatabase, type Db } from "../../src/storage/database.js";
import { VenvManager, type VenvManagerOptions } from "../../src/venv/venv-manager.js";
import { startSshFixture, type SshFixture } from "../remote/ssh-fixture.js";
import { buildCollectionTarballs } from "../world/collection-tarballs.js";
import { startPackageIndex, type PackageIndex } from "../world/package-index.js";

export interface RecordingHost extends Host {
  readonly commands: string[][];
}

export function recording(host: Host): RecordingHost {
  const commands: string[][] = [];
  return {
    label: host.label,
    commands,
    exec(argv: string[], opts?: ExecOptions) {
      commands.push(argv);
      return host.exec(argv, opts);
    },
    writeFile: (p, d, m) => host.writeFile(p, d, m),
    readFile: (p) => host.readFile(p),
    close: () => host.close(),
  };
}

/** True when any recorded command runs pip, ansible-galaxy collection/role install or creates a venv. */
export function ranInstaller(commands: string[][]): boolean {
  return commands.some((c) => c.includes("pip") || (c.includes("venv") && c.includes("-m")) || ((c.includes("collection") || c.includes("role")) && c.includes("install")));
}

export interface VenvWorld {
  ssh: SshFixture;
  index: PackageIndex;
  tarballDir: string;
  db: Db;
  /** The venv root as seen from outside the host (its /root is private). */
  outsideRoot: string;
  manager(overrides?: Partial<VenvManagerOptions>): VenvManager;
  stop(): Promise<void>;
}

export const VENV_ROOT = "~/.dropship/venvs";

export async function startVenvWorld(): Promise<VenvWorld> {
  const [ssh, index, tarballDir] = await Promise.all([startSshFixture("dropship-venv-"), startPackageIndex(), buildCollectionTarballs()]);
  const db = openDatabase(path.join(ssh.tempDir, "dropship.sqlite"));
  return {
    ssh,
    index,
    tarballDir,
    db,
    outsideRoot: path.join(ssh.world.home, ".dropship", "venvs"),
    manager: (overrides = {}) =>
      new VenvManager({
        db,
        packages: { pipIndexUrl: index.url, pipExtraArgs: ["--isolated"], galaxyServer: null, collectionTarballDir: tarballDir },
        venv: { root: VENV_ROOT, gcUnusedMs: 30 * 86_400_000, minFreeMb: 50 },
        ...overrides,
      }),
    async stop() {
      db.close();
      await index.stop();
      await ssh.stop();
    },
  };
}

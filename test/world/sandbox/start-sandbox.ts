// The sandbox: the whole local world (fake Telegram, fake DigitalOcean with real sshd droplets, swarm, package
// index, Galaxy stand-in, one registered sshd host) and the real app against it, plus a web page to use it as a
// Telegram user would. Test-support code: `npm run sandbox` (main.ts) and the browser test start it; src/ never does.
import path from "node:path";
import type { App } from "../../../src/app/start-app.js";
import { generateEd25519 } from "../../../src/shared/ssh-keys.js";
import { ALICE, startWorld, type World } from "../../e2e/harness.js";
import { startGalaxy, type GalaxyStandIn } from "../galaxy.js";
import { freeLoopbackAddress } from "../loopback.js";
import { startSshHost, type SshHost } from "../sshd-host.js";
import { makeSamplePlaybooks, seedSampleTorrents, type SampleFile, type SampleTorrent } from "./sandbox-samples.js";
import { startSandboxServer } from "./sandbox-server.js";
import { DropletHistory } from "./sandbox-views.js";

/** The name the sandbox's playbook host is registered under, as `/addhost sandbox-host root@…` would. */
export const SANDBOX_HOST_NAME = "sandbox-host";

export interface SandboxOptions {
  /** The page's port on 127.0.0.1 (default: any free one). */
  port?: number;
  /** How long a fake droplet stays "new" (default 2 s: a very fast real boot, long enough to watch). */
  activeDelayMs?: number;
  /** Progress lines while starting. */
  log?: (line: string) => void;
}

export interface Sandbox {
  /** The page, e.g. http://127.0.0.1:41234/ */
  url: string;
  world: World;
  app: App;
  galaxy: GalaxyStandIn;
  host: SshHost;
  torrents: SampleTorrent[];
  playbooks: SampleFile[];
  /** Stops the app first (it cancels running jobs and destroys their droplets), then everything else; idempotent. */
  stop(): Promise<void>;
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const log = opts.log ?? (() => {});
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    stops.length = 0;
  };
  try {
    log("the world: fake Telegram, fake DigitalOcean (droplets are sshd in network namespaces), swarm, package index …");
    const world = await startWorld({ activeDelayMs: opts.activeDelayMs ?? 2000 });
    stops.push(() => world.stop());
    log("the Galaxy stand-in, with the world's collections and a sample role …");
    const galaxy = await startGalaxy({ collectionDirs: [world.collectionsDir] });
    stops.push(() => galaxy.stop());
    const playbooks = await makeSamplePlaybooks(world.dir, galaxy);
    log("the real app (bot, job runners, download server) …");
    // Collections come from the Galaxy stand-in here, as they would from galaxy.ansible.com.
    const app = await world.startApp({ GALAXY_SERVER: galaxy.url, COLLECTION_TARBALL_DIR: "", LOG_LEVEL: "info" });
    stops.push(() => app.stop());
    log("a host for playbooks (a real sshd on a loopback address), registered with the app …");
    const address = await freeLoopbackAddress(22);
    const host = await startSshHost({
      address,
      dir: path.join(world.dir, "playbook-host"),
      hostPrivateKey: generateEd25519(SANDBOX_HOST_NAME).private,
      authorizedKeys: [app.botKey.publicKey],
    });
    stops.push(() => host.stop());
    // Again, so that it runs before the host stops: a running playbook is stopped by the app, not cut off (stop is idempotent).
    stops.push(() => app.stop());
    // What /addhost does: one connection with the bot's key, pinning the host key it is shown.
    await app.hosts.add(SANDBOX_HOST_NAME, { username: "root", address, port: 22 }, ALICE.id);
    log("sample torrents in the swarm …");
    const torrents = await seedSampleTorrents(world.swarm);
    const server = await startSandboxServer(
      { telegram: world.telegram, user: ALICE, app, droplets: new DropletHistory(world.digitalOcean), torrents, playbooks },
      { port: opts.port },
    );
    stops.push(() => server.stop());
    let stopping: Promise<void> | null = null;
    return { url: server.url, world, app, galaxy, host, torrents, playbooks, stop: () => (stopping ??= stopAll()) };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

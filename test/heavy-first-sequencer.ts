// Runs the slowest test files first. Vitest orders files by the durations it cached on earlier runs; a clean clone
// (CI) has none, so files ran in path order and the slow venv and e2e files came last, each one's minutes added to
// the end of the run on two cores. Their measured order is kept here (every file of 5 s or more, from a quiet run on
// this machine, 2026-12-02); files not listed keep vitest's own order after them. Re-measure with `--reporter=json`
// when a heavy file is added.
import path from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/** Slowest first; a new slow file belongs here too. */
const SLOWEST = [
  "test/venv/venv-cli.test.ts",
  "test/e2e/restart-table.test.ts",
  "test/e2e/playbook-run.test.ts",
  "test/e2e/torrent-budget.test.ts",
  "test/venv/venv-ensure.test.ts",
  "test/venv/venv-trust.test.ts",
  "test/venv/venv-roles.test.ts",
  "test/e2e/torrent-faults.test.ts",
  "test/e2e/torrent-picker.test.ts",
  "test/e2e/torrent-cancel.test.ts",
  "test/e2e/torrent-resilience.test.ts",
  "test/world/sandbox/sandbox-browser.test.ts",
  "test/e2e/torrent-result.test.ts",
  "test/e2e/playbook-analysis.test.ts",
  "test/e2e/playbook-closure.test.ts",
  "test/e2e/torrent-disk.test.ts",
  "test/e2e/torrent-picker-timeout.test.ts",
  "test/e2e/torrent-happy.test.ts",
  "test/bot/pacing.test.ts",
  "test/e2e/torrent-ssh-faults.test.ts",
  "test/e2e/main-process.test.ts",
  "test/cloud/digitalocean-provider.test.ts",
  "test/e2e/torrent-early-pull.test.ts",
  "test/ansible/provision-droplet.test.ts",
  "test/venv/venv-failures.test.ts",
  "test/world/galaxy.test.ts",
  "test/venv/venv-concurrency.test.ts",
  "test/jobs/torrent/droplet-reaper.test.ts",
  "test/e2e/torrent-seeding.test.ts",
  "test/cloud/fake-digitalocean.test.ts",
  "test/remote/sftp-transfer.test.ts",
  "test/bot/hosts.test.ts",
  "test/world/swarm.test.ts",
  "test/e2e/startup-sweep.test.ts",
  "test/lint/import-layers.test.ts",
  "test/bot/app-api-pacing.test.ts",
  "test/aria2/aria2-client.test.ts",
  "test/cloud/volumes.test.ts",
  "test/world/fake-telegram.test.ts",
  "test/remote/droplet-ssh.test.ts",
  "test/bot/torrent-feature.test.ts",
  "test/venv/role-closure.test.ts",
  "test/bot/resilience.test.ts",
  "test/bot/settings.test.ts",
  "test/analysis/cli.test.ts",

];

export default class HeavyFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const byDefault = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = SLOWEST.indexOf(path.relative(this.ctx.config.root, f.moduleId).split(path.sep).join("/"));
      return i === -1 ? SLOWEST.length : i;
    };
    // Array.prototype.sort is stable: unlisted files keep vitest's order.
    return byDefault.sort((a, b) => rank(a) - rank(b));
  }
}

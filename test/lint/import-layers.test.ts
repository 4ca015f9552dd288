// The import layers of docs/architecture.md are enforced by ESLint (eslint.config.js); these cases show the rules
// failing on a wrong import, linting in-memory text as if it were a file of src/.
import path from "node:path";
import { ESLint } from "eslint";
import { beforeAll, describe, expect, it } from "vitest";

const repo = path.resolve(import.meta.dirname, "../..");
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: repo });
});

async function ruleIdsFor(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(repo, file) });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe("import layers", () => {
  it("refuses a domain module importing an adapter", async () => {
    const found = await ruleIdsFor("src/jobs/torrent/probe.ts", 'import { createDigitalOceanProvider } from "../../cloud/digitalocean-provider.js";\nexport const p = createDigitalOceanProvider;\n');
    expect(found).toEqual([expect.stringMatching(/^import-x\/no-restricted-paths: .*The domain declares ports/)]);
  });

  it("refuses an adapter importing the bot, and one adapter importing another", async () => {
    expect(await ruleIdsFor("src/remote/probe.ts", 'import type { BotContext } from "../bot/context.js";\nexport type C = BotContext;\n')).toEqual([
      expect.stringMatching(/^import-x\/no-restricted-paths: .*src\/remote is an adapter/),
    ]);
    expect(await ruleIdsFor("src/ansible/probe.ts", 'import { LocalHost } from "../remote/local-host.js";\nexport const h = LocalHost;\n')).toEqual([
      expect.stringMatching(/^import-x\/no-restricted-paths: .*src\/ansible is an adapter/),
    ]);
  });

  it("refuses the bot reaching an adapter, and grammY outside the bot", async () => {
    expect(await ruleIdsFor("src/bot/features/probe.ts", 'import { SshConnectError } from "../../remote/ssh-connect.js";\nexport const e = SshConnectError;\n')).toEqual([
      expect.stringMatching(/^import-x\/no-restricted-paths: .*src\/bot is an entry point/),
    ]);
    expect(await ruleIdsFor("src/venv/probe.ts", 'import { Bot } from "grammy";\nexport const b = Bot;\n')).toEqual([expect.stringMatching(/^no-restricted-imports: .*grammY/)]);
  });

  it("refuses the generic job engine knowing a job kind, and one kind importing another", async () => {
    expect(await ruleIdsFor("src/jobs/probe.ts", 'import { TorrentJobRunner } from "./torrent/torrent-job.js";\nexport const r = TorrentJobRunner;\n')).toEqual([
      expect.stringMatching(/^import-x\/no-restricted-paths: .*knows no job kind/),
    ]);
    expect(await ruleIdsFor("src/jobs/playbook/probe.ts", 'import { DropletLedger } from "../torrent/droplet-ledger.js";\nexport const l = DropletLedger;\n')).toEqual([
      expect.stringMatching(/^import-x\/no-restricted-paths: .*Job kinds do not import each other/),
    ]);
  });

  it("refuses an import cycle", async () => {
    // venv-manager.ts imports venv-store.ts; venv-store.ts importing it back closes a cycle.
    const found = await ruleIdsFor("src/venv/venv-store.ts", 'import { VenvManager } from "./venv-manager.js";\nexport const m = VenvManager;\n');
    expect(found).toEqual([expect.stringMatching(/^import-x\/no-cycle: /)]);
  });

  it("accepts imports that point down", async () => {
    expect(await ruleIdsFor("src/remote/probe.ts", 'import type { Host } from "../hosts/host.js";\nexport type H = Host;\n')).toEqual([]);
    expect(await ruleIdsFor("src/bot/features/probe.ts", 'import { FINAL_STATES } from "../../jobs/job-store.js";\nexport const f = FINAL_STATES;\n')).toEqual([]);
  });
});

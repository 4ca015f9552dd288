// Concurrent ensures on one host: one spec builds once (the lock), two specs build side by side.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { SshHost } from "../../src/remote/ssh-host.js";
import type { VenvSpec } from "../../src/venv/venv-spec.js";
import { recording, startVenvWorld, type VenvWorld } from "./venv-world.js";

let w: VenvWorld;
let ssh: SshHost;

beforeAll(async () => {
  w = await startVenvWorld();
  ssh = await w.ssh.connect();
});
afterAll(async () => {
  await w?.stop();
});

const A: VenvSpec = { ansibleCore: null, python: ["dropship-hello"], collections: [] };
const B: VenvSpec = { ansibleCore: null, python: ["dropship-greeting"], collections: [{ name: "ansible.posix" }] };

it("builds one spec once for two concurrent ensures, and two specs in parallel", async () => {
  const manager = w.manager();
  const hosts = [recording(ssh), recording(ssh), recording(ssh)];
  const events: { who: number; step: string; at: number }[] = [];
  const specs = [A, A, B];
  const results = await Promise.all(
    specs.map((spec, who) => manager.ensure(hosts[who]!, spec, { onProgress: (p) => events.push({ who, step: p.step, at: Date.now() }) })),
  );
  const pipRuns = hosts.flatMap((h) => h.commands).filter((c) => c.includes("pip") && c.includes("install"));
  expect(pipRuns).toHaveLength(2);
  expect(results[0]!.name).toBe(results[1]!.name);
  expect(results[2]!.name).not.toBe(results[0]!.name);
  expect([results[0]!.reused, results[1]!.reused].sort()).toEqual([false, true]);
  expect(results[2]!.reused).toBe(false);
  // The waiter said it was waiting; the two different specs overlapped in time.
  const waiter = results[0]!.reused ? 0 : 1;
  expect(events.some((e) => e.who === waiter && e.step === "waiting")).toBe(true);
  const builderA = 1 - waiter;
  const startA = events.find((e) => e.who === builderA && e.step === "creating")!.at;
  const startB = events.find((e) => e.who === 2 && e.step === "creating")!.at;
  const endA = events.find((e) => e.who === builderA && e.step === "ready")!.at;
  const endB = events.find((e) => e.who === 2 && e.step === "ready")!.at;
  expect(startB).toBeLessThan(endA);
  expect(startA).toBeLessThan(endB);
  // Locks are gone afterwards, in the database and on the host.
  expect(w.db.prepare("SELECT COUNT(*) AS n FROM locks").get()).toEqual({ n: 0 });
  expect((await ssh.exec(["sh", "-c", "ls -A /root/.dropship/venvs/.locks"])).stdout).toBe("");
  expect(manager.list(ssh.label)).toHaveLength(2);
});

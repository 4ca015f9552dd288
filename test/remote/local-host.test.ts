// LocalHost: argv reaches the program untouched (no shell), env/stdin/cwd work, timeouts and aborts kill the group.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LocalHost } from "../../src/remote/local-host.js";
import { run, CommandFailedError } from "../../src/hosts/host.js";
import { HOSTILE } from "./hostile-strings.js";


const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-local-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("LocalHost", () => {
  const host = new LocalHost();

  it("passes hostile arguments to the program byte for byte", async () => {
    const r = await run(host, ["printf", "%s\\0", ...HOSTILE]);
    expect(r.stdout.split("\0").slice(0, -1)).toEqual(HOSTILE);
    expect(fs.existsSync("/tmp/dropship-pwned")).toBe(false);
  });

  it("reports exit codes, stderr, stdin, env and cwd", async () => {
    const r = await host.exec(["sh", "-c", 'cat; echo "$GREETING" >&2; pwd; exit 7'], { stdin: "in\n", env: { GREETING: "hi $(x)" }, cwd: tmp });
    expect(r).toMatchObject({ code: 7, signal: null, stderr: "hi $(x)\n" });
    expect(r.stdout).toBe(`in\n${fs.realpathSync(tmp)}\n`);
    await expect(run(host, ["false"])).rejects.toBeInstanceOf(CommandFailedError);
  });

  it("rejects env names that are not identifiers and NUL bytes", async () => {
    await expect(host.exec(["true"], { env: { "A;B": "x" } })).rejects.toThrow(/invalid environment variable name/);
    await expect(host.exec(["echo", "a\0b"])).rejects.toThrow(/NUL/);
  });

  it("kills a command and its children on timeout", async () => {
    const marker = path.join(tmp, "child-survived");
    const t0 = Date.now();
    const r = await host.exec(["sh", "-c", `(sleep 2; touch ${marker}) & sleep 30`], { timeoutMs: 300 });
    expect(r.code).toBeNull();
    expect(r.signal).toBe("SIGTERM");
    expect(Date.now() - t0).toBeLessThan(2000);
    await new Promise((res) => setTimeout(res, 2300));
    expect(fs.existsSync(marker)).toBe(false);
  });

  it("rejects with the abort reason when cancelled", async () => {
    const ac = new AbortController();
    const p = host.exec(["sleep", "30"], { signal: ac.signal });
    setTimeout(() => ac.abort(new Error("user cancelled")), 100);
    await expect(p).rejects.toThrow("user cancelled");
  });

  it("writes files with a mode and reads them back", async () => {
    const file = path.join(tmp, "f.txt");
    await host.writeFile(file, "secret", 0o600);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect((await host.readFile(file)).toString()).toBe("secret");
  });
});

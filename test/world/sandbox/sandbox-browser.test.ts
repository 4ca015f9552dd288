// `npm run sandbox` in a real browser (Debian's headless Chromium, driven by playwright-core): the command as a person
// runs it prints a URL; on that page a sample magnet is pasted, Start pressed, the progress edits watched and the
// file downloaded through the link and checked; a playbook is uploaded, analysed and run on the sandbox's host; what
// the user types is shown as text; Ctrl-C leaves no process, network or temp file behind. Screenshots of the chat
// go to test-output/sandbox/ for a person to look at.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { isWorldProcess, processesOfRun, TEST_RUN_ENV } from "../processes.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const OUTPUT = path.join(REPO, "test-output", "sandbox");
/** Debian's `chromium` package (scripts/setup-system.sh installs it); playwright-core downloads no browser. */
const CHROMIUM = "/usr/bin/chromium";

let child: ChildProcess;
let exited: Promise<number | null>;
let output = "";
let url: string;
let tmp: string;
let runId: string;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dropship-sandbox-test-"));
  // The sandbox's own run id: its processes are found by it after it exits (the suite's leak check still covers
  // them through afterAll, which kills whatever is left).
  runId = `${process.env[TEST_RUN_ENV] ?? "sandbox"}-${randomBytes(4).toString("hex")}`;
  // Exactly what `npm run sandbox` runs; TMPDIR makes every temp dir it creates land where the test can see it.
  child = spawn(process.execPath, ["--import", "tsx", "test/world/sandbox/main.ts"], {
    cwd: REPO,
    env: { ...process.env, TMPDIR: tmp, [TEST_RUN_ENV]: runId },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so a last-resort SIGKILL reaches every process it started, not just this one.
    detached: true,
  });
  exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  url = await waitFor(() => /Open (http:\/\/127\.0\.0\.1:\d+\/) in a browser/.exec(output)?.[1], 90_000, "the sandbox's URL");
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/setup-system.sh does)`);
  // The tests run as root here, and Chromium refuses to start as root with its sandbox on ("Running as root without
  // --no-sandbox is not supported"). Without it, only the page's renderer loses a layer; the page is ours, on 127.0.0.1.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  page = await browser.newPage({ viewport: { width: 1000, height: 1000 }, acceptDownloads: true });
  await page.goto(url);
  fs.mkdirSync(OUTPUT, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill("SIGINT");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      /* the group is gone already */
    }
  }
  for (const p of processesOfRun(runId)) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      /* gone meanwhile */
    }
  }
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function waitFor<T>(check: () => T | undefined | null | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (child.exitCode !== null) throw new Error(`the sandbox exited (${child.exitCode}) while waiting for ${what}:\n${output}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the sandbox printed:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Types a message into the composer and sends it with Enter, as a person would. */
async function type(text: string): Promise<void> {
  await page.fill("#composer-text", text);
  await page.press("#composer-text", "Enter");
}

/**
 * Records every text each bot message and each droplet status shows, as the page redraws them. Page code is a
 * string: this project type-checks for Node, without the DOM's types.
 */
const RECORD_REDRAWS = `(() => {
  window.versions = {};
  window.dropletStatuses = [];
  const record = () => {
    for (const m of document.querySelectorAll(".msg.bot[data-message-id]")) {
      const text = m.querySelector(".text")?.textContent ?? "";
      const seen = (window.versions[m.dataset.messageId] ??= []);
      if (seen.at(-1) !== text) seen.push(text);
    }
    for (const s of document.querySelectorAll("#droplets .status")) {
      if (!window.dropletStatuses.includes(s.textContent)) window.dropletStatuses.push(s.textContent);
    }
  };
  new MutationObserver(record).observe(document.body, { childList: true, subtree: true, characterData: true });
})()`;

it("torrent: paste a sample magnet, press Start, watch the card edit in place and the summary replace it, download the file by its link", async () => {
  const sample = page.locator('[data-sample="sandbox-video.mkv"]');
  const sha256 = (await sample.locator(".sha256").textContent())!.replace("SHA-256 ", "");
  await sample.getByRole("button", { name: "Paste magnet" }).click();
  expect(await page.inputValue("#composer-text")).toMatch(/^magnet:\?xt=urn:btih:[0-9a-f]{40}&dn=sandbox-video\.mkv/);
  await page.press("#composer-text", "Enter");
  const card = page.locator(".msg.bot", { hasText: "Press Start" });
  await card.waitFor({ timeout: 30_000 });
  const cardId = (await card.getAttribute("data-message-id"))!;
  await page.evaluate(RECORD_REDRAWS);
  await card.getByRole("button", { name: /Start/ }).click();

  // The card (same id, same place) goes through the phases; then one new message, the summary with the links,
  // takes its place and the card is deleted, so the chat shows the summary once.
  const summary = page.locator(".msg.bot", { has: page.locator(".text", { hasText: /^✅ sandbox-video\.mkv/ }) });
  await summary.waitFor({ timeout: 120_000 });
  await page.locator(`[data-message-id="${cardId}"]`).waitFor({ state: "detached", timeout: 15_000 });
  expect(await summary.count()).toBe(1);
  const versions = await page.evaluate<string[]>(`window.versions[${JSON.stringify(cardId)}] ?? []`);
  expect(versions.length, versions.join("\n---\n")).toBeGreaterThanOrEqual(4);
  expect(versions.some((v) => v.includes("▶️ Provisioning"))).toBe(true);
  expect(versions.some((v) => v.includes("All files"))).toBe(false);
  // Telegram renders <b>: the name is bold in the summary.
  expect(await summary.locator(".text b").first().textContent()).toBe("sandbox-video.mkv");

  // The side panel showed the droplet running and then destroyed.
  await page.locator("#droplets .status", { hasText: "destroyed" }).waitFor({ timeout: 15_000 });
  const statuses = await page.evaluate<string[]>("window.dropletStatuses");
  expect(statuses).toContain("active");
  expect(await page.locator("#droplets .tag").allTextContents()).toContain("dropship");

  // The file link opens in a new tab, which downloads the file: the bytes are the seeded file's.
  const fileLink = page.locator('.msg.bot a[href*="/sandbox-video.mkv"]').first();
  // The link opens a new tab, which closes when the download starts; Chromium reports the download on the chat's page.
  const downloaded = page.waitForEvent("download");
  await fileLink.click();
  const download = await downloaded;
  const bytes = fs.readFileSync((await download.path())!);
  expect(bytes.length).toBe(20 * 1024 * 1024);
  expect(createHash("sha256").update(bytes).digest("hex")).toBe(sha256);
  // Under Telegram's 50 MB the bot also sends the file as a document: the chat shows it with a download link.
  await page.locator(".msg.bot .document a", { hasText: "sandbox-video.mkv" }).waitFor({ timeout: 15_000 });
  await page.screenshot({ path: path.join(OUTPUT, "torrent.png"), fullPage: true });
}, 150_000);

it("playbook: upload one, see the analysis, run it on the sandbox's host, get the recap and the log", async () => {
  const playbook = Buffer.from(await (await fetch(new URL("/api/samples/playbooks/0", url))).arrayBuffer());
  expect(playbook.toString()).toContain("vars_prompt");
  await page.setInputFiles("#attach", { name: "hello.yml", mimeType: "application/x-yaml", buffer: playbook });
  const analysis = page.locator(".msg.bot", { hasText: "Playbook analysis" });
  await analysis.waitFor({ timeout: 30_000 });
  expect(await analysis.locator(".text").textContent()).toContain("ansible.posix");
  expect(await analysis.locator(".text b").count()).toBeGreaterThan(0);

  await analysis.getByRole("button", { name: /Run/ }).click();
  const which = page.locator(".msg.bot", { hasText: "which host should run hello.yml?" });
  await which.getByRole("button", { name: /sandbox-host/ }).click();
  await page.locator(".msg.bot", { hasText: "What should the file on the host say?" }).waitFor({ timeout: 30_000 });
  const greeting = `typed in a browser ${randomBytes(3).toString("hex")}`;
  await type(greeting);
  await page.locator(".msg.bot", { hasText: "A secret" }).waitFor({ timeout: 30_000 });
  const secret = `browser-secret-${randomBytes(6).toString("hex")}`;
  await type(secret);
  const approval = page.locator(".msg.bot", { hasText: /Run job #\d+\?/ });
  await approval.waitFor({ timeout: 30_000 });
  // The private answer was deleted from the chat the moment the bot read it, and the page dropped it too.
  await page.locator(".msg.user", { hasText: secret }).waitFor({ state: "detached", timeout: 10_000 });
  await approval.getByRole("button", { name: /Start/ }).click();

  const recap = page.locator(".msg.bot", { hasText: /Job #\d+ (done|failed)/ });
  await recap.waitFor({ timeout: 120_000 });
  expect(await recap.locator(".text").textContent()).toMatch(/Job #\d+ done/);
  await page.locator(".msg.bot .document a", { hasText: /^job-\d+-ansible\.txt$/ }).waitFor({ timeout: 30_000 });
  expect(await page.locator("#chat").textContent()).not.toContain(secret);
  // What the playbook did, seen on the host's disk (its /root lives in the sandbox's temp dir).
  const [worldDir] = fs.readdirSync(tmp).filter((n) => n.startsWith("dropship-e2e-"));
  expect(fs.readFileSync(path.join(tmp, worldDir!, "playbook-host", "root", "sandbox-greeting.txt"), "utf8")).toBe(`${greeting}\n`);
  // The side panel lists the venv the run built on that host (labelled user@address).
  const hostAddress = (await page.locator("#hosts .card .line").first().textContent())!.replace(/:22$/, "");
  await page.locator("#venvs .card", { hasText: `on ${hostAddress} · ready` }).first().waitFor({ timeout: 5000 });
  await page.screenshot({ path: path.join(OUTPUT, "playbook.png"), fullPage: true });
}, 150_000);

it("shows what the user types as text, never as markup", async () => {
  const hostile = `<b>not bold</b> <img src=x onerror="window.pwned=1"> & <script>window.pwned=2</script>`;
  await type(hostile);
  const mine = page.locator(".msg.user .text", { hasText: "not bold" }).last();
  await mine.waitFor({ timeout: 10_000 });
  expect(await mine.textContent()).toBe(hostile);
  expect(await page.locator("#chat img, #chat script, .msg.user .text b").count()).toBe(0);
  expect(await page.evaluate("window.pwned")).toBeUndefined();
});

it("Ctrl-C stops everything: exit 130, no process, network or temp dir left", async () => {
  const pid = child.pid!;
  child.kill("SIGINT");
  expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r("still running after 30 s"), 30_000))])).toBe(130);
  expect(output).toContain("Everything stopped");
  expect(processesOfRun(runId).filter(isWorldProcess).map((p) => `${p.pid} ${p.cmdline}`)).toEqual([]);
  const bridges = execFileSync("ip", ["-o", "link", "show", "type", "bridge"], { encoding: "utf8" });
  expect(bridges).not.toContain(`dropship-world pid=${pid} `);
  // tsx-<uid> is tsx's own compile cache (npm run sandbox runs through tsx), kept between runs on purpose.
  expect(fs.readdirSync(tmp).filter((n) => !/^tsx-\d+$/.test(n))).toEqual([]);
});

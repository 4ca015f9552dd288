// End to end: magnet / .torrent in the chat → card → Start → droplet, ansible, aria2, SFTP → links; droplet gone.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import {
  ALICE, BOB, BOT_TOKEN, DO_TOKEN, SIGNING_KEY, buttonData, dropletAria2RpcPort, isCard, lastMessageId, linksMessageOf, linksOf,
  nextBotMessage, startWorld, tcpReachable, type World,
} from "./harness.js";
import type { SentMessage } from "../world/fake-telegram.js";

let world: World;

beforeAll(async () => {
  world = await startWorld();
  await world.startApp();
}, 180_000);

afterAll(async () => {
  await world?.stop();
  // The world's bridge, namespaces and veths are gone with it.
  if (world) {
    const ours = (out: string) => out.split("\n").filter((l) => new RegExp(`\\b${world.net.bridge}[v-]?\\d*\\b`).test(l));
    expect(ours(execFileSync("ip", ["netns", "list"], { encoding: "utf8" }))).toEqual([]);
    expect(ours(execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" }))).toEqual([]);
  }
});

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

async function startFromCard(card: SentMessage): Promise<{ jobId: number; cardId: number }> {
  const data = buttonData(card, /Start/);
  world.telegram.pressButton(ALICE, card, data);
  return { jobId: Number(data.split(":").pop()), cardId: card.message_id };
}

async function waitForLinks({ jobId, cardId }: { jobId: number; cardId: number }, timeoutMs = 120_000): Promise<SentMessage> {
  return world.telegram.waitFor(
    () => {
      const job = world.app!.jobs.get(jobId);
      if (job?.state === "failed") throw new Error(`job failed: ${job.error}`);
      return linksMessageOf(world, ALICE.id, { jobId, cardId });
    },
    timeoutMs,
    "the links message",
  );
}

describe("a 50 MB single-file magnet", () => {
  it("goes from card to verified download links, with progress, cost and no droplet left", async () => {
    // Under Telegram's limits, like the rest of this file: the bot paces its messages and edits, so none is refused.
    const callsBefore = world.telegram.calls.length;
    const t = await world.swarm.addTorrent({ name: "big-file.bin", files: [{ path: "big-file.bin", size: 50 * 1024 * 1024 }] });
    const before = lastMessageId(world, ALICE.id);
    world.telegram.sendText(ALICE, `please get this ${t.magnet} thanks`);
    const card = await nextBotMessage(world, ALICE.id, before, isCard);
    expect(card.text).toContain("big-file.bin");
    expect(card.text).toContain("50 MiB");
    expect(card.text).toMatch(/s-1vcpu-1gb in fra1 · \$0\.0089\d*\/h/);
    expect(card.text).toMatch(/Estimate: ~.*about \$/);

    const started = await startFromCard(card);
    const jobId = started.jobId;

    // aria2's RPC listens on the droplet's own loopback: reachable inside the droplet, never from the bot's network
    // (neither its 127.0.0.1 nor the droplet's address) — the job can only drive it through the SSH tunnel.
    const droplet = await poll(() => world.digitalOcean.droplets().find((d) => d.tags.includes(`dropship-job-${jobId}`)), "the job's droplet");
    const rpcPort = await poll(async () => {
      const port = dropletAria2RpcPort(droplet);
      return port !== null && (await tcpReachable("127.0.0.1", port, droplet.netns.nsPath)) ? port : null;
    }, "aria2's RPC port listening on the droplet");
    expect(await tcpReachable("127.0.0.1", rpcPort)).toBe(false);
    expect(await tcpReachable(droplet.ip, rpcPort)).toBe(false);
    expect(await tcpReachable(droplet.ip, 22)).toBe(true);
    // aria2 came from cloud-init: the image lacks it, and the package step ran on the droplet.
    expect(fs.readFileSync(path.join(droplet.dir, "cloud-init.log"), "utf8")).toMatch(/Setting up aria2/);

    const links = await waitForLinks(started);
    expect(fs.existsSync(droplet.netns.nsPath)).toBe(false);
    expect(world.telegram.calls.slice(callsBefore).filter((c) => c.response?.error_code === 429)).toEqual([]);

    // One progress message, edited through the phases; the links message took its place (test/e2e/torrent-result.test.ts).
    await world.app!.presenter.idle();
    const progress = world.telegram.messages(ALICE.id).find((m) => m.message_id === card.message_id)!;
    const seen = [...progress.edits.map((e) => e.text), progress.text].join("\n---\n");
    // Not "Transferring": the file is pulled as soon as aria2 has it, so that phase can be over within one edit
    // interval (PROGRESS_EDIT_SECONDS) and never reach the card (test/bot/torrent-presenter.test.ts shows it).
    for (const phase of ["▶️ Creating droplet", "▶️ Provisioning", "▶️ Downloading"]) expect(seen).toContain(phase);
    // Provisioning says what it is doing (the venv check or a playbook task), from the events, not scraped text.
    expect(seen).toMatch(/Preparing Ansible: |Install aria2 and make the download directory/);
    expect(seen).not.toContain("All files");
    expect(progress.deleted).toBe(true);

    // The link serves the seeded bytes; a Range request the right slice.
    const urls = linksOf(links);
    const fileUrl = urls.find((u) => u.includes("big-file.bin"))!;
    const body = Buffer.from(await (await fetch(fileUrl)).arrayBuffer());
    expect(body.length).toBe(50 * 1024 * 1024);
    expect(sha256(body)).toBe(t.files[0]!.sha256);
    const range = await fetch(fileUrl, { headers: { Range: "bytes=1000-1999" } });
    expect(range.status).toBe(206);
    expect(Buffer.from(await range.arrayBuffer())).toEqual(body.subarray(1000, 2000));

    // Tampered and expired links are refused.
    const tampered = fileUrl.replace(/s=([^&]{4})/, "s=AAAA");
    expect((await fetch(tampered)).status).toBe(403);
    const expired = new URL(fileUrl);
    expired.searchParams.set("e", String(Math.floor(Date.now() / 1000) - 10));
    expect([403, 410]).toContain((await fetch(expired)).status);

    // The droplet is gone; the ledger has the job's actual cost (at least DigitalOcean's minimum charge).
    const app = world.app!;
    expect(world.digitalOcean.droplets().filter((d) => !d.destroyed && d.tags.includes(`dropship-job-${jobId}`))).toEqual([]);
    expect(app.ledger.forJob(jobId).map((d) => d.state)).toEqual(["destroyed"]);
    const spend = app.jobs.spendForJob(jobId);
    expect(spend.actual).toBeGreaterThanOrEqual(0.01);
    expect(app.jobs.get(jobId)!.state).toBe("done");
    expect(app.jobs.events(jobId).map((e) => e.state)).toEqual([
      "estimated", "approved", "droplet_requested", "droplet_active", "ssh_ready", "provisioned",
      "downloading", "downloaded", "transferring", "transferred", "droplet_destroyed", "done",
    ]);
    // The file is over Telegram's 50 MB upload limit for bots? 50 MiB is: it is only linked, not sent.
    expect(world.telegram.calls.filter((c) => c.method === "sendDocument")).toHaveLength(0);
    expect(links.text).toContain("Links only. Over 50 MB, a bot can only link.");
  }, 180_000); // a real job: provisioning alone takes 20–40 s on a busy shared machine
});

describe("a multi-file .torrent with nested folders and hostile names", () => {
  it("arrives with the structure kept, names made safe, small files also sent as documents", async () => {
    const t = await world.swarm.addTorrent({
      name: "Album «2026»",
      files: [
        { path: "CD 1/01 - intro.txt", content: "intro\n" },
        { path: "CD 1/-rf 'quoted' $(name).txt", content: "hostile\n" },
        { path: "CD 2/deep/er/track\u0007bell.txt", content: "bell\n" },
        { path: "cover.bin", size: 300_000 },
      ],
    });
    const before = lastMessageId(world, ALICE.id);
    world.telegram.sendDocument(ALICE, { fileName: "album.torrent", mimeType: "application/x-bittorrent", bytes: t.torrentFile });
    const card = await nextBotMessage(world, ALICE.id, before, isCard);
    expect(card.text).toContain("Album «2026»");
    expect(card.text).toContain("4 files");
    const started = await startFromCard(card);
    const jobId = started.jobId;
    const links = await waitForLinks(started);

    const root = path.join(world.dir, "data", "downloads", String(jobId));
    const files = listFiles(root).filter((f) => !f.startsWith("."));
    expect(files.sort()).toEqual(
      [
        "Album «2026»/CD 1/01 - intro.txt",
        "Album «2026»/CD 1/-rf 'quoted' $(name).txt",
        "Album «2026»/CD 2/deep/er/track%07bell.txt",
        "Album «2026»/cover.bin",
      ].sort(),
    );
    for (const f of files) expect(f).not.toMatch(/\p{Cc}|(^|\/)\.\.(\/|$)/u);
    expect(fs.readFileSync(path.join(root, "Album «2026»/CD 1/-rf 'quoted' $(name).txt"), "utf8")).toBe("hostile\n");
    expect(sha256(fs.readFileSync(path.join(root, "Album «2026»/cover.bin")))).toBe(t.files.find((f) => f.path.endsWith("cover.bin"))!.sha256);
    expect(linksOf(links).length).toBeGreaterThanOrEqual(5); // index + 4 files

    const docs = await world.telegram.waitFor(() => {
      const d = world.telegram.messages(ALICE.id).filter((m) => m.document && m.message_id > links.message_id);
      return d.length === 4 ? d : null;
    }, 20_000, "four documents");
    expect(docs.map((d) => d.document!.file_name).sort()).toEqual(["-rf 'quoted' $(name).txt", "01 - intro.txt", "cover.bin", "track%07bell.txt"].sort());
  }, 180_000);
});

describe("/venvs after torrents ran", () => {
  it("lists the pinned torrent venv; removing it is refused, and only the owner may try", async () => {
    let before = lastMessageId(world, ALICE.id);
    world.telegram.sendText(ALICE, "/venvs");
    const list = await nextBotMessage(world, ALICE.id, before, (m) => m.text.includes("local —"));
    const name = /dropship-[0-9a-f]{12}/.exec(list.text)![0];
    expect(list.text).toMatch(/pinned/);
    expect(list.text).toContain("community.digitalocean");

    before = lastMessageId(world, ALICE.id);
    world.telegram.sendText(ALICE, `/venvs remove ${name}`);
    const refused = await nextBotMessage(world, ALICE.id, before, (m) => m.text.startsWith("Not removed"));
    expect(refused.text).toMatch(/pinned/);

    before = lastMessageId(world, BOB.id);
    world.telegram.sendText(BOB, `/venvs remove ${name}`);
    await nextBotMessage(world, BOB.id, before, (m) => m.text === "Only the owner can remove virtualenvs.");
    expect(world.app!.db.prepare("SELECT status FROM venvs WHERE name = ?").pluck().get(name)).toBe("ready");
  });
});

describe("secrets", () => {
  it("never appear in the app's logs", () => {
    const all = world.logLines.join("\n");
    expect(world.logLines.length).toBeGreaterThan(10);
    for (const secret of [BOT_TOKEN, BOT_TOKEN.split(":")[1]!, DO_TOKEN, SIGNING_KEY, world.app!.botKey.privateKey.split("\n")[1]!]) {
      expect(all).not.toContain(secret);
    }
  });
});

async function poll<T>(check: () => T | null | undefined | Promise<T | null | undefined>, what: string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await check();
    if (v !== null && v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function listFiles(root: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(root, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(root, rel));
    else out.push(rel);
  }
  return out;
}

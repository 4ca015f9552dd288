// `npm run world`: starts the local world and the real app, plays a scripted chat and prints what the user would see.
import { createHash } from "node:crypto";
import { ALICE, DO_TOKEN, buttonData, isCard, lastMessageId, linksMessageOf, linksOf, nextBotMessage, startWorld, type World } from "../e2e/harness.js";
import type { ReplyMarkup, SentMessage } from "./fake-telegram.js";

const FILE_SIZE = 20 * 1024 * 1024;
const BOOT_DELAY_MS = 2000; // the fake droplet stays "new" this long, like a (very fast) real boot
const t0 = Date.now();
const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const stamp = () => dim(`[+${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s]`);
const say = (s: string) => process.stdout.write(`${stamp()} ${s}\n`);
const indent = (s: string) => s.split("\n").map((l) => `             │ ${l}`).join("\n");

/** Prints every bot message, edit and button popup in Alice's chat as it happens, the way her Telegram shows it. */
function watchChat(world: World): { flush(): void; stop(): void } {
  const shown = new Map<number, Version[]>();
  let popupsSeen = 0;
  const flush = () => {
    for (const m of world.telegram.messages(ALICE.id)) {
      const versions: Version[] = [...m.edits.map((e) => ({ text: e.text, markup: e.reply_markup })), { text: m.text, markup: m.reply_markup }];
      const seen = shown.get(m.message_id)?.length ?? 0;
      for (let i = seen; i < versions.length; i++) printVersion(m, versions[i]!, versions[i - 1]);
      shown.set(m.message_id, versions);
    }
    for (const a of world.telegram.answeredCallbacks.slice(popupsSeen)) if (a.text) say(`🤖 ${bold("popup")}: ${a.text}`);
    popupsSeen = world.telegram.answeredCallbacks.length;
  };
  const timer = setInterval(flush, 100);
  return { flush, stop: () => clearInterval(timer) };
}

type Version = { text: string; markup: ReplyMarkup | undefined };

/** A new message in full; an edit as only the lines it changed (Telegram redraws it in place). */
function printVersion(m: SentMessage, v: Version, previous: Version | undefined): void {
  if (m.document) {
    say(`🤖 ${bold("Bot sends a file")}: 📎 ${m.document.file_name} (${(m.document.file_size / 1048576).toFixed(1)} MiB)`);
    return;
  }
  say(`🤖 ${bold(previous ? `Bot edits message #${m.message_id}, changing:` : `Bot (message #${m.message_id}):`)}`);
  const unchanged = new Map<string, number>();
  for (const l of previous?.text.split("\n") ?? []) unchanged.set(l, (unchanged.get(l) ?? 0) + 1);
  for (const line of v.text.split("\n")) {
    const n = unchanged.get(line) ?? 0;
    if (n > 0) unchanged.set(line, n - 1);
    else if (line.trim() || !previous) console.log(indent(line));
  }
  const buttons = buttonsOf(v.markup);
  if (previous ? buttons !== buttonsOf(previous.markup) : buttons) console.log(indent(buttons || dim("(buttons removed)")));
  if (!previous) for (const [label, url] of textLinks(m)) console.log(indent(`🔗 ${label}: ${url}`));
}

const buttonsOf = (markup: ReplyMarkup | undefined) =>
  ((markup as { inline_keyboard?: { text: string }[][] } | undefined)?.inline_keyboard ?? []).map((row) => row.map((b) => `[${b.text}]`).join(" ")).join("\n");

const textLinks = (m: SentMessage): [string, string][] =>
  m.entities.filter((e) => e.type === "text_link").map((e) => [m.text.slice(e.offset, e.offset + e.length), (e as { url: string }).url]);

function userSays(text: string): void {
  say(`👤 ${bold("Alice")}: ${text}`);
}

async function main(worldP: Promise<World>): Promise<number> {
  console.log(bold("Dropship local world demo") + dim(" — everything below runs on this machine, on 127.0.0.x only.\n"));
  say("Starting the world: fake Telegram Bot API, fake DigitalOcean API (each droplet is a real sshd on its own 127.0.0.N),");
  say("a BitTorrent swarm (opentracker + aria2 seeder), a local PyPI index and Ansible collection tarballs …");
  const world = await worldP;
  say(`Starting the real app (bot, job runner, download server) against it …`);
  const app = await world.startApp({ PROGRESS_EDIT_SECONDS: "1" });
  say(`Ready. Download server on 127.0.0.1:${app.webPort}; droplets boot in ${BOOT_DELAY_MS / 1000} s.`);
  say(`Generating a ${FILE_SIZE / 1048576} MiB file and seeding it in the swarm …`);
  const t = await world.swarm.addTorrent({ name: "holiday-video.mkv", files: [{ path: "holiday-video.mkv", size: FILE_SIZE }] });
  say(`Seeded "${t.name}" (SHA-256 ${t.files[0]!.sha256.slice(0, 16)}…). Now Alice opens her chat with the bot.\n`);

  const chat = watchChat(world);
  try {
    let before = lastMessageId(world, ALICE.id);
    userSays("/start");
    world.telegram.sendText(ALICE, "/start");
    await nextBotMessage(world, ALICE.id, before, () => true);
    await pause(300);

    before = lastMessageId(world, ALICE.id);
    userSays(`could you fetch this? ${t.magnet}`);
    world.telegram.sendText(ALICE, `could you fetch this? ${t.magnet}`);
    const card = await nextBotMessage(world, ALICE.id, before, isCard);
    await pause(1500);

    const start = buttonData(card, /Start/);
    const jobId = Number(start.split(":").pop());
    userSays("(presses [Start])");
    world.telegram.pressButton(ALICE, card, start);
    const job = await world.telegram.waitFor(() => {
      const j = app.jobs.get(jobId);
      return j && ["done", "failed", "cancelled"].includes(j.state) ? j : null;
    }, 180_000, "the job to finish");
    await app.presenter.idle();
    await pause(500);
    chat.flush();
    if (job.state !== "done") {
      if (!stopping) say(`The job ended ${job.state}${job.error ? `: ${job.error}` : ""}.`);
      return 1;
    }
    const links = linksMessageOf(world, ALICE.id, { jobId, cardId: card.message_id });
    const fileUrl = linksOf(links ?? card).find((u) => u.includes(encodeURIComponent(t.name)) || u.includes(t.name));

    before = lastMessageId(world, ALICE.id);
    userSays("/jobs");
    world.telegram.sendText(ALICE, "/jobs");
    await nextBotMessage(world, ALICE.id, before, () => true);
    await pause(300);
    chat.flush();
    chat.stop();

    console.log();
    if (!fileUrl) throw new Error("the links message has no link to the file");
    say(`Fetching the file link like Alice's browser would: GET ${fileUrl.slice(0, 60)}…`);
    const res = await fetch(fileUrl);
    const body = Buffer.from(await res.arrayBuffer());
    const sha = createHash("sha256").update(body).digest("hex");
    const ok = res.ok && sha === t.files[0]!.sha256;
    say(`HTTP ${res.status}, ${body.length} bytes, SHA-256 ${sha.slice(0, 16)}… ${ok ? "✅ matches the seeded file" : "❌ does NOT match the seeded file"}`);
    const api = await fetch(`${world.digitalOcean.url}/droplets?tag_name=dropship`, { headers: { Authorization: `Bearer ${DO_TOKEN}` } });
    const listed = ((await api.json()) as { droplets: unknown[] }).droplets.length;
    const calls = (method: string, re: RegExp) => world.digitalOcean.requests.filter((r) => r.method === method && re.test(r.path) && r.status < 300).length;
    say(`Fake DigitalOcean: ${calls("POST", /\/droplets$/)} droplet created, ${calls("DELETE", /\/droplets\/\d+$/)} destroyed; GET /v2/droplets?tag_name=dropship lists ${listed} ${listed === 0 ? "✅" : "❌"}`);
    const spend = app.jobs.spendForJob(jobId);
    say(`Spend ledger for job ${jobId}: estimated $${spend.estimate?.toFixed(4) ?? "?"}, actual $${spend.actual?.toFixed(4) ?? "?"} (DigitalOcean's minimum charge applies).`);
    return ok && listed === 0 ? 0 : 1;
  } finally {
    chat.stop();
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

const worldP = startWorld({ activeDelayMs: BOOT_DELAY_MS });
let stopping: Promise<void> | null = null;
function stopAndExit(code: number): Promise<void> {
  return (stopping ??= (async () => {
    say("Stopping: the app cancels any running job (destroying its droplet), then the world shuts down …");
    const world = await worldP.catch(() => null);
    await world?.stop();
    say("Everything stopped, temp files removed. Bye!");
    process.exit(code);
  })());
}
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    if (stopping) {
      say("Second interrupt: exiting without waiting for clean-up.");
      process.exit(130);
    }
    console.log();
    void stopAndExit(130);
  });
}

main(worldP).then(
  (code) => stopAndExit(code),
  (err: unknown) => {
    if (!stopping) say(`Demo failed: ${(err as Error).stack ?? String(err)}`);
    return stopAndExit(1);
  },
);

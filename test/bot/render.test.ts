import { describe, expect, it } from "vitest";
import {
  escapeHtml,
  fitMessage,
  formatBytes,
  formatDuration,
  formatPercent,
  formatSpeed,
  formatUsd,
  progressBar,
  MAX_DOCUMENTS,
  pickDocuments,
  renderCancelled,
  renderCardPointer,
  renderDeliveryLine,
  renderFailure,
  renderTorrentCard,
  renderTorrentDone,
  renderTorrentProgress,
  shortenMiddle,
  visibleLength,
} from "../../src/bot/render/index.js";

/** Checks that Telegram would parse `html`: every tag closed in order, only its four named entities, no stray '<' or '&'. */
function expectBalancedHtml(html: string): void {
  const stack: string[] = [];
  for (const m of html.matchAll(/<\/?([a-z-]+)[^>]*>|&([#\w]*);?|[<>]/gi)) {
    const t = m[0];
    if (t === "<" || t === ">") throw new Error(`stray ${t} in ${html.slice(Math.max(0, m.index - 20), m.index + 20)}`);
    if (t.startsWith("&")) {
      expect(t, "entity").toMatch(/^&(lt|gt|amp|quot|#\d+);$/);
    } else if (t.startsWith("</")) {
      expect(stack.pop(), `closing ${t}`).toBe(m[1]);
    } else stack.push(m[1]!);
  }
  expect(stack, "unclosed tags").toEqual([]);
}

describe("formatters", () => {
  it("formats bytes in binary units", () => {
    expect([0, 1023, 1536, 52_428_800, 734_003_200, 6_098_853_068].map(formatBytes)).toEqual([
      "0 B",
      "1023 B",
      "1.5 KiB",
      "50 MiB",
      "700 MiB",
      "5.68 GiB",
    ]);
    expect(formatSpeed(1_310_720)).toBe("1.25 MiB/s");
    expect(formatBytes(Number.NaN)).toBe("?");
  });

  it("formats durations with two units at most", () => {
    expect([0, 5, 59.6, 65, 3720, 97_200].map(formatDuration)).toEqual(["0s", "5s", "1m 00s", "1m 05s", "1h 02m", "1d 3h"]);
    expect(formatDuration(-1)).toBe("?");
  });

  it("formats dollars, keeping fractions of a cent", () => {
    expect([1.5, 12, 0.5, 0.012, 0.01, 0.00893, 0.00001, 0].map(formatUsd)).toEqual([
      "$1.50",
      "$12.00",
      "$0.50",
      "$0.012",
      "$0.01",
      "$0.0089",
      "<$0.0001",
      "$0.00",
    ]);
  });

  it("draws a progress bar rounded down, so a full bar means done", () => {
    expect(progressBar(0.42)).toBe("▓▓▓▓▓░░░░░░░");
    expect(progressBar(0.42, 10)).toBe("▓▓▓▓░░░░░░");
    expect(progressBar(0.999)).toBe("▓▓▓▓▓▓▓▓▓▓▓░");
    expect(progressBar(1)).toBe("▓▓▓▓▓▓▓▓▓▓▓▓");
    expect(progressBar(-3)).toBe("░░░░░░░░░░░░");
    expect(progressBar(Number.NaN)).toBe("░░░░░░░░░░░░");
    expect([0.42, 0.999, 1, 7].map(formatPercent)).toEqual(["42%", "99%", "100%", "100%"]);
  });

  it("shortens long names in the middle, keeping the extension", () => {
    expect(shortenMiddle("short.mkv", 20)).toBe("short.mkv");
    expect(shortenMiddle("A.Very.Long.Release.Name.2160p.mkv", 20)).toBe("A.Very.Long.R…0p.mkv");
    expect(Array.from(shortenMiddle("文".repeat(50), 20))).toHaveLength(20);
  });
});

describe("Telegram HTML", () => {
  it("escapes what Telegram's HTML mode needs", () => {
    expect(escapeHtml(`<a href="x">&amp;</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;amp;&lt;/a&gt;");
  });

  it("measures visible length: tags count nothing, entities one", () => {
    expect(visibleLength("<b>a&amp;b</b>")).toBe(3);
    expect(visibleLength('<a href="https://x/y?a=1&amp;b=2">z</a>')).toBe(1);
  });

  it("cuts only between tokens and closes open tags", () => {
    expect(fitMessage("<b>abc</b>", 10)).toBe("<b>abc</b>");
    expect(fitMessage("<b>&lt;&lt;&lt;&lt;</b>", 3)).toBe("<b>&lt;&lt;…</b>");
    expect(fitMessage('<i>x <a href="u">link text</a></i>', 5)).toBe('<i>x <a href="u">li…</a></i>');
    expect(fitMessage("ab😀cd", 4)).toBe("ab…");
    for (let limit = 1; limit < 40; limit++) {
      const out = fitMessage('<b>bold &amp; <i>it&lt;al</i></b> <code>x&gt;y</code> <a href="h?a&amp;b">l</a> tail', limit);
      expect(visibleLength(out)).toBeLessThanOrEqual(limit);
      expectBalancedHtml(out);
    }
  });
});

describe("torrent card", () => {
  it("shows name, size, droplet, estimate and its breakdown, escaping user text", () => {
    const { text } = renderTorrentCard({
      name: "Big <Buck> & Bunny",
      sizeBytes: 52_428_800,
      fileCount: 1,
      infoHash: "c9e15763f722f23e98a29decdfae341b98d53056",
      sizeSlug: "s-1vcpu-1gb",
      region: "fra1",
      priceHourlyUsd: 0.00893,
      estimate: {
        seconds: 150,
        usd: 0.01,
        breakdown: [
          { label: "boot", seconds: 60 },
          { label: "metadata", seconds: 30 },
          { label: "download", seconds: 1 },
          { label: "transfer", seconds: 2 },
          { label: "nothing", seconds: 0 },
        ],
      },
    });
    expect(text).toBe(
      [
        "🧲 <b>Big &lt;Buck&gt; &amp; Bunny</b>",
        "<code>c9e15763f722f23e98a29decdfae341b98d53056</code>",
        "Size: 50 MiB · 1 file",
        "Droplet: <code>s-1vcpu-1gb</code> in <code>fra1</code> · $0.0089/h",
        "Estimate: ~2m 30s, about <b>$0.01</b>",
        "<i>boot 1m 00s · metadata 30s · download 1s · transfer 2s</i>",
        "",
        "Press <b>Start</b> to rent the droplet, or <b>Cancel</b>.",
      ].join("\n"),
    );
    expectBalancedHtml(text);
  });

  it("says so when the size is unknown and estimates per GB", () => {
    const { text } = renderTorrentCard({
      name: null,
      sizeBytes: null,
      sizeSlug: "s-1vcpu-1gb",
      region: "fra1",
      priceHourlyUsd: 0.00893,
      estimate: { seconds: null, usd: null, usdPerGb: 0.0004, secondsPerGb: 25, breakdown: [] },
      notes: ["Over your per-job budget <$1>"],
    });
    expect(text).toBe(
      [
        "🧲 <b>Unnamed torrent</b>",
        "Size: unknown until the metadata arrives",
        "Droplet: <code>s-1vcpu-1gb</code> in <code>fra1</code> · $0.0089/h",
        "Estimate: size unknown, about <b>$0.0004</b> per GB, ~25s per GB",
        "⚠️ Over your per-job budget &lt;$1&gt;",
        "",
        "Press <b>Start</b> to rent the droplet, or <b>Cancel</b>.",
      ].join("\n"),
    );
  });

  it("says so when the droplet size has no price", () => {
    const { text } = renderTorrentCard({
      name: "x",
      sizeBytes: 10,
      sizeSlug: "s-weird",
      region: "fra1",
      priceHourlyUsd: null,
      estimate: { seconds: null, usd: null, breakdown: [] },
    });
    expect(text).toContain("Droplet: <code>s-weird</code> in <code>fra1</code> · price unknown\nEstimate: not possible");
  });

  it("stays within the limit with an absurd name", () => {
    const { text } = renderTorrentCard({
      name: "&<>".repeat(5000),
      sizeBytes: 1,
      sizeSlug: "s",
      region: "r",
      priceHourlyUsd: 1,
      estimate: { seconds: 1, usd: 1, breakdown: [] },
      notes: ["<".repeat(5000)],
    });
    expect(visibleLength(text)).toBeLessThanOrEqual(4096);
    expectBalancedHtml(text);
  });
});

describe("torrent progress", () => {
  it("draws the phases, the bar, sizes, speed, ETA, peers and cost", () => {
    const { text } = renderTorrentProgress({
      phase: "downloading",
      name: "Big <Buck>",
      download: { completedBytes: 220_200_960, totalBytes: 524_288_000, speedBytesPerSecond: 12_897_485, etaSeconds: 24, seeders: 3, peers: 7 },
      costSoFarUsd: 0.0031,
      elapsedSeconds: 130,
    });
    expect(text).toBe(
      [
        "⏬ <b>Big &lt;Buck&gt;</b>",
        "",
        "✅ Creating droplet",
        "✅ Booting",
        "✅ Provisioning",
        "✅ Fetching metadata",
        "▶️ Downloading",
        "<code>▓▓▓▓▓░░░░░░░</code> 42%",
        "210 MiB of 500 MiB · 12.3 MiB/s · ETA 24s",
        "Seeders 3 · peers 7",
        "▫️ Transferring",
        "▫️ Cleaning up",
        "",
        "Elapsed 2m 10s · cost so far $0.0031",
      ].join("\n"),
    );
  });

  it("shows the current phase's detail and the transfer by file", () => {
    const provisioning = renderTorrentProgress({
      phase: "provisioning",
      name: null,
      detail: "Install <aria2>",
      costSoFarUsd: 0,
      elapsedSeconds: 40,
    }).text;
    expect(provisioning).toContain("✅ Booting\n▶️ Provisioning\n<i>Install &lt;aria2&gt;</i>\n▫️ Fetching metadata");
    const transferring = renderTorrentProgress({
      phase: "transferring",
      name: "n",
      transfer: { completedBytes: 1024, totalBytes: 4096, speedBytesPerSecond: 2048, filesDone: 1, filesTotal: 3 },
      costSoFarUsd: 0.01,
      elapsedSeconds: 400,
    }).text;
    expect(transferring).toContain(
      "✅ Downloading\n▶️ Transferring\n<code>▓▓▓░░░░░░░░░</code> 25%\n1 KiB of 4 KiB · 2 KiB/s\nFile 2 of 3\n▫️ Cleaning up",
    );
  });

  it("shows an attached volume and its price under the phases", () => {
    const { text } = renderTorrentProgress({ phase: "downloading", name: "n", costSoFarUsd: 0.02, elapsedSeconds: 90, volume: { sizeGib: 120, priceHourly: 12 / 672 } });
    expect(text).toContain("▫️ Cleaning up\n\n💾 120 GiB volume attached ($0.0179/h, in the cost); it goes with the droplet.\n\nElapsed");
  });

  it("counts, while downloading, the files already pulled to the bot", () => {
    const download = { completedBytes: 3072, totalBytes: 4096, speedBytesPerSecond: 1024, etaSeconds: 1, seeders: 1, peers: 1 };
    const transfer = { completedBytes: 1024, totalBytes: 4096, speedBytesPerSecond: 2048, filesDone: 2, filesTotal: 5 };
    const early = renderTorrentProgress({ phase: "downloading", name: "n", download, transfer, costSoFarUsd: 0, elapsedSeconds: 9 }).text;
    expect(early).toContain("Seeders 1 · peers 1\n📥 2 of 5 files already saved by the bot\n▫️ Transferring");
    const none = renderTorrentProgress({ phase: "downloading", name: "n", download, transfer: { ...transfer, filesDone: 0 }, costSoFarUsd: 0, elapsedSeconds: 9 }).text;
    expect(none).not.toContain("already saved");
  });

  it("shows bytes without a bar while the total is unknown", () => {
    const { text } = renderTorrentProgress({
      phase: "downloading",
      name: "n",
      download: { completedBytes: 0, totalBytes: 0, speedBytesPerSecond: 0, etaSeconds: null, seeders: 0, peers: 0 },
      costSoFarUsd: 0,
      elapsedSeconds: 0,
    });
    expect(text).toContain("▶️ Downloading\n0 B · 0 B/s\nSeeders 0 · peers 0\n");
  });
});

describe("torrent done", () => {
  const file = (i: number) => ({
    path: `Season 1/Episode ${i} <HD> & more.mkv`,
    sizeBytes: 1_073_741_824 + i,
    url: `https://files.example.com/d/17/Season%201/Episode%20${i}%20%3CHD%3E%20%26%20more.mkv?e=1700000000&s=${"x".repeat(43)}`,
  });

  it("links every file when they fit, with cost, duration and expiry, marking the one that follows as a document", () => {
    const { text } = renderTorrentDone({
      name: "Show <S01>",
      files: [{ ...file(1), asDocument: true }, file(2)],
      indexUrl: "https://files.example.com/d/17/?e=1700000000&s=abc",
      usd: 0.004,
      seconds: 372,
      expiresAt: new Date("2025-01-02T10:00:30Z"),
      documentLimitBytes: 2000 * 1000 * 1000,
    });
    expect(text).toBe(
      [
        "✅ <b>Show &lt;S01&gt;</b>",
        "2 files, 2 GiB · took 6m 12s · cost <b>$0.004</b>",
        "",
        '📁 <a href="https://files.example.com/d/17/?e=1700000000&amp;s=abc">All files</a>',
        `📎 <a href="${escapeHtml(file(1).url)}">Season 1/Episode 1 &lt;HD&gt; &amp; more.mkv</a> · 1 GiB`,
        `• <a href="${escapeHtml(file(2).url)}">Season 1/Episode 2 &lt;HD&gt; &amp; more.mkv</a> · 1 GiB`,
        "",
        "Links expire 2025-01-02 10:00 UTC.",
        "📎 1 of 2 files also follow as documents; the others only as links.",
        "The droplet is gone.",
      ].join("\n"),
    );
    expectBalancedHtml(text);
  });

  it("splits the cost into droplet and volume when a volume was attached", () => {
    const { text } = renderTorrentDone({ name: "x", indexUrl: "https://i", usd: 0.0215, seconds: 60, files: [file(1)], volume: { sizeGib: 2, usd: 0.01 } });
    expect(text).toContain("1 file, 1 GiB · took 1m 00s · cost <b>$0.0215</b> (droplet $0.0115 + 2 GiB volume $0.01)");
  });

  it("says why files are only linked: over the upload limit, or the user chose links (then nothing)", () => {
    const base = { name: "x", indexUrl: "https://i", usd: 0, seconds: 1 };
    const over = renderTorrentDone({ ...base, files: [file(1)], documentLimitBytes: 50_000_000 }).text;
    expect(over).toContain("\nLinks only. Over 50 MB, a bot can only link.\n");
    const all = renderTorrentDone({ ...base, files: [{ ...file(1), asDocument: true }, { ...file(2), asDocument: true }], documentLimitBytes: 2_000_000_000 }).text;
    expect(all).toContain("\n📎 All 2 files also follow as documents.\n");
    const chosen = renderTorrentDone({ ...base, files: [file(1)], documentLimitBytes: null }).text;
    expect(chosen).not.toMatch(/document|Links only/);
  });

  it("truncates a long file list with '… and N more', balanced and within 4096 characters", () => {
    const files = Array.from({ length: 500 }, (_, i) => file(i));
    const { text } = renderTorrentDone({ name: "Big", files, indexUrl: "https://files.example.com/d/17/?e=1&s=y", usd: 0.5, seconds: 3600 });
    expect(visibleLength(text)).toBeLessThanOrEqual(4096);
    expect(visibleLength(text)).toBeGreaterThan(3900);
    expectBalancedHtml(text);
    const shown = text.split("\n").filter((l) => l.startsWith("• ")).length;
    expect(shown).toBeGreaterThan(50);
    expect(text).toContain(`\n… and ${500 - shown} more on the index page\n`);
    expect(text.endsWith("The droplet is gone.")).toBe(true);
  });

  it("obeys a smaller limit too", () => {
    const { text } = renderTorrentDone({ name: "Big", files: [file(1), file(2), file(3)], indexUrl: "https://i", usd: 0, seconds: 1 }, 200);
    expect(visibleLength(text)).toBeLessThanOrEqual(200);
    expect(text).toContain("… and 1 more on the index page");
    expectBalancedHtml(text);
  });
});

describe("documents in the chat", () => {
  const on = { sendsDocuments: true, limitBytes: 50_000_000 };

  it("picks the first files within the limit, skips empty ones, and at most MAX_DOCUMENTS", () => {
    expect(pickDocuments([10, 60_000_000, 0, 50_000_000], on)).toEqual([0, 3]);
    expect(pickDocuments([10, 20], { ...on, sendsDocuments: false })).toEqual([]);
    expect(pickDocuments([60_000_000], { ...on, limitBytes: 2_000_000_000 })).toEqual([0]);
    expect(pickDocuments(Array.from({ length: 25 }, () => 5), on)).toHaveLength(MAX_DOCUMENTS);
  });

  it("tells on the card which files arrive in the chat and which only as links", () => {
    const files = [
      { path: "CD 1/song <1>.flac", sizeBytes: 30_000_000 },
      { path: "video.mkv", sizeBytes: 120_000_000 },
    ];
    expect(renderDeliveryLine({ files, totalBytes: 150_000_000 }, on)).toBe("📎 In this chat too: song &lt;1&gt;.flac. Only as links (over 50 MB): video.mkv.");
    expect(renderDeliveryLine({ files, totalBytes: 150_000_000 }, { ...on, limitBytes: 2_000_000_000 })).toBe("📎 All 2 files also arrive in this chat as documents.");
    expect(renderDeliveryLine({ files: [files[1]!], totalBytes: null }, on)).toBe("📎 Links only: the file is over the 50 MB a bot may send.");
    expect(renderDeliveryLine({ files, totalBytes: null }, { ...on, sendsDocuments: false })).toMatch(/^📎 Download links only \(\/files on/);
    const many = Array.from({ length: 12 }, (_, i) => ({ path: `f${i}`, sizeBytes: i < 3 ? 99_000_000 : 1 }));
    expect(renderDeliveryLine({ files: many, totalBytes: null }, on)).toBe("📎 In this chat too: 9 of 12 files (up to 50 MB each, at most 10); the rest only as links.");
    // A magnet: only its total size may be known.
    expect(renderDeliveryLine({ files: null, totalBytes: 1_000_000 }, on)).toMatch(/^📎 Its files also arrive in this chat as documents/);
    expect(renderDeliveryLine({ files: null, totalBytes: null }, { ...on, limitBytes: 2_000_000_000 })).toBe(
      "📎 Files up to 2000 MB also arrive in this chat as documents (at most 10); larger ones only as links.",
    );
  });

  it("puts the line on the card under the estimate", () => {
    const { text } = renderTorrentCard({
      name: "x",
      sizeBytes: 10,
      sizeSlug: "s",
      region: "r",
      priceHourlyUsd: 1,
      estimate: { seconds: 1, usd: 1, breakdown: [] },
      delivery: "📎 The file also arrives in this chat as a document.",
    });
    expect(text).toContain("Estimate: ~1s, about <b>$1.00</b>\n📎 The file also arrives in this chat as a document.\n\nPress");
  });

  it("points a card Telegram would not delete at the result, in one line", () => {
    expect(renderCardPointer("done", "A <b>").text).toBe("✅ <b>A &lt;b&gt;</b>: done, the links are in the message below.");
    expect(renderCardPointer("failed", null).text).toBe("❌ <b>Unnamed torrent</b> failed: the reason is in the message below.");
  });
});

describe("failure and cancel", () => {
  it("says what failed, what to try, what was cleaned up and the cost", () => {
    const { text } = renderFailure({
      name: "Dead <torrent>",
      reason: "No seeders answered within 5m 00s.",
      hint: "Try a torrent with seeders, or raise TORRENT_STALL_TIMEOUT_SECONDS.",
      cleanup: "The droplet is destroyed.",
      usd: 0.002,
      seconds: 310,
    });
    expect(text).toBe(
      [
        "❌ <b>Dead &lt;torrent&gt;</b> failed",
        "No seeders answered within 5m 00s.",
        "💡 Try a torrent with seeders, or raise TORRENT_STALL_TIMEOUT_SECONDS.",
        "",
        "The droplet is destroyed. It cost $0.002 for 5m 10s.",
      ].join("\n"),
    );
    expect(renderFailure({ name: null, reason: "a & b" }).text).toBe("❌ <b>Job</b> failed\na &amp; b");
  });

  it("renders a cancellation", () => {
    expect(renderCancelled({ name: "x", createdNothing: true }).text).toBe(
      "🛑 <b>x</b> cancelled\nNothing was created and nothing was charged.",
    );
    expect(
      renderCancelled({ name: "x", createdNothing: false, cleanup: "The droplet is destroyed and partial files are removed.", usd: 0.001, seconds: 95 }).text,
    ).toBe("🛑 <b>x</b> cancelled\nThe droplet is destroyed and partial files are removed. It cost $0.001 for 1m 35s.");
  });
});

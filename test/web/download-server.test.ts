import { createHash, randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/shared/logger.js";
import { createDownloadServer, type DownloadServer } from "../../src/web/download-server.js";
import { markDelivered } from "../../src/web/retention-sweeper.js";
import { createLinkSigner } from "../../src/web/link-signer.js";

const KEY = "test-signing-key-0123456789abcdef0123456789";
const TTL_MS = 3_600_000;
const UNICODE = "nested/dir/ünïcødé 文件 \"q\" 100%.txt";

let root: string;
let server: DownloadServer;
let base: string;
let clock = 1_700_000_000_000;
const logLines: string[] = [];
const big = randomBytes(3 * 1024 * 1024 + 17);

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), "dropship-web-"));
  const job = path.join(root, "42");
  await fs.mkdir(path.join(job, "nested/dir"), { recursive: true });
  await fs.writeFile(path.join(job, "big.bin"), big);
  await fs.writeFile(path.join(job, UNICODE), "unicode bytes\n");
  await fs.writeFile(path.join(job, "<img src=x onerror=alert(1)>.txt"), "x");
  await fs.writeFile(path.join(job, ".nfo"), "dotfile");
  await fs.mkdir(path.join(root, "43"));
  await fs.writeFile(path.join(root, "43", "secret.txt"), "job 43 only");
  await fs.writeFile(path.join(root, "outside.txt"), "not in any job");
  await fs.symlink(path.join(root, "43", "secret.txt"), path.join(job, "link.txt"));
  await fs.symlink(path.join(root, "43"), path.join(job, "linkdir"));
  await markDelivered(root, 42);
  const logger = createLogger({ level: "trace", destination: { write: (s: string) => void logLines.push(s) } });
  server = createDownloadServer({
    filesRoot: root,
    publicBaseUrl: "http://placeholder.invalid/",
    signingKey: KEY,
    linkTtlMs: TTL_MS,
    logger,
    now: () => clock,
  });
  const { port } = await server.listen("127.0.0.1", 0);
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await server?.close();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

/** A signed link aimed at the test server (the public base URL is only used to build links). */
function local(url: string): string {
  return url.replace("http://placeholder.invalid", base);
}

function link(jobId: string | number, relPath: string): string {
  const l = server.signJobLinks(jobId, [relPath]).files[0];
  if (!l) throw new Error("no link");
  return local(l.url);
}

/** Sends the path exactly as written: fetch would normalise '..' and '%2e%2e' before they reach the server. */
function raw(pathAndQuery: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}/`, { path: pathAndQuery, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end();
  });
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("download server", () => {
  it("answers /healthz", async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok\n");
  });

  it("serves the full file with the same SHA-256, as an attachment, with validators", async () => {
    const res = await fetch(link(42, "big.bin"));
    expect(res.status).toBe(200);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(big));
    expect(res.headers.get("content-length")).toBe(String(big.length));
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="big.bin"');
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(res.headers.get("etag")).toMatch(/^W\/"/);
    expect(res.headers.get("last-modified")).toBeTruthy();
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("returns the exact slice for a Range request, and 416 for an unsatisfiable one", async () => {
    const url = link(42, "big.bin");
    const res = await fetch(url, { headers: { Range: "bytes=1000-1999" } });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe(`bytes 1000-1999/${big.length}`);
    expect(Buffer.from(await res.arrayBuffer()).equals(big.subarray(1000, 2000))).toBe(true);

    const tail = await fetch(url, { headers: { Range: "bytes=-17" } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(big.subarray(big.length - 17))).toBe(true);

    const bad = await fetch(url, { headers: { Range: `bytes=${big.length + 10}-` } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get("content-range")).toBe(`bytes */${big.length}`);
    await bad.arrayBuffer();
  });

  it("answers HEAD with the headers and no body", async () => {
    const res = await fetch(link(42, "big.bin"), { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(big.length));
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it("honours If-None-Match and If-Modified-Since", async () => {
    // Raw requests: fetch adds "Cache-Control: no-cache" to conditional requests, which rightly defeats them.
    const url = new URL(link(42, "big.bin"));
    const first = await fetch(url, { method: "HEAD" });
    const pathAndQuery = url.pathname + url.search;
    const byEtag = await raw(pathAndQuery, { "If-None-Match": first.headers.get("etag") ?? "" });
    expect(byEtag).toEqual({ status: 304, body: "" });
    const byDate = await raw(pathAndQuery, { "If-Modified-Since": first.headers.get("last-modified") ?? "" });
    expect(byDate.status).toBe(304);
    const stale = await raw(pathAndQuery, { "If-None-Match": '"something-else"' });
    expect(stale.status).toBe(200);
  });

  it("serves unicode names with an RFC 5987 filename", async () => {
    const res = await fetch(link(42, UNICODE));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("unicode bytes\n");
    const cd = res.headers.get("content-disposition") ?? "";
    expect(cd).toBe(
      `attachment; filename="unic_de __ _q_ 100_.txt"; ` +
        "filename*=UTF-8''%C3%BCn%C3%AFc%C3%B8d%C3%A9%20%E6%96%87%E4%BB%B6%20%22q%22%20100%25.txt",
    );
    const star = /filename\*=UTF-8''(.+)$/.exec(cd)?.[1] ?? "";
    expect(decodeURIComponent(star)).toBe("ünïcødé 文件 \"q\" 100%.txt");
  });

  it("serves dotfiles of the torrent but never the delivery marker", async () => {
    expect((await fetch(link(42, ".nfo"))).status).toBe(200);
    const marker = await fetch(link(42, ".dropship-delivered"));
    expect(marker.status).toBe(404);
  });

  it("refuses an expired link with 410", async () => {
    const url = link(42, "big.bin");
    const saved = clock;
    try {
      clock += TTL_MS + 1_000;
      const res = await fetch(url);
      expect(res.status).toBe(410);
      expect(await res.text()).toContain("expired");
      const index = await fetch(local(server.signJobLinks(42, []).index));
      expect(index.status).toBe(200);
    } finally {
      clock = saved;
    }
  });

  it("refuses tampered signatures, paths, job ids and expiries with 403", async () => {
    const url = new URL(link(42, "big.bin"));
    const sig = url.searchParams.get("s") ?? "";
    const flipped = (sig[0] === "A" ? "B" : "A") + sig.slice(1);
    const variants = [
      url.href.replace(`s=${sig}`, `s=${flipped}`),
      url.href.replace(`s=${sig}`, "s="),
      url.href.replace(`&s=${sig}`, ""),
      url.href.replace("/big.bin", "/.nfo"),
      url.href.replace("/d/42/", "/d/43/"),
      url.href.replace(/e=(\d+)/, (_m, e: string) => `e=${Number(e) + 3600}`),
    ];
    for (const v of variants) {
      const res = await fetch(v);
      expect(res.status, v).toBe(403);
      expect(await res.text()).toContain("not valid");
    }
    // A valid link of job 42 does not open job 43's file of the same name.
    await fs.writeFile(path.join(root, "43", "big.bin"), "other");
    const cross = await fetch(link(42, "big.bin").replace("/d/42/", "/d/43/"));
    expect(cross.status).toBe(403);
  });

  it("refuses traversal even when the attacker holds a signature for the traversing path", async () => {
    const signer = createLinkSigner(KEY);
    const e = Math.floor(clock / 1000) + 3600;
    const q = (relPath: string, jobId = "42") => `?e=${e}&s=${signer.sign(jobId, relPath, e)}`;
    const attempts = [
      `/d/42/../43/secret.txt${q("../43/secret.txt")}`,
      `/d/42/%2e%2e/43/secret.txt${q("../43/secret.txt")}`,
      `/d/42/%2E%2E%2F43%2Fsecret.txt${q("../43/secret.txt")}`,
      `/d/42/..%2Foutside.txt${q("../outside.txt")}`,
      `/d/42//etc/passwd${q("/etc/passwd")}`,
      `/d/42/%2Fetc%2Fpasswd${q("/etc/passwd")}`,
      `/d/42/./big.bin${q("./big.bin")}`,
      `/d/42/big.bin%00.txt${q("big.bin\0.txt")}`,
      `/d/42/%E0%A4%A${q("x")}`,
    ];
    for (const a of attempts) {
      const res = await raw(a);
      expect(res.status, a).toBe(403);
      expect(res.body).not.toContain("job 43 only");
      expect(res.body).not.toContain("root:");
    }
    for (const a of [`/d/..${q("etc/passwd", "..")}`, `/d/%2e%2e/outside.txt${q("outside.txt", "..")}`]) {
      expect((await raw(a)).status, a).toBe(404);
    }
  });

  it("refuses files and directories reached through symlinks", async () => {
    const res = await fetch(link(42, "link.txt"));
    expect(res.status).toBe(403);
    expect(await res.text()).not.toContain("job 43 only");
    expect((await fetch(link(42, "linkdir/secret.txt"))).status).toBe(403);
  });

  it("will not sign paths that leave the job, nor odd job ids", () => {
    for (const p of ["../x", "/etc/passwd", "", "a//b", "a/./b", "a/", "x\0y"]) {
      expect(() => server.signJobLinks(42, [p]), p).toThrow(/not a plain relative path/);
    }
    expect(() => server.signJobLinks("../42", ["a"])).toThrow(/job id/);
  });

  it("renders an index page of the job with escaped names, sizes and working links", async () => {
    const links = server.signJobLinks(42, ["big.bin"]);
    expect(links.index).toMatch(/^http:\/\/placeholder\.invalid\/d\/42\/\?e=\d+&s=[\w-]{43}$/);
    expect(links.expiresAt.getTime()).toBe(Math.floor((clock + TTL_MS) / 1000) * 1000);
    const res = await fetch(local(links.index));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;.txt");
    expect(html).not.toContain("<img");
    expect(html).toContain("3 MiB");
    expect(html).toContain("ünïcødé 文件 &quot;q&quot; 100%.txt");
    expect(html).not.toContain(".dropship-delivered");
    expect(html).not.toContain("link.txt");
    expect(html).not.toContain("secret.txt");
    const hrefs = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replaceAll("&amp;", "&"));
    expect(hrefs).toHaveLength(4);
    const bigHref = hrefs.find((h) => h.includes("/big.bin?"));
    const got = await fetch(local(bigHref ?? ""));
    expect(sha256(new Uint8Array(await got.arrayBuffer()))).toBe(sha256(big));
    expect((await fetch(local(server.signJobLinks(99, []).index))).status).toBe(404);
  });

  it("accepts the public base URL's path prefix, whether or not a proxy strips it", async () => {
    const prefixed = createDownloadServer({
      filesRoot: root,
      publicBaseUrl: "http://placeholder.invalid/files/",
      signingKey: KEY,
      linkTtlMs: TTL_MS,
      logger: createLogger({ level: "silent" }),
      now: () => clock,
    });
    try {
      const { port } = await prefixed.listen("127.0.0.1", 0);
      const url = prefixed.signJobLinks(42, ["big.bin"]).files[0]?.url ?? "";
      expect(url).toMatch(/^http:\/\/placeholder\.invalid\/files\/d\/42\/big\.bin\?e=\d+&s=[\w-]{43}$/);
      const withPrefix = url.replace("http://placeholder.invalid", `http://127.0.0.1:${port}`);
      const stripped = withPrefix.replace("/files/", "/");
      for (const u of [withPrefix, stripped]) {
        const res = await fetch(u, { method: "HEAD" });
        expect(res.status, u).toBe(200);
      }
      expect((await fetch(`http://127.0.0.1:${port}/files/healthz`)).status).toBe(200);
    } finally {
      await prefixed.close();
    }
  });

  it("answers only GET and HEAD", async () => {
    const res = await fetch(link(42, "big.bin"), { method: "POST" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
  });

  it("never logs a signature or the signing key", async () => {
    const url = link(42, "big.bin");
    await (await fetch(url)).arrayBuffer();
    await (await fetch(url.replace("s=", "s=x"))).arrayBuffer();
    const sig = new URL(url).searchParams.get("s") ?? "";
    const all = logLines.join("");
    expect(all).toContain("download refused");
    expect(all).not.toContain(sig);
    expect(all).not.toContain(KEY);
    expect(all).not.toContain("s=");
  });
});

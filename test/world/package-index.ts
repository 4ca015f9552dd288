// A PEP 503 "simple" index on loopback holding wheels repacked from Debian's dist-packages, so pip needs no PyPI.
// Built once into .world/cache (keyed by the repack program and the installed versions); served by node http.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { DEBIAN_DISTRIBUTIONS, REPACK_PY } from "./packages-repack.js";
import { cachedDir, WORLD_CACHE_DIR } from "./world-cache.js";

const DIST = "/usr/lib/python3/dist-packages";
const PYTHON = "/usr/bin/python3";

export interface PackageIndex {
  /** The index URL to give pip's --index-url, ending in /simple/. */
  url: string;
  /** The directory holding simple/<project>/<wheel>. */
  dir: string;
  /** Every request path the index answered, in order (tests assert that a reuse made none). */
  readonly requests: string[];
  stop(): Promise<void>;
}

/** Builds (or finds in the cache) the wheel tree; returns the directory that holds simple/. */
export async function buildPackageIndex(cacheDir = WORLD_CACHE_DIR): Promise<string> {
  // Any change to the program or to Debian's installed versions gives a new cache entry.
  const installed = fs.readdirSync(DIST).filter((n) => /\.(dist|egg)-info$/.test(n) || n.startsWith("_cffi_backend")).sort();
  const key = createHash("sha256")
    .update(REPACK_PY)
    .update(JSON.stringify(DEBIAN_DISTRIBUTIONS))
    .update(installed.join("\n"))
    .digest("hex")
    .slice(0, 12);
  return cachedDir(`package-index-${key}`, (dir) => {
    execFileSync(PYTHON, ["-c", REPACK_PY, dir, JSON.stringify(DEBIAN_DISTRIBUTIONS)], { stdio: ["ignore", "pipe", "pipe"] });
  }, cacheDir);
}

/** Starts the index on 127.0.0.1 (ephemeral port). */
export async function startPackageIndex(opts: { cacheDir?: string } = {}): Promise<PackageIndex> {
  const dir = await buildPackageIndex(opts.cacheDir);
  const simple = path.join(dir, "simple");
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://index");
    requests.push(url.pathname);
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== "simple" || parts.some((p) => p.includes("..") || p.includes("/"))) return notFound(res);
    if (parts.length === 1) return html(res, projectList(simple));
    const project = parts[1]!.toLowerCase().replace(/[-_.]+/g, "-");
    const projectDir = path.join(simple, project);
    if (!fs.existsSync(projectDir)) return notFound(res);
    if (parts.length === 2) return html(res, fileList(projectDir, project));
    const file = path.join(projectDir, parts[2]!);
    if (parts.length !== 3 || !fs.existsSync(file)) return notFound(res);
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": fs.statSync(file).size });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/simple/`,
    dir,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function projectList(simple: string): string {
  const links = fs.readdirSync(simple).sort().map((p) => `<a href="${p}/">${p}</a>`);
  return `<!DOCTYPE html><html><body>\n${links.join("\n")}\n</body></html>`;
}

function fileList(projectDir: string, project: string): string {
  const links = fs
    .readdirSync(projectDir)
    .filter((f) => f.endsWith(".whl"))
    .sort()
    .map((f) => {
      const sha = createHash("sha256").update(fs.readFileSync(path.join(projectDir, f))).digest("hex");
      return `<a href="/simple/${project}/${f}#sha256=${sha}">${f}</a>`;
    });
  return `<!DOCTYPE html><html><body><h1>${project}</h1>\n${links.join("\n")}\n</body></html>`;
}

function html(res: http.ServerResponse, body: string): void {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(body);
}

function notFound(res: http.ServerResponse): void {
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found\n");
}

// Hostile download URLs against the real download server: tampered and borrowed signatures, another job's files,
// expired links, "..", encoded slashes and NULs, symlinks planted in a job's folder, methods other than GET/HEAD.
import type { Fixtures, HostileCase } from "./hostile-runner.js";

const INVALID = /^This download link is not valid\. Ask the bot for a fresh link\.$/m;
const EXPIRED = /^This download link has expired\. Ask the bot for a fresh link\.$/m;
const NOT_FOUND = /^Not found\.$/m;
const FILE = "Movie/movie.mkv";
const later = () => Math.floor(Date.now() / 1000) + 3600;

/** A correctly signed link to `relPath` of `jobId` (the parts a user would get from the bot). */
export function signed(f: Fixtures, jobId: string, relPath: string, exp = later()): { path: string; e: number; s: string } {
  const encoded = relPath === "" ? "" : relPath.split("/").map(encodeURIComponent).join("/");
  return { path: `/d/${encodeURIComponent(jobId)}/${encoded}`, e: exp, s: f.links.sign(jobId, relPath, exp) };
}
const url = (l: { path: string; e: number; s: string }) => `${l.path}?e=${l.e}&s=${l.s}`;

const link = (name: string, path: (f: Fixtures) => string, refusal: RegExp, status: number, method?: string): HostileCase => ({
  area: "link",
  name,
  input: { http: { path, ...(method ? { method } : {}) } },
  refusal,
  status,
});

/** Flips one character of a signature, keeping it well-formed base64url. */
const tamper = (s: string) => (s[0] === "A" ? "B" : "A") + s.slice(1);

export const linkCases: HostileCase[] = [
  link("a tampered signature", (f) => { const l = signed(f, f.links.jobA, FILE); return url({ ...l, s: tamper(l.s) }); }, INVALID, 403),
  link("another file's signature", (f) => { const l = signed(f, f.links.jobA, FILE); return `/d/${f.links.jobA}/Movie/passwd?e=${l.e}&s=${l.s}`; }, INVALID, 403),
  link("one job's signature on another user's job", (f) => { const l = signed(f, f.links.jobA, FILE); return `/d/${f.links.jobB}/secret.txt?e=${l.e}&s=${l.s}`; }, INVALID, 403),
  link("one job's index signature on another job's index", (f) => { const l = signed(f, f.links.jobA, ""); return `/d/${f.links.jobB}/?e=${l.e}&s=${l.s}`; }, INVALID, 403),
  link("the index signature used for a file", (f) => { const l = signed(f, f.links.jobA, ""); return `/d/${f.links.jobA}/${FILE}?e=${l.e}&s=${l.s}`; }, INVALID, 403),
  link("an authentic link past its expiry", (f) => url(signed(f, f.links.jobA, FILE, Math.floor(Date.now() / 1000) - 10)), EXPIRED, 410),
  link("an expiry moved later", (f) => { const l = signed(f, f.links.jobA, FILE); return url({ ...l, e: l.e + 86_400 }); }, INVALID, 403),
  link("no signature", (f) => { const l = signed(f, f.links.jobA, FILE); return `${l.path}?e=${l.e}`; }, INVALID, 403),
  link("no expiry", (f) => { const l = signed(f, f.links.jobA, FILE); return `${l.path}?s=${l.s}`; }, INVALID, 403),
  link("an expiry that is not a number", (f) => { const l = signed(f, f.links.jobA, FILE); return `${l.path}?e=tomorrow&s=${l.s}`; }, INVALID, 403),
  link("an expiry of 1e400", (f) => { const l = signed(f, f.links.jobA, FILE); return `${l.path}?e=1e400&s=${l.s}`; }, INVALID, 403),
  link("a signature with padding", (f) => { const l = signed(f, f.links.jobA, FILE); return url({ ...l, s: `${l.s}=` }); }, INVALID, 403),
  link("../ to another job's file", (f) => { const l = signed(f, f.links.jobA, FILE); return `/d/${f.links.jobA}/Movie/../../${f.links.jobB}/secret.txt?e=${l.e}&s=${l.s}`; }, INVALID, 403),
  link("../ out of the downloads", (f) => { const l = signed(f, f.links.jobA, FILE); return `/d/${f.links.jobA}/../../dropship.sqlite?e=${l.e}&s=${l.s}`; }, INVALID, 403),
  link("%2e%2e out of the downloads", (f) => { const l = signed(f, f.links.jobA, FILE); return `/d/${f.links.jobA}/%2e%2e/%2e%2e/dropship.sqlite?e=${l.e}&s=${l.s}`; }, INVALID, 403),
  link("an encoded slash", (f) => { const l = signed(f, f.links.jobA, FILE); return `/d/${f.links.jobA}/Movie%2Fmovie.mkv?e=${l.e}&s=${l.s}`; }, INVALID, 403),
  link("an encoded slash signed as such", (f) => url(signed(f, f.links.jobA, "Movie%2Fmovie.mkv")).replace("Movie%252Fmovie.mkv", "Movie%2Fmovie.mkv"), INVALID, 403),
  link("an encoded NUL", (f) => { const l = signed(f, f.links.jobA, FILE); return `/d/${f.links.jobA}/Movie/movie.mkv%00.txt?e=${l.e}&s=${l.s}`; }, INVALID, 403),
  link("broken percent-encoding", (f) => { const l = signed(f, f.links.jobA, FILE); return `/d/${f.links.jobA}/Movie/%zz?e=${l.e}&s=${l.s}`; }, INVALID, 403),
  link("an empty segment", (f) => { const l = signed(f, f.links.jobA, FILE); return `/d/${f.links.jobA}/Movie//movie.mkv?e=${l.e}&s=${l.s}`; }, INVALID, 403),
  link("double-encoded ..", (f) => { const l = signed(f, f.links.jobA, FILE); return `/d/${f.links.jobA}/%252e%252e/secret.txt?e=${l.e}&s=${l.s}`; }, INVALID, 403),
  link("a symlink planted in the job's folder, correctly signed", (f) => url(signed(f, f.links.jobA, "Movie/passwd")), INVALID, 403),
  link("the delivery marker, correctly signed", (f) => url(signed(f, f.links.jobA, ".dropship-delivered")), NOT_FOUND, 404),
  link("a folder, correctly signed", (f) => url(signed(f, f.links.jobA, "Movie")), NOT_FOUND, 404),
  link("a job that has no files, correctly signed", (f) => url(signed(f, "424242", "")), NOT_FOUND, 404),
  link(".. as the job id", (f) => { const l = signed(f, f.links.jobA, ""); return `/d/../?e=${l.e}&s=${l.s}`; }, NOT_FOUND, 404),
  link("a 65-character job id", () => `/d/${"1".repeat(65)}/?e=1&s=x`, NOT_FOUND, 404),
  link("POST to a valid link", (f) => url(signed(f, f.links.jobA, FILE)), /^Only GET and HEAD are supported\.$/m, 405, "POST"),
  link("DELETE of a valid link", (f) => url(signed(f, f.links.jobA, FILE)), /^Only GET and HEAD are supported\.$/m, 405, "DELETE"),
];

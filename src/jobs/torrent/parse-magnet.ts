// Finds magnet links anywhere in a chat message and parses them with magnet-uri (WebTorrent's parser);
// on top of it, strict checks of the info hash so that a broken link gets a precise, actionable error.
import { decode as decodeMagnet, type MagnetData } from "magnet-uri";
import { cleanTrackers, type ParsedMagnet, type TorrentLinkError } from "./torrent-request.js";

export interface ParseLinksOptions {
  /** Accept magnets with only a v2 (btmh) hash. aria2 1.36 cannot download them, so by default they are errors. */
  allowV2Only?: boolean;
}

export interface ParsedLinks {
  magnets: ParsedMagnet[];
  errors: TorrentLinkError[];
}

// Finding candidates in free text; each candidate is then parsed by magnet-uri.
const CANDIDATE = /magnet:\?[^\s<>"]*/gi;
const TRAILING_PUNCTUATION = /[.,;!?'»]+$/;

/** Every magnet link in `text` (deduplicated by info hash, in order), and a precise error for each broken one. */
export function parseTorrentLinks(text: string, opts: ParseLinksOptions = {}): ParsedLinks {
  const magnets: ParsedMagnet[] = [];
  const errors: TorrentLinkError[] = [];
  for (const m of text.matchAll(CANDIDATE)) {
    const input = trimCandidate(m[0]);
    const r = parseMagnet(input, opts);
    if ("message" in r) errors.push({ input, message: r.message });
    else if (!magnets.some((x) => x.infoHash === r.infoHash)) magnets.push(r);
  }
  return { magnets, errors };
}

/** Parses one magnet link; returns the request or `{ message }` saying what is wrong with it. */
export function parseMagnet(input: string, opts: ParseLinksOptions = {}): ParsedMagnet | { message: string } {
  const uri = input.replace(/&amp;/g, "&"); // links copied out of HTML
  const query = uri.slice(uri.indexOf("?") + 1);
  const encodingProblem = checkPercentEncoding(query);
  if (encodingProblem) return { message: encodingProblem };
  let data: MagnetData;
  try {
    data = decodeMagnet(uri);
  } catch (err) {
    return { message: `this magnet link cannot be read: ${(err as Error).message}` };
  }
  const xts = asList(data.xt);
  if (xts.length === 0) return { message: "this magnet link has no info hash (no xt=urn:btih:… parameter)" };
  for (const xt of xts) {
    const problem = checkExactTopic(xt);
    if (problem) return { message: problem };
  }
  // Every xt is valid now, so magnet-uri's own conversions (base32 → hex, lower case) can be trusted.
  const v1 = data.infoHash ?? null;
  const v2 = data.infoHashV2 ?? null;
  if (!v1 && !opts.allowV2Only) {
    return {
      message:
        "this is a BitTorrent v2-only magnet (urn:btmh); the downloader (aria2) needs a v1 info hash (urn:btih) — " +
        "look for a hybrid magnet that carries both",
    };
  }
  const name = asList(data.dn)[0]?.trim() || null;
  return {
    source: "magnet",
    infoHash: (v1 ?? v2)!,
    infoHashV1: v1,
    infoHashV2: v2,
    name,
    sizeBytes: parseExactLength(asList(data.xl)[0]),
    trackers: cleanTrackers(data.announce ?? []),
    magnetUri: uri,
  };
}

function trimCandidate(s: string): string {
  let out = s.replace(TRAILING_PUNCTUATION, "");
  // A closing bracket belongs to the link only if the link opened one ("dn=Film (2020)").
  while (/[)\]}]$/.test(out) && count(out, opener(out.at(-1)!)) < count(out, out.at(-1)!)) {
    out = out.slice(0, -1).replace(TRAILING_PUNCTUATION, "");
  }
  return out;
}

function opener(close: string): string {
  return close === ")" ? "(" : close === "]" ? "[" : "{";
}

function count(s: string, ch: string): number {
  return s.split(ch).length - 1;
}

function asList(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** magnet-uri throws a bare URIError on bad %-escapes; name the parameter instead. */
function checkPercentEncoding(query: string): string | null {
  for (const param of query.split("&")) {
    const eq = param.indexOf("=");
    const key = eq < 0 ? param : param.slice(0, eq);
    try {
      decodeURIComponent(eq < 0 ? "" : param.slice(eq + 1));
    } catch {
      return `the ${key} parameter has broken percent-encoding ("%" must be followed by two hex digits)`;
    }
  }
  return null;
}

const HEX = /^[0-9a-f]*$/i;
const BASE32 = /^[a-z2-7]*$/i;

/** Validates one xt value: urn:btih (v1, 40 hex or 32 base32) or urn:btmh (v2, SHA-256 multihash). */
function checkExactTopic(xt: string): string | null {
  // magnet-uri matches "urn:btih:" case-sensitively, so insist on that spelling too.
  const m = /^urn:(btih|btmh):(.*)$/.exec(xt);
  const value = m?.[2] ?? "";
  if (m?.[1] === "btih") return checkV1Hash(value);
  if (m?.[1] === "btmh") {
    if (!HEX.test(value)) return `the v2 info hash (btmh) contains ${firstBad(value, HEX)}, which is not a hex digit`;
    if (!value.startsWith("1220")) return "the v2 info hash (btmh) must be a SHA-256 multihash, starting with 1220";
    const digits = value.length - 4;
    return digits === 64 ? null : `the v2 info hash (btmh) has ${digits} hex digits after 1220, expected 64`;
  }
  const shown = xt.length > 40 ? xt.slice(0, 40) + "…" : xt;
  return `xt=${shown} is not a BitTorrent info hash; a magnet needs xt=urn:btih:… (or urn:btmh:…)`;
}

function checkV1Hash(h: string): string | null {
  if (h.length === 40 && HEX.test(h)) return null;
  if (h.length === 32 && BASE32.test(h)) return null;
  if (h.length === 0) return "the info hash after urn:btih: is empty";
  if (HEX.test(h)) return `the info hash has ${h.length} hex digits, expected 40`;
  if (BASE32.test(h)) return `the info hash has ${h.length} base32 characters, expected 32`;
  const bad = h.length === 40 ? firstBad(h, HEX) : h.length === 32 ? firstBad(h, BASE32) : null;
  if (bad) return `the info hash contains ${bad}, which is ${h.length === 40 ? "not a hex digit" : "not base32 (A–Z, 2–7)"}`;
  return `the info hash is ${h.length} characters long; expected 40 hex digits or 32 base32 characters`;
}

function firstBad(s: string, ok: RegExp): string {
  const ch = [...s].find((c) => !ok.test(c)) ?? "?";
  return JSON.stringify(ch);
}

function parseExactLength(xl: string | undefined): number | null {
  if (!xl || !/^\d{1,16}$/.test(xl)) return null;
  const n = Number(xl);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

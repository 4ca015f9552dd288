// Magnet links found in chat text: several per message, hex/base32/btmh, dn/xl/tr, and precise errors.
import { describe, expect, it } from "vitest";
import { parseMagnet, parseTorrentLinks } from "../../../src/jobs/torrent/parse-magnet.js";

const HEX = "206b82b4bcad7c2646e6167ab09f3738b9c2bb46";
const B32 = "EBVYFNF4VV6CMRXGCZ5LBHZXHC44FO2G"; // the same 20 bytes in RFC 4648 base32
const V2 = "1220" + "ab".repeat(32);
const TR = "udp://tracker.example.org:1337/announce";

describe("parseTorrentLinks", () => {
  it("finds several magnets anywhere in a message, with name, size and trackers", () => {
    const other = "c".repeat(40);
    const text =
      `look: magnet:?xt=urn:btih:${HEX}&dn=Ubuntu+24.04+%28desktop%29&xl=6114656256&tr=${encodeURIComponent(TR)}` +
      `&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce&tr=not-a-url, and also\n(magnet:?xt=urn:btih:${other.toUpperCase()}).`;
    const { magnets, errors } = parseTorrentLinks(text);
    expect(errors).toEqual([]);
    expect(magnets).toHaveLength(2);
    expect(magnets[0]).toMatchObject({
      source: "magnet",
      infoHash: HEX,
      infoHashV1: HEX,
      infoHashV2: null,
      name: "Ubuntu 24.04 (desktop)",
      sizeBytes: 6114656256,
      trackers: [TR, "http://127.0.0.1:6969/announce"],
    });
    expect(magnets[0]!.magnetUri.endsWith("&tr=not-a-url")).toBe(true);
    // The closing bracket and full stop around the second link are not part of it.
    expect(magnets[1]).toMatchObject({ infoHash: other, name: null, sizeBytes: null, trackers: [] });
    expect(magnets[1]!.magnetUri).toBe(`magnet:?xt=urn:btih:${other.toUpperCase()}`);
  });

  it("keeps a bracket that belongs to the name and decodes &amp; from HTML", () => {
    const { magnets } = parseTorrentLinks(`magnet:?xt=urn:btih:${HEX}&amp;dn=Film+(2020)`);
    expect(magnets[0]?.name).toBe("Film (2020)");
  });

  it("decodes a base32 info hash to the same hex", () => {
    const { magnets } = parseTorrentLinks(`magnet:?xt=urn:btih:${B32}&dn=x`);
    expect(magnets[0]?.infoHash).toBe(HEX);
    expect(parseTorrentLinks(`magnet:?xt=urn:btih:${B32.toLowerCase()}`).magnets[0]?.infoHash).toBe(HEX);
  });

  it("treats the same torrent pasted twice (hex and base32) as one", () => {
    const { magnets } = parseTorrentLinks(`magnet:?xt=urn:btih:${HEX} magnet:?xt=urn:btih:${B32}`);
    expect(magnets).toHaveLength(1);
  });

  it("reads a hybrid magnet's v1 and v2 hashes", () => {
    const { magnets, errors } = parseTorrentLinks(`magnet:?xt=urn:btih:${HEX}&xt=urn:btmh:${V2}&dn=hybrid`);
    expect(errors).toEqual([]);
    expect(magnets[0]).toMatchObject({ infoHash: HEX, infoHashV1: HEX, infoHashV2: "ab".repeat(32) });
  });

  it("explains that a v2-only magnet cannot be downloaded, unless asked to accept it", () => {
    const link = `magnet:?xt=urn:btmh:${V2}`;
    expect(parseTorrentLinks(link).errors[0]?.message).toMatch(/v2-only magnet .*needs a v1 info hash/);
    const r = parseMagnet(link, { allowV2Only: true });
    expect(r).toMatchObject({ infoHash: "ab".repeat(32), infoHashV1: null, infoHashV2: "ab".repeat(32) });
  });

  it("returns nothing for text without magnets", () => {
    expect(parseTorrentLinks("hello https://example.org/?magnet=1")).toEqual({ magnets: [], errors: [] });
  });

  it("ignores a non-numeric xl rather than refusing the link", () => {
    expect(parseTorrentLinks(`magnet:?xt=urn:btih:${HEX}&xl=big`).magnets[0]?.sizeBytes).toBeNull();
  });
});

describe("broken magnets get a precise error", () => {
  const cases: [string, string | RegExp][] = [
    [`magnet:?xt=urn:btih:${HEX.slice(0, 39)}`, "the info hash has 39 hex digits, expected 40"],
    [`magnet:?xt=urn:btih:${HEX}0`, "the info hash has 41 hex digits, expected 40"],
    [`magnet:?xt=urn:btih:${B32.slice(0, 31)}`, "the info hash has 31 base32 characters, expected 32"],
    [`magnet:?xt=urn:btih:${HEX.slice(0, 39)}g`, 'the info hash contains "g", which is not a hex digit'],
    [`magnet:?xt=urn:btih:${B32.slice(0, 31)}1`, 'the info hash contains "1", which is not base32 (A–Z, 2–7)'],
    [`magnet:?xt=urn:btih:`, "the info hash after urn:btih: is empty"],
    [`magnet:?xt=urn:btih:zz-top`, /6 characters long; expected 40 hex digits or 32 base32/],
    [`magnet:?dn=no+hash`, "this magnet link has no info hash (no xt=urn:btih:… parameter)"],
    [`magnet:?xt=urn:ed2k:31d6cfe0d16ae931b73c59d7e0c089c0`, /xt=urn:ed2k:.* is not a BitTorrent info hash/],
    [`magnet:?xt=urn:btmh:1114${"ab".repeat(32)}`, "the v2 info hash (btmh) must be a SHA-256 multihash, starting with 1220"],
    [`magnet:?xt=urn:btmh:1220${"ab".repeat(31)}`, "the v2 info hash (btmh) has 62 hex digits after 1220, expected 64"],
    [`magnet:?xt=urn:btih:${HEX}&dn=100%`, 'the dn parameter has broken percent-encoding ("%" must be followed by two hex digits)'],
  ];
  it.each(cases)("%s", (link, expected) => {
    const { magnets, errors } = parseTorrentLinks(`please get ${link} thanks`);
    expect(magnets).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.input).toBe(link);
    if (typeof expected === "string") expect(errors[0]!.message).toBe(expected);
    else expect(errors[0]!.message).toMatch(expected);
  });

  it("reports a broken link next to good ones in the same message", () => {
    const r = parseTorrentLinks(`magnet:?xt=urn:btih:${HEX} magnet:?xt=urn:btih:abc`);
    expect(r.magnets).toHaveLength(1);
    expect(r.errors).toEqual([{ input: "magnet:?xt=urn:btih:abc", message: "the info hash has 3 hex digits, expected 40" }]);
  });
});

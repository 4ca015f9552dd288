// Hostile chat text (magnets with bad hashes, huge and many magnets, control and bidi characters, markup, over-long
// messages) and strangers, who get the one "private bot" answer and nothing else.
import type { HostileCase } from "./hostile-runner.js";

const PRIVATE = /^This is a private bot\.$/;
const HINT = /^I did not recognise that\./;
const BROKEN = /^⚠️ That magnet link is broken: /;
const HEX40 = "0123456789abcdef0123456789abcdef01234567";
const magnet = (xt: string, rest = "") => `magnet:?xt=${xt}${rest}`;
/** n distinct, well-formed magnets. */
const validMagnets = (n: number) => Array.from({ length: n }, (_, i) => magnet(`urn:btih:${i.toString(16).padStart(40, "e")}`, `&dn=file${i}`)).join("\n");

const ZIP_BYTES = Buffer.from("PK\u0003\u0004 not really", "latin1");

export const strangerCases: HostileCase[] = [
  { area: "stranger", name: "a stranger's hello", as: "stranger", input: { text: "hello" }, refusal: PRIVATE },
  { area: "stranger", name: "a stranger's valid magnet", as: "stranger", input: { text: magnet(`urn:btih:${HEX40}`, "&dn=x&xl=1000") }, refusal: PRIVATE },
  { area: "stranger", name: "a stranger's /addhost", as: "stranger", input: { text: "/addhost evil root@127.0.0.1" }, refusal: PRIVATE },
  { area: "stranger", name: "a stranger's /cancel of the owner's job", as: "stranger", input: { text: (f) => `/cancel ${f.ownerCard}` }, refusal: PRIVATE },
  { area: "stranger", name: "a stranger's /jobs", as: "stranger", input: { text: "/jobs" }, refusal: PRIVATE },
  { area: "stranger", name: "a stranger's .torrent (never fetched)", as: "stranger", input: { document: { fileName: "x.torrent", bytes: Buffer.from("d4:infode") } }, refusal: PRIVATE },
  { area: "stranger", name: "a stranger's playbook (never fetched)", as: "stranger", input: { document: { fileName: "site.yml", bytes: Buffer.from("- hosts: all\n") } }, refusal: PRIVATE },
  { area: "stranger", name: "a stranger's archive (never fetched)", as: "stranger", input: { document: { fileName: "p.zip", bytes: ZIP_BYTES } }, refusal: PRIVATE },
  { area: "stranger", name: "a stranger presses Start on the owner's card", as: "stranger", input: { press: (f) => `t:start:${f.ownerCard}` }, refusal: PRIVATE },
  { area: "stranger", name: "a stranger presses Cancel on the friend's job", as: "stranger", input: { press: (f) => `cancel:${f.friendCard}` }, refusal: PRIVATE },
  { area: "stranger", name: "a stranger presses Run… on the friend's playbook", as: "stranger", input: { press: (f) => `pr:run:${f.friendPlaybook}` }, refusal: PRIVATE },
  { area: "stranger", name: "a stranger's command in a group is ignored", as: "stranger", input: { text: "/addhost evil root@127.0.0.1", group: true }, refusal: /^$/ },
];

export const chatCases: HostileCase[] = [
  ...strangerCases,
  { area: "chat", name: "info hash one digit short", input: { text: magnet(`urn:btih:${HEX40.slice(1)}`) }, refusal: /39 hex digits, expected 40/ },
  { area: "chat", name: "info hash one digit long", input: { text: magnet(`urn:btih:${HEX40}f`) }, refusal: /41 hex digits, expected 40/ },
  { area: "chat", name: "info hash with a non-hex letter", input: { text: magnet(`urn:btih:${HEX40.slice(0, 39)}g`) }, refusal: /contains "g", which is not a hex digit/ },
  { area: "chat", name: "base32 hash one short", input: { text: magnet(`urn:btih:${"Z".repeat(31)}`) }, refusal: /31 base32 characters, expected 32/ },
  { area: "chat", name: "empty info hash", input: { text: "magnet:?xt=urn:btih:&dn=nothing" }, refusal: /after urn:btih: is empty/ },
  { area: "chat", name: "no xt at all", input: { text: "magnet:?dn=only-a-name&tr=udp://t.example:1" }, refusal: /no info hash/ },
  { area: "chat", name: "xt of another scheme", input: { text: magnet("urn:sha1:abcdef") }, refusal: /is not a BitTorrent info hash/ },
  { area: "chat", name: "v2-only magnet", input: { text: magnet(`urn:btmh:1220${"ab".repeat(32)}`) }, refusal: /v2-only magnet/ },
  { area: "chat", name: "broken percent-encoding", input: { text: magnet(`urn:btih:${HEX40}`, "&dn=%zz") }, refusal: /dn parameter has broken percent-encoding/ },
  { area: "chat", name: "a control character inside the hash", input: { text: magnet(`urn:btih:${HEX40.slice(0, 20)}\u0007${HEX40.slice(21)}`) }, refusal: /contains "\\u0007", which is not a hex digit/ },
  { area: "chat", name: "an RTL override inside the hash", input: { text: magnet(`urn:btih:${HEX40.slice(0, 20)}\u202e${HEX40.slice(21)}`) }, refusal: /which is not a hex digit/ },
  // The broken xt is echoed as the user wrote it (percent-encoded), so markup hidden in it never reaches the HTML.
  { area: "chat", name: "markup percent-encoded into the echoed xt", input: { text: "magnet:?xt=%3C%2Fcode%3E%3Cb%3Ebold" }, refusal: /xt=%3C%2Fcode%3E%3Cb%3Ebold is not a BitTorrent info hash/ },
  { area: "chat", name: "markup after a magnet", input: { text: `magnet:?xt=urn:btih:${HEX40.slice(3)}</code><b>x</b>` }, refusal: /37 hex digits, expected 40/ },
  { area: "chat", name: "a 4500-digit hash (huge magnet)", input: { text: magnet(`urn:btih:${"f".repeat(4500)}`) }, refusal: /4500 hex digits, expected 40/ },
  { area: "chat", name: "thirty broken magnets in one message", input: { text: Array.from({ length: 30 }, (_, i) => magnet(`urn:btih:${"1".repeat(i + 1)}`)).join(" ") }, refusal: /30 magnet links.*at most 10/s },
  { area: "chat", name: "twenty-five valid magnets in one message", input: { text: validMagnets(25) }, refusal: /25 magnet links.*at most 10/s },
  { area: "chat", name: "text over 4096 characters", input: { text: "A".repeat(5000) }, refusal: HINT },
  { area: "chat", name: "control characters", input: { text: "\u0001\u0002\u001b[31mred\u001b[0m\u007f" }, refusal: HINT },
  { area: "chat", name: "bidi overrides", input: { text: "\u202egpj.exe\u202c \u2066hidden\u2069" }, refusal: HINT },
  { area: "chat", name: "markup in plain text", input: { text: "<b>bold</b></code><a href=\"tg://x\">x</a>" }, refusal: HINT },
  { area: "chat", name: "an edited message is not handled again", input: { edit: magnet(`urn:btih:${HEX40}`, "&dn=edited") }, refusal: /^$/ },
  { area: "chat", name: "the word magnet: alone", input: { text: "what is a magnet: link?" }, refusal: HINT },
  { area: "chat", name: "a magnet with HTML-escaped ampersands and a bad hash", input: { text: `magnet:?xt=urn:btih:${HEX40.slice(2)}&amp;dn=x` }, refusal: BROKEN },
];

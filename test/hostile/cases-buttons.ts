// Forged and replayed button presses: other users' jobs, malformed data, data over Telegram's 64 bytes, presses on
// jobs that have already reached a final state, and run-dialogue buttons with no dialogue open.
import type { Fixtures, HostileCase } from "./hostile-runner.js";

const NOT_YOURS_TORRENT = /^Only the person who sent this torrent can use its buttons\.$/;
const INVALID = /^This button is not valid any more\.$/;
const STALE = /^This button no longer works\.$/;

const press = (name: string, data: string | ((f: Fixtures) => string), refusal: RegExp, as?: HostileCase["as"]): HostileCase => ({
  area: "button",
  name,
  input: { press: data },
  refusal,
  ...(as ? { as } : {}),
});

export const buttonCases: HostileCase[] = [
  press("Start on the owner's card, forged by another user", (f) => `t:start:${f.ownerCard}`, NOT_YOURS_TORRENT),
  press("Cancel on the friend's card, forged by another user", (f) => `t:cancel:${f.friendCard}`, NOT_YOURS_TORRENT),
  press("the generic Cancel on the owner's job, forged", (f) => `cancel:${f.ownerCard}`, /^You have no job \d+\.$/),
  press("the generic Cancel on the friend's playbook, forged", (f) => `cancel:${f.friendPlaybook}`, /^You have no job \d+\.$/),
  press("Run… on the friend's playbook, forged", (f) => `pr:run:${f.friendPlaybook}`, /^Only the person who sent this playbook can run it\.$/),
  press("Run… on one's own failed upload", (f) => `pr:run:${f.failedPlaybook}`, /^Job #\d+ is failed; send the playbook again/, "friend"),
  press("Run… on a torrent job", (f) => `pr:run:${f.friendCard}`, /^Only the person who sent this playbook can run it\.$/, "friend"),
  press("Start replayed on one's own cancelled card", (f) => `t:start:${f.cancelledCard}`, /^This card has expired\.$/, "friend"),
  press("Cancel replayed on one's own cancelled card", (f) => `t:cancel:${f.cancelledCard}`, /^This job has already finished\.$/, "friend"),
  press("the generic Cancel replayed on a cancelled job", (f) => `cancel:${f.cancelledCard}`, /has already finished \(cancelled\)/, "friend"),
  press("Start on a playbook job (wrong kind)", (f) => `t:start:${f.friendPlaybook}`, INVALID, "friend"),
  press("Start on a job that does not exist", "t:start:987654321", INVALID),
  press("Start with an id that overflows", "t:start:99999999999999999999999", INVALID),
  press("Start with a negative id", "t:start:-1", INVALID),
  press("Start with no id", "t:start:", INVALID),
  press("an action the card never had", (f) => `t:launch:${f.ownerCard}`, INVALID),
  press("Start with an extra field", (f) => `t:start:${f.ownerCard}:1`, INVALID),
  press("Start with Arabic-Indic digits", "t:start:١٢", INVALID),
  press("Start with a NUL after the id", (f) => `t:start:${f.ownerCard}\u0000`, INVALID),
  press("Start over 64 bytes", `t:start:${"1".repeat(70)}`, INVALID),
  press("Cancel with letters for an id", "cancel:abc", STALE),
  press("Cancel with an id that overflows", "cancel:99999999999999999999999", STALE),
  press("Cancel with a trailing newline", (f) => `cancel:${f.ownerCard}\n`, STALE),
  press("Run… with letters for an id", "pr:run:abc", STALE),
  press("a host choice with no dialogue open", (f) => `pr:host:${f.friendPlaybook}:0`, STALE),
  press("Start of a run with no dialogue open", (f) => `pr:start:${f.friendPlaybook}`, STALE, "friend"),
  press("Cancel of a run with no dialogue open", (f) => `pr:abort:${f.friendPlaybook}`, STALE),
  press("the default answer with no dialogue open", (f) => `pr:def:${f.friendPlaybook}`, STALE),
  press("a file-picker press on the owner's card, forged by another user", (f) => `fp:${f.ownerCard}:a`, NOT_YOURS_TORRENT),
  press("a file-picker press on one's own cancelled card", (f) => `fp:${f.cancelledCard}:n`, /^This job has already finished\.$/, "friend"),
  press("a file-picker press on a job that does not exist", "fp:987654321:f1.1", INVALID),
  press("a file-picker press on a playbook job", (f) => `fp:${f.friendPlaybook}:a`, INVALID, "friend"),
  press("a file-picker code it never sends", (f) => `fp:${f.ownerCard}:f2.1`, STALE),
  press("a file-picker group that does not exist", (f) => `fp:${f.friendCard}:g.nothing`, INVALID, "friend"),
  press("empty callback data", "", STALE),
  press("200 bytes of junk", "Z".repeat(200), STALE),
  press("markup as callback data", "<b>x</b>", STALE),
];

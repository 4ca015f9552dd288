// What /hosts and a host's share panel show, as Telegram HTML with their buttons.
import { InlineKeyboard } from "grammy";
import type { HostView } from "../../hosts/host-access.js";
import { hostAddressText, type HostRecord } from "../../hosts/host-registry.js";
import { hostListButton, hostPanelButton, hostShareButton } from "../callback-data.js";
import { personLabel } from "../user-names.js";
import { code, escapeHtml, fitMessage } from "./telegram-html.js";

type NameOf = (userId: number) => string | undefined;

/** Telegram allows 100 buttons on a message; hosts past that are still listed, without a share button. */
const MAX_BUTTONS = 100;
/** Button labels are cut here; the message itself shows names whole. */
const MAX_LABEL = 40;

const cut = (s: string) => (s.length > MAX_LABEL ? `${s.slice(0, MAX_LABEL - 1)}…` : s);

function shareLine(v: HostView, viewerId: number, nameOf: NameOf): string {
  const owner = `owner: ${escapeHtml(personLabel(v.ownerId, viewerId, nameOf))}`;
  const shared = v.sharedWith.length ? `shared with ${v.sharedWith.map((id) => escapeHtml(personLabel(id, viewerId, nameOf))).join(", ")}` : "not shared";
  const runs = v.mayRun ? "" : " · you do not run playbooks on it";
  return `  ${owner} · ${shared}${runs}`;
}

/** The hosts a user may run on or manage, each with its owner and shares; a 👥 button per host they manage. */
export function renderHostList(views: HostView[], viewerId: number, nameOf: NameOf): { text: string; keyboard?: InlineKeyboard } {
  const lines = views.map(
    (v) => `• <b>${escapeHtml(v.host.name)}</b> — ${code(hostAddressText(v.host))}\n  host key ${code(v.host.fingerprint)}\n${shareLine(v, viewerId, nameOf)}`,
  );
  const managed = views.filter((v) => v.mayManage).slice(0, MAX_BUTTONS);
  const footer = managed.length ? "\nPress 👥 to choose who else may run playbooks on a host." : "";
  const text = fitMessage(["<b>Hosts</b>", ...lines].join("\n") + footer);
  if (!managed.length) return { text };
  const keyboard = new InlineKeyboard();
  managed.forEach((v) => keyboard.text(cut(`👥 ${v.host.name}`), hostPanelButton.pack({ hostId: v.host.id })).row());
  return { text, keyboard };
}

/** A host's share panel: one button per user it could be shared with (✅ may run, ➕ may not), and back to the list. */
export function renderSharePanel(
  host: HostRecord,
  p: { ownerId: number; sharedWith: number[]; candidates: number[] },
  viewerId: number,
  nameOf: NameOf,
): { text: string; keyboard: InlineKeyboard } {
  const keyboard = new InlineKeyboard();
  for (const id of p.candidates.slice(0, MAX_BUTTONS - 1)) {
    const on = p.sharedWith.includes(id);
    const label = cut(`${on ? "✅" : "➕"} ${personLabel(id, viewerId, nameOf)}`);
    keyboard.text(label, hostShareButton.pack({ action: on ? "off" : "on", hostId: host.id, userId: id })).row();
  }
  keyboard.text("« Hosts", hostListButton.pack({}));
  const lines = [
    `<b>Who may run playbooks on ${escapeHtml(host.name)}</b> (${code(hostAddressText(host))})?`,
    `Owner: ${escapeHtml(personLabel(p.ownerId, viewerId, nameOf))}. They run as ${code(host.username)} there.`,
    p.candidates.length
      ? "✅ may run playbooks on it — press to take that back · ➕ may not — press to share it."
      : "There is nobody else to share it with: the bot's users are OWNER_ID and ALLOWED_USER_IDS.",
  ];
  return { text: lines.join("\n"), keyboard };
}

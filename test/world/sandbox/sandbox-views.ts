// What the sandbox page shows, as plain JSON: the chat as a phone shows it (text with Telegram's entities, buttons,
// documents, edits) and the world around the app (droplets with their cost, the registered host, the virtualenvs).
import type { App } from "../../../src/app/start-app.js";
import { billDropletSeconds } from "../../../src/jobs/torrent/pricing.js";
import { VenvStore } from "../../../src/venv/venv-store.js";
import type { FakeDigitalOcean } from "../fake-digitalocean.js";
import type { MessageEntity, SentMessage } from "../fake-telegram.js";

export interface ButtonView {
  text: string;
  /** callback_data: pressing sends a callback query; absent for URL buttons. */
  data?: string;
  url?: string;
}

export interface MessageView {
  id: number;
  fromBot: boolean;
  date: number;
  /** The text a user sees (the caption for a document); formatting is in `entities`, never in markup. */
  text: string;
  entities: MessageEntity[];
  buttons: ButtonView[][];
  document: { name: string; size: number; url: string } | null;
  replyTo: number | null;
  edits: number;
  deleted: boolean;
}

/** `upload`: the document a user sent, which the fake Telegram's record of a user message does not hold. */
export function messageView(m: SentMessage, upload?: MessageView["document"]): MessageView {
  const rows = m.reply_markup?.inline_keyboard ?? [];
  return {
    id: m.message_id,
    fromBot: m.from_bot,
    date: m.date,
    text: m.text,
    entities: m.entities,
    buttons: rows.map((row) => row.map((b) => ({ text: b.text, ...(b.callback_data ? { data: b.callback_data } : {}), ...(b.url ? { url: b.url } : {}) }))),
    document: m.document
      ? { name: m.document.file_name ?? "file", size: m.document.file_size, url: `/api/files/${encodeURIComponent(m.document.file_id)}` }
      : (upload ?? null),
    replyTo: m.reply_to_message_id ?? null,
    edits: m.edits.length,
    deleted: m.deleted,
  };
}

export interface DropletView {
  id: number;
  name: string;
  status: string;
  tags: string[];
  size: string;
  region: string;
  ip: string;
  createdAt: string;
  ageSeconds: number;
  destroyed: boolean;
  priceHourly: number;
  /** What DigitalOcean bills for the lifetime so far: per second, minimum 60 s or $0.01 (billDropletSeconds). */
  billedUsd: number;
  /** The lifetime at the per-second rate, before the minimum: the figure that visibly ticks. */
  perSecondUsd: number;
}

interface SeenDroplet {
  id: number;
  name: string;
  status: string;
  tags: string[];
  size: string;
  region: string;
  ip: string;
  createdAt: Date;
  priceHourly: number;
  priceMonthly: number;
  /** When the sandbox first saw it destroyed or gone: the fake forgets a droplet soon after, the panel does not. */
  goneAt: number | null;
}

/** Remembers every droplet the fake DigitalOcean has had, so a destroyed one stays in the panel with its final cost. */
export class DropletHistory {
  private readonly seen = new Map<number, SeenDroplet>();

  constructor(private readonly digitalOcean: FakeDigitalOcean, private readonly now: () => number = Date.now) {}

  /** Reads the fake's droplets now; call before rendering (and often enough to catch short-lived ones). */
  refresh(): void {
    const live = new Set<number>();
    for (const d of this.digitalOcean.droplets()) {
      live.add(d.id);
      const s = this.seen.get(d.id);
      if (s) {
        s.status = d.status;
        if (d.destroyed && s.goneAt === null) s.goneAt = this.now();
        continue;
      }
      this.seen.set(d.id, {
        id: d.id,
        name: d.name,
        status: d.status,
        tags: [...d.tags],
        size: d.size.slug,
        region: d.region.slug,
        ip: d.ip,
        createdAt: d.createdAt,
        priceHourly: d.size.price_hourly,
        priceMonthly: d.size.price_monthly,
        goneAt: d.destroyed ? this.now() : null,
      });
    }
    for (const s of this.seen.values()) if (!live.has(s.id) && s.goneAt === null) s.goneAt = this.now();
  }

  views(): DropletView[] {
    return [...this.seen.values()].reverse().map((s) => {
      const ageSeconds = Math.max(0, ((s.goneAt ?? this.now()) - s.createdAt.getTime()) / 1000);
      return {
        id: s.id,
        name: s.name,
        status: s.goneAt === null ? s.status : "destroyed",
        tags: s.tags,
        size: s.size,
        region: s.region,
        ip: s.ip,
        createdAt: s.createdAt.toISOString(),
        ageSeconds: Math.round(ageSeconds * 10) / 10,
        destroyed: s.goneAt !== null,
        priceHourly: s.priceHourly,
        billedUsd: billDropletSeconds(ageSeconds, s.priceHourly, s.priceMonthly),
        perSecondUsd: (ageSeconds / 3600) * s.priceHourly,
      };
    });
  }
}

export interface WorldView {
  droplets: DropletView[];
  hosts: { name: string; address: string; fingerprint: string }[];
  venvs: { host: string; name: string; status: string; sizeBytes: number | null; buildMs: number | null; inUse: number }[];
}

export function worldView(app: App, droplets: DropletHistory): WorldView {
  droplets.refresh();
  return {
    droplets: droplets.views(),
    hosts: app.hosts.list().map((h) => ({ name: h.name, address: `${h.username}@${h.address}:${h.port}`, fingerprint: h.fingerprint })),
    venvs: new VenvStore(app.db).list().map((v) => ({ host: v.host, name: v.name, status: v.status, sizeBytes: v.sizeBytes, buildMs: v.buildMs, inUse: v.inUse })),
  };
}

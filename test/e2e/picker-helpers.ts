// What the file-picker e2e tests share: pressing a card's buttons and waiting for the card to show the result, the
// limits every keyboard must keep, and a look at a droplet's disk while its destroy is held.
import fs from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { ALICE, buttonData, type World } from "./harness.js";
import type { SentMessage } from "../world/fake-telegram.js";

type Keyboard = { text: string; callback_data?: string }[][];

export const keyboardOf = (m: SentMessage): Keyboard => (m.reply_markup as { inline_keyboard?: Keyboard } | undefined)?.inline_keyboard ?? [];

export function messageNow(world: World, id: number): SentMessage {
  return world.telegram.messages(ALICE.id).find((m) => m.message_id === id)!;
}

/** Presses the button labelled `label` on message `id` and waits until Telegram was answered and (unless told) the message changed. */
export async function press(world: World, id: number, label: RegExp, o: { changes?: boolean } = {}): Promise<SentMessage> {
  const before = messageNow(world, id);
  const shown = JSON.stringify([before.text, before.reply_markup]);
  const pressId = world.telegram.pressButton(ALICE, before, buttonData(before, label));
  await world.telegram.waitFor(() => world.telegram.answeredCallbacks.some((a) => a.callback_query_id === pressId), 20_000, `the answer to ${label}`);
  if (o.changes === false) return messageNow(world, id);
  return world.telegram.waitFor(
    () => {
      const now = messageNow(world, id);
      return JSON.stringify([now.text, now.reply_markup]) !== shown ? now : null;
    },
    20_000,
    `message ${id} to change after ${label}`,
  );
}

/** Polls `check` every 100 ms (for state outside fake Telegram, whose waitFor wakes only on its own changes). */
export async function pollFor<T>(check: () => T | undefined | null | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The answer Telegram got for the last press. */
export const lastAnswer = (world: World) => world.telegram.answeredCallbacks.at(-1)!;

/** Telegram's limits for a message with an inline keyboard (FACTS.md): each asserted, not only left to the fake. */
export function expectWithinTelegramLimits(m: SentMessage): void {
  const rows = keyboardOf(m);
  expect(m.text.length).toBeLessThanOrEqual(4096);
  expect(rows.flat().length).toBeLessThanOrEqual(100);
  for (const row of rows) expect(row.length).toBeLessThanOrEqual(8);
  for (const b of rows.flat()) expect(Buffer.byteLength(b.callback_data ?? "")).toBeLessThanOrEqual(64);
}

/** Every regular file under `dir`, relative, with its size; aria2's `.aria2` control files left out. */
export function filesOnDisk(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && !e.name.endsWith(".aria2")) out[path.relative(dir, p)] = fs.statSync(p).size;
    }
  };
  walk(dir);
  return out;
}

/**
 * Holds the destroy of job `jobId`'s droplet, and returns what was on its download directory while the destroy waited
 * (aria2 done, the files pulled, the droplet still up), then lets the destroy go.
 */
export async function dropletDiskBeforeDestroy(world: World, jobId: number, timeoutMs = 150_000): Promise<Record<string, number>> {
  const droplet = await pollFor(() => world.digitalOcean.droplets().find((d) => d.tags.includes(`dropship-job-${jobId}`)), timeoutMs, "the job's droplet");
  let release!: () => void;
  const heldUntil = new Promise<void>((r) => (release = r));
  const rule = world.digitalOcean.injectFault(`DELETE /v2/droplets/${droplet.id}`, { heldUntil });
  try {
    await pollFor(() => rule.hits > 0, timeoutMs, "the droplet's destroy");
    expect(droplet.destroyed).toBe(false);
    const root = droplet.host?.rootfs();
    if (!root) throw new Error(`droplet ${droplet.id} has no running host to read its disk from`);
    return filesOnDisk(path.join(root, "root", "dropship", `job-${jobId}`));
  } finally {
    release();
  }
}

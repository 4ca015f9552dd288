// The answers to "Seed after download" and "Stop seeding" presses (torrent-use-cases.ts chooseSeeding / stopSeeding).
import type { InlineKeyboard } from "grammy";
import { describeSeedPolicy } from "../../jobs/torrent/seeding-policy.js";
import type { RequestedTorrent, SeedChoiceOutcome } from "../../jobs/torrent/torrent-use-cases.js";
import type { BotContext } from "../context.js";
import { showInPlace } from "../message-editor.js";
import { answerPress } from "../press-answer.js";

/** A seeding press's answer: the card before Start edited here; a running job's card follows the runner's next event. */
export async function answerSeeding(
  ctx: BotContext,
  card: (userId: number, requested: RequestedTorrent) => { text: string; keyboard: InlineKeyboard },
  outcome: SeedChoiceOutcome,
): Promise<void> {
  switch (outcome.kind) {
    case "invalid":
      await answerPress(ctx, { text: "This button is not valid any more." });
      return;
    case "not-yours":
      await answerPress(ctx, { text: "Only the person who sent this torrent can use its buttons.", show_alert: true });
      return;
    case "expired":
      await answerPress(ctx, { text: "This card has expired; send the link again.", show_alert: true });
      return;
    case "finished":
      await answerPress(ctx, { text: "This job has already finished." });
      return;
    case "card": {
      const view = card(ctx.from!.id, outcome.requested);
      await answerPress(ctx);
      await showInPlace((text, other) => ctx.editMessageText(text, other), view);
      return;
    }
    case "changed":
      await answerPress(ctx, { text: `After the download: ${describeSeedPolicy(outcome.policy)}.` });
      return;
    case "too-late":
      await answerPress(ctx, { text: "aria2 already has every byte: how long to seed is settled; you can only stop seeding now.", show_alert: true });
      return;
    case "stopping":
      await answerPress(ctx, { text: "Stopping the seeding: destroying the droplet…" });
      return;
    case "not-seeding":
      await answerPress(ctx, { text: "This job is not seeding." });
      return;
  }
}

// "Seed after download" buttons: one per choice, the current one marked; and "Stop seeding" once the droplet seeds.
import { encodeSeedPolicy, SEED_CHOICES, seedChoiceLabel, type SeedPolicy } from "../jobs/torrent/seeding-policy.js";
import { seedButton, stopSeedingButton } from "./callback-data.js";

export function seedChoiceButtons(jobId: number, current: SeedPolicy): { text: string; data: string }[] {
  const now = encodeSeedPolicy(current);
  return SEED_CHOICES.map((p) => {
    const code = encodeSeedPolicy(p);
    const label = `🌱 ${seedChoiceLabel(p)}`;
    return { text: code === now ? `✅ ${seedChoiceLabel(p)}` : label, data: seedButton.pack({ jobId, code }) };
  });
}

export function stopSeedingButtonFor(jobId: number): { text: string; data: string } {
  return { text: "⏹ Stop seeding", data: stopSeedingButton.pack({ jobId }) };
}

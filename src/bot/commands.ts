// The built-in commands, one list that feeds both /help and Telegram's command menu (setMyCommands).
import type { BotCommandSpec } from "./deps.js";

export const BUILTIN_COMMANDS: BotCommandSpec[] = [
  { command: "start", description: "Introduction" },
  { command: "help", description: "What Dropship does, with examples" },
  { command: "jobs", description: "Your recent jobs, their state and cost", usage: "/jobs — your recent jobs with state and cost" },
  { command: "cancel", description: "Cancel a job: /cancel <id>", usage: "/cancel <id> — stop a job (/cancel alone lists running ones)" },
];

/** Built-ins first, then features' commands; a later duplicate of a command name is dropped. */
export function mergeCommands(lists: BotCommandSpec[][]): BotCommandSpec[] {
  const seen = new Set<string>();
  return lists.flat().filter((c) => !seen.has(c.command) && seen.add(c.command));
}

/** Telegram's rules for setMyCommands, checked when the bot is built rather than when Telegram refuses. */
export function assertValidCommands(commands: BotCommandSpec[]): void {
  for (const c of commands) {
    if (!/^[a-z0-9_]{1,32}$/.test(c.command)) {
      throw new Error(`bot command "${c.command}" is invalid: use 1-32 lowercase letters, digits or underscores, without the slash`);
    }
    if (c.description.length < 1 || c.description.length > 256) {
      throw new Error(`bot command "${c.command}" needs a description of 1-256 characters`);
    }
  }
  if (commands.length > 100) throw new Error(`Telegram accepts at most 100 bot commands, not ${commands.length}`);
}

// How a person is named in the chat: "Fred Smith (@fred)" as Telegram shows them, kept (KnownUsers) for the lists
// that name people — who a host belongs to and is shared with — since the bot sees a name only when that person writes.
import type { Context, MiddlewareFn } from "grammy";
import type { User } from "grammy/types";
import type { KnownUsers } from "../jobs/known-users.js";

export function displayName(u: Pick<User, "first_name" | "last_name" | "username">): string {
  const full = [u.first_name, u.last_name].filter(Boolean).join(" ");
  return u.username ? `${full} (@${u.username})` : full;
}

/** "you", "Fred (@fred) · 1002" or "1002": a user as shown to `viewerId`. */
export function personLabel(userId: number, viewerId: number, nameOf: (id: number) => string | undefined): string {
  if (userId === viewerId) return "you";
  const name = nameOf(userId);
  return name ? `${name} · ${userId}` : String(userId);
}

/** After access control: remembers the sender's name (only allowed users get this far). */
export function rememberNames<C extends Context>(users: Pick<KnownUsers, "remember">, botOwnerId: number): MiddlewareFn<C> {
  return (ctx, next) => {
    const from = ctx.from;
    if (from && !from.is_bot) users.remember(from.id, from.id === botOwnerId ? "owner" : "user", displayName(from));
    return next();
  };
}

// Chat text for jobs, as pure functions: Telegram HTML within the message limit, user input always escaped.
export * from "./format.js";
export * from "./telegram-html.js";
export * from "./torrent-card.js";
export * from "./torrent-quote-card.js";
export * from "./torrent-progress.js";
export * from "./torrent-done.js";
export * from "./torrent-delivery.js";
export * from "./failure.js";
export * from "./file-picker.js";
export * from "./seeding.js";

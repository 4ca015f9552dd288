// Entry point for `npm start`: load .env, validate config, start the app, stop cleanly on SIGTERM/SIGINT.
import { ConfigError, loadConfig, readEnvironment } from "./config.js";
import { startApp } from "./app/start-app.js";

/** The process is gone this long after SIGTERM at the latest. */
const EXIT_BACKSTOP_MS = 4800;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(readEnvironment());
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee .env.example for every setting.\n`);
      process.exit(1);
    }
    throw err;
  }
  const app = await startApp(config);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, "shutdown requested");
    // stop() keeps to its own deadline; this is the backstop that keeps the promise of an exit within 5 s of SIGTERM
    // whatever hangs (the next start resumes or cleans up what is left).
    setTimeout(() => {
      app.logger.error("shutdown did not finish in time; exiting anyway");
      process.exit(1);
    }, EXIT_BACKSTOP_MS).unref();
    app.stop().then(
      () => process.exit(process.exitCode ?? 0),
      (err: unknown) => {
        app.logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  // A bug that escapes every handler: log it, then stop the way SIGTERM does (droplets destroyed), and exit non-zero
  // so a supervisor restarts the bot; the next start's reaper covers anything the stop could not finish.
  process.on("unhandledRejection", (err) => {
    app.logger.fatal({ err }, "unhandled rejection; stopping");
    process.exitCode = 1;
    shutdown("unhandledRejection");
  });
}

main().catch((err: unknown) => {
  // Start-up failures (unreachable Telegram, a bad token) end here: one line, no stack, no secrets.
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`Dropship could not start: ${message.replace(/bot\d+:[A-Za-z0-9_-]+/g, "bot[Redacted]")}\n`);
  process.exit(1);
});

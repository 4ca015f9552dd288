import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/shared/logger.js";

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (s: string) => void lines.push(s) } };
}

const BOT_TOKEN = "987654:AAHsecretsecretsecretsecretsecret12";
const DO_TOKEN = "dop_v1_deadbeefdeadbeefdeadbeefdeadbeef";
const SIGNING_KEY = "f00dfacef00dfacef00dfacef00dface";
const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----";

describe("logger redaction", () => {
  it("keeps secrets out of every field, message and error, by key and by value", () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: "trace", secrets: [BOT_TOKEN, DO_TOKEN, SIGNING_KEY], destination });
    log.info({ token: DO_TOKEN, nested: { privateKey: PRIVATE_KEY, authorization: `Bearer ${DO_TOKEN}` } }, "start");
    log.info(`fetching https://api.telegram.org/bot${BOT_TOKEN}/getMe`);
    log.warn({ url: `http://127.0.0.1/file/bot${BOT_TOKEN}/x`, link: `https://f/1/a?sig=${SIGNING_KEY}` }, "links");
    log.error({ err: new Error(`request to /bot${BOT_TOKEN}/sendMessage failed (key ${SIGNING_KEY})`) }, "boom");
    log.child({ job: 1 }).debug({ headers: { authorization: `Bearer ${DO_TOKEN}` } }, "child");
    // A token we were not told about still matches the bot-token shape.
    log.info("other bot: https://x/bot111222:ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ/getMe");
    const all = lines.join("\n");
    expect(lines).toHaveLength(6);
    for (const secret of [BOT_TOKEN, DO_TOKEN, SIGNING_KEY, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmU", "ZZZZZZZZZZZZZZZZZZZZ"]) {
      expect(all).not.toContain(secret);
    }
    expect(all).toContain("[Redacted]");
    // The lines are still valid JSON with their non-secret content.
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed[0]!.msg).toBe("start");
    expect(parsed[4]!.job).toBe(1);
  });
});

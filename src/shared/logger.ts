// The one pino logger: JSON by default, pretty on request, secrets redacted by key and by value.
import pino, { type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";
import { createRedactor } from "./redact.js";

export type { Logger };

/** Keys whose values are secrets wherever they appear in a log object. */
const REDACTED_KEYS = [
  "token",
  "botToken",
  "apiToken",
  "authorization",
  "Authorization",
  "password",
  "passphrase",
  "privateKey",
  "private_key",
  "secret",
  "signingKey",
  "sig",
  "user_data",
  "userData",
];

const REDACTED_PATHS = [
  ...REDACTED_KEYS,
  ...REDACTED_KEYS.map((k) => `*.${k}`),
  ...REDACTED_KEYS.map((k) => `*.*.${k}`),
  "headers.authorization",
  "*.headers.authorization",
  "config.telegram.token",
  "config.digitalOcean.token",
  "config.web.signingKey",
];

export interface LoggerOptions {
  level: string;
  pretty?: boolean;
  /** Known secret values (tokens, keys) scrubbed from every message and string field, wherever they hide. */
  secrets?: string[];
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  // The configured values, and anything shaped like a token or a private key (SECRET_PATTERNS in redact.ts).
  const scrub = createRedactor({ values: opts.secrets ?? [], minLength: 8, censor: "[Redacted]" });
  const sink: DestinationStream =
    opts.destination ?? (opts.pretty ? (pretty({ colorize: true, sync: true }) as DestinationStream) : pino.destination(1));
  // Last line of defence: every emitted line is scrubbed of known secret values, whatever field they hide in.
  const scrubbing: DestinationStream = { write: (line: string) => sink.write(scrub(line)) };
  return pino(
    { level: opts.level, redact: { paths: REDACTED_PATHS, censor: "[Redacted]" } },
    scrubbing,
  );
}

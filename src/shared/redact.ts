// One redaction for everything Dropship shows or writes: known secret values (private answers, tokens, keys) and
// anything shaped like a secret. The logger scrubs its lines with it; playbook runs scrub chat text and the log.

/** What a hidden secret looks like in chat text and in the log document. */
export const REDACTED = "********";

/**
 * Values shorter than this are left alone: hiding every "y" or "no" would garble every message. Configured secrets
 * (tokens, keys) are far longer; a private answer this short is no secret worth the name.
 */
export const MIN_REDACTED_LENGTH = 4;

/** Shapes of secrets Dropship may meet without being told their values. */
export const SECRET_PATTERNS: readonly RegExp[] = [
  // Telegram bot tokens, also inside URLs (https://api.telegram.org/bot<token>/...): "bot" itself stays readable.
  /(?<=bot)\d{3,}:[A-Za-z0-9_-]{20,}/g,
  /\b\d{5,}:AA[A-Za-z0-9_-]{30,}/g,
  // DigitalOcean personal access, OAuth and refresh tokens.
  /\bdo[opr]_v1_[0-9a-f]{64}\b/g,
  // PEM and OpenSSH private keys, whole blocks (in JSON lines their newlines are "\n" escapes; [\s\S] spans both).
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----/g,
];

export interface RedactOptions {
  /** Known secret values; each occurrence is replaced whole (longest first, so one containing another goes whole). */
  values?: readonly string[];
  /** Values shorter than this are not replaced (default MIN_REDACTED_LENGTH). */
  minLength?: number;
  /** The replacement (default REDACTED). */
  censor?: string;
}

export type Redactor = (text: string) => string;

/** A function that hides the given values and every SECRET_PATTERNS match in a text. */
export function createRedactor(opts: RedactOptions = {}): Redactor {
  const censor = opts.censor ?? REDACTED;
  const min = opts.minLength ?? MIN_REDACTED_LENGTH;
  const values = [...new Set(opts.values ?? [])].filter((v) => v.length >= min).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const v of values) if (out.includes(v)) out = out.split(v).join(censor);
    for (const p of SECRET_PATTERNS) out = out.replace(p, censor);
    return out;
  };
}

/**
 * A copy of a JSON-like value with every string (object keys included) passed through `redact`: for events whose
 * strings come from a playbook (Ansible renders variables into task names and messages).
 */
export function redactStrings<T>(value: T, redact: Redactor): T {
  if (typeof value === "string") return redact(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactStrings(v, redact)) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactStrings(v, redact)])) as T;
  }
  return value;
}

/**
 * Hides the part of a secret left at the start (or end) of a text that was cut out of a longer one: a cut through
 * the middle of a secret leaves a piece no whole-value match finds.
 */
export function redactCutEdges(text: string, values: readonly string[], edge: "start" | "end", minLength = MIN_REDACTED_LENGTH): string {
  let out = text;
  for (const v of values) {
    if (v.length < minLength) continue;
    // Two characters of a secret say nothing; matching them would hide innocent text at every cut.
    for (let k = v.length - 1; k >= 3; k--) {
      if (edge === "start" && out.startsWith(v.slice(-k))) {
        out = REDACTED + out.slice(k);
        break;
      }
      if (edge === "end" && out.endsWith(v.slice(0, k))) {
        out = out.slice(0, out.length - k) + REDACTED;
        break;
      }
    }
  }
  return out;
}

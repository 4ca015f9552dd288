// An API transformer that logs every failed Bot API call (method, code, description), retried or not,
// so Telegram trouble (429 floods, 5xx, a dead long poll) shows in our logs rather than on the console.
import type { Transformer } from "grammy";
import type { Logger } from "../shared/logger.js";

export function apiErrorLog(logger: Logger): Transformer {
  return async (prev, method, payload, signal) => {
    try {
      const res = await prev(method, payload, signal);
      if (!res.ok) {
        logger.warn(
          { method, error_code: res.error_code, description: res.description, retry_after: res.parameters?.retry_after },
          "Telegram refused an API call",
        );
      }
      return res;
    } catch (err) {
      if (!signal?.aborted) logger.warn({ method, err }, "an API call to Telegram failed");
      throw err;
    }
  };
}

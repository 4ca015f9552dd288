// A sleep that an AbortSignal cuts short, rejecting with the signal's own reason (not a generic AbortError),
// so that "job cancelled" reaches the caller as the canceller worded it.
import { setTimeout as sleep } from "node:timers/promises";

export async function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  try {
    await sleep(ms, undefined, { signal });
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw err;
  }
}

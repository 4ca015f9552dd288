// Collects a command's stdout/stderr as text: streams decoded chunks to a callback and keeps a bounded copy.
import { StringDecoder } from "node:string_decoder";
import { CappedText } from "../shared/capped-text.js";

/**
 * Keep at most this much of each stream (its start and its end): a chatty pip install must not fill the bot's
 * memory, and the end says why a command failed.
 */
export const MAX_KEPT_CHARS = 4 * 1024 * 1024;

export class OutputCollector {
  private readonly decoder = new StringDecoder("utf8");
  private readonly kept = new CappedText({ headChars: MAX_KEPT_CHARS / 4, tailChars: (MAX_KEPT_CHARS * 3) / 4 });

  constructor(private readonly onChunk?: (chunk: string) => void) {}

  push(data: Buffer | string): void {
    const chunk = typeof data === "string" ? data : this.decoder.write(data);
    if (chunk) this.add(chunk);
  }

  /** What was kept: all of it, or its start and end with a line saying how much was cut between them. */
  end(): string {
    const rest = this.decoder.end();
    if (rest) this.add(rest);
    return this.kept.text();
  }

  private add(chunk: string): void {
    this.onChunk?.(chunk);
    this.kept.push(chunk);
  }
}

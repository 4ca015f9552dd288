// Collects a command's stdout/stderr as text: streams decoded chunks to a callback and keeps a bounded copy.
import { StringDecoder } from "node:string_decoder";

/** Keep at most this much of each stream; a chatty pip install must not fill the bot's memory. */
const MAX_KEPT_CHARS = 4 * 1024 * 1024;

export class OutputCollector {
  private readonly decoder = new StringDecoder("utf8");
  private text = "";
  private truncated = false;

  constructor(private readonly onChunk?: (chunk: string) => void) {}

  push(data: Buffer | string): void {
    const chunk = typeof data === "string" ? data : this.decoder.write(data);
    if (chunk) this.add(chunk);
  }

  end(): string {
    const rest = this.decoder.end();
    if (rest) this.add(rest);
    return this.truncated ? `[… earlier output cut …]\n${this.text}` : this.text;
  }

  private add(chunk: string): void {
    this.onChunk?.(chunk);
    this.text += chunk;
    if (this.text.length > MAX_KEPT_CHARS) {
      this.text = this.text.slice(-MAX_KEPT_CHARS / 2);
      this.truncated = true;
    }
  }
}

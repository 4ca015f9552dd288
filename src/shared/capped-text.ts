// Output kept in memory with a ceiling: the first `headChars` and the last `tailChars` of a stream, and how much of
// the middle was dropped. A command printing 50 MB must not take 50 MB (twice, as UTF-16) of the bot's memory.
import { formatBytes } from "./text-format.js";

export interface CappedTextLimits {
  headChars: number;
  tailChars: number;
}

export class CappedText {
  private head = "";
  private headFull = false;
  private tail: string[] = [];
  /** Index of the first chunk still in the tail (chunks before it were dropped; compacted now and then). */
  private tailStart = 0;
  private tailLength = 0;
  private cutChars = 0;
  private cutBytes = 0;
  private total = 0;

  constructor(private readonly limits: CappedTextLimits) {}

  /** Characters seen so far, kept or not. */
  get seenChars(): number {
    return this.total;
  }

  /** Characters dropped from the middle so far. */
  get droppedChars(): number {
    return this.cutChars;
  }

  push(chunk: string): void {
    if (!chunk) return;
    this.total += chunk.length;
    let rest = chunk;
    if (!this.headFull) {
      const room = this.limits.headChars - this.head.length;
      this.head += rest.slice(0, room);
      rest = rest.slice(room);
      if (this.head.length >= this.limits.headChars) this.headFull = true;
      if (!rest) return;
    }
    this.tail.push(rest);
    this.tailLength += rest.length;
    this.trimTail();
  }

  /**
   * Head, a line saying how much was cut, tail. The cut falls on line ends where there are any, so what is shown is
   * whole lines; `onCut` sees the two sides of a cut (to hide the piece of a secret a cut went through).
   */
  text(onCut?: (head: string, tail: string) => { head: string; tail: string }): string {
    const tail = this.tail.slice(this.tailStart).join("");
    if (this.cutChars === 0) return this.head + tail;
    let head = this.head;
    let kept = tail;
    const headEnd = head.lastIndexOf("\n");
    if (headEnd >= 0 && headEnd < head.length - 1) head = head.slice(0, headEnd + 1);
    const tailStart = kept.indexOf("\n");
    if (tailStart >= 0 && tailStart < kept.length - 1) kept = kept.slice(tailStart + 1);
    const extra = this.head.length - head.length + tail.length - kept.length;
    const bytes = this.cutBytes + Buffer.byteLength(this.head.slice(head.length)) + Buffer.byteLength(tail.slice(0, tail.length - kept.length));
    const sides = onCut ? onCut(head, kept) : { head, tail: kept };
    const marker = `[… ${formatBytes(bytes)} (${(this.cutChars + extra).toLocaleString("en")} characters) of output cut here …]\n`;
    return `${sides.head}${sides.head.endsWith("\n") || !sides.head ? "" : "\n"}${marker}${sides.tail}`;
  }

  private trimTail(): void {
    while (this.tailLength > this.limits.tailChars) {
      const over = this.tailLength - this.limits.tailChars;
      const first = this.tail[this.tailStart]!;
      const drop = first.length <= over ? first : first.slice(0, over);
      if (drop === first) this.tailStart += 1;
      else this.tail[this.tailStart] = first.slice(over);
      this.tailLength -= drop.length;
      this.cutChars += drop.length;
      this.cutBytes += Buffer.byteLength(drop);
    }
    // Many short lines: drop the spent chunks in one go rather than shifting the array on every line.
    if (this.tailStart > 1024 && this.tailStart * 2 > this.tail.length) {
      this.tail = this.tail.slice(this.tailStart);
      this.tailStart = 0;
    }
  }
}

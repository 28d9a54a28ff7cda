import { isAscii, isUtf8 } from 'node:buffer';

/**
 * Byte chunks -> complete lines, with the byte bookkeeping checkpoints need.
 *
 * One `LineSplitter` per open source. It never holds more than `maxLineBytes` of an unfinished
 * line: beyond that the line's head is kept, the rest is dropped and counted (`droppedBytes`), and
 * the line is delivered (truncated) once its newline arrives. Invalid UTF-8 becomes U+FFFD, so
 * binary garbage arrives as odd but harmless text.
 */

/** Receives a source's lines. Implemented by the counting side. */
export interface LineHandler {
  /** One complete line without its `\n` (a trailing `\r` is removed too). */
  line(text: string): void;
  /**
   * One complete line that is not valid UTF-8; `decoded` is its text with U+FFFD for each invalid
   * sequence (a header with a stray byte in its message is still a header).
   */
  invalidLine(decoded?: string): void;
  /**
   * Optional fast path: a run of whole lines as bytes (each ends with `\n`, a `\r` before it is the
   * handler's to strip; `block.length <= maxLineBytes`, so no line needs cutting). The buffer is the
   * caller's again after the call. Returns how many lines it held (counting invalid ones into
   * `stats.invalidLines`), or -1 to have them delivered one by one through `line()` instead.
   */
  lineBlock?(block: Buffer, stats: SplitterStats): number;
  /**
   * Lines handed over that are not yet counted because they belong to a record still open
   * (its continuation lines may follow). The checkpoint must not advance past them.
   */
  pendingLines(): number;
  /** No more data for now (idle source, EOF in `--once`): finish the open record. */
  finish(): void;
}

/** What a splitter has seen so far, for `/status` and self-metrics. */
export interface SplitterStats {
  lines: number;
  /** Lines that were not valid UTF-8 (handed over as `invalidLine`). */
  invalidLines: number;
  bytes: number;
  truncatedLines: number;
  droppedBytes: number;
}

const NL = 10;
const CR = 13;

/**
 * Splits a source's bytes into lines and tracks `committedOffset`: the offset just past the last
 * line whose counts are final (no open record), i.e. where a restart must resume.
 */
export class LineSplitter {
  /** Position of the next byte to be pushed (the source offset of `carry`'s end). */
  position: number;
  /** Offset of the first byte of the current unfinished line (== end of the last complete line). */
  lineStart: number;
  /** Offset at which every earlier line's counts are final. */
  committedOffset: number;
  readonly stats: SplitterStats = { lines: 0, invalidLines: 0, bytes: 0, truncatedLines: 0, droppedBytes: 0 };
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private carryTruncated = false;

  constructor(
    private readonly handler: LineHandler,
    startOffset: number,
    private readonly maxLineBytes: number,
  ) {
    this.position = startOffset;
    this.lineStart = startOffset;
    this.committedOffset = startOffset;
  }

  /** Bytes of an unfinished line held in memory. */
  get heldBytes(): number {
    return this.carryBytes;
  }

  /** Feed the next bytes of the source (the buffer may be reused by the caller afterwards). */
  push(data: Buffer): void {
    const n = data.length;
    if (n === 0) return;
    this.stats.bytes += n;
    const start = this.position;
    this.position += n;
    const lastNl = data.lastIndexOf(NL);
    if (lastNl < 0) {
      this.hold(data);
      return;
    }
    const firstNl = data.indexOf(NL);
    let linesInChunk = 0;
    // The first line may have begun in earlier chunks.
    if (this.carryBytes > 0) {
      this.hold(data.subarray(0, firstNl));
      this.emitCarry();
    } else {
      const valid = isUtf8(data.subarray(0, firstNl));
      if (valid) this.emit(this.decodeLine(data, 0, firstNl));
      else this.emitInvalid(this.decodeLine(data, 0, firstNl));
    }
    linesInChunk++;
    if (lastNl > firstNl) {
      const block = data.subarray(firstNl + 1, lastNl + 1);
      const handled =
        typeof this.handler.lineBlock === 'function' && block.length <= this.maxLineBytes
          ? this.handler.lineBlock(block, this.stats)
          : -1;
      if (handled >= 0) {
        this.stats.lines += handled;
        linesInChunk += handled;
      }
      // Most logs are ASCII: latin1 makes a one-byte string without UTF-8 decoding.
      else if (isAscii(block)) linesInChunk += this.emitBlock(block, 'latin1', true);
      else linesInChunk += this.emitBlock(block, 'utf8', isUtf8(block));
    }
    if (lastNl + 1 < n) this.hold(data.subarray(lastNl + 1));
    const prevLineStart = this.lineStart;
    this.lineStart = start + lastNl + 1;
    this.commit(data, start, lastNl, linesInChunk, prevLineStart);
  }

  /** Deliver a held unfinished line as complete (EOF in `--once`, a file that is gone for good). */
  flushPartial(): void {
    if (this.carryBytes === 0) return;
    this.emitCarry();
    this.lineStart = this.position;
    this.handler.finish();
    this.committedOffset = this.position;
  }

  /** The source went quiet: let the handler close its record, then everything read is final. */
  finish(): void {
    this.handler.finish();
    if (this.handler.pendingLines() === 0) this.committedOffset = this.lineStart;
  }

  /** Forget a held partial line (the file was truncated under it). */
  dropPartial(): void {
    this.stats.droppedBytes += this.carryBytes;
    this.carry = [];
    this.carryBytes = 0;
    this.carryTruncated = false;
  }

  /**
   * Deliver the complete lines of `block` (it ends with `\n`). Each line is decoded into a string of
   * its own rather than sliced out of one string of the whole chunk: whatever the counting side keeps
   * of a line (a task instance key waiting for its executor event, an open record's lines) then holds
   * that line, not the chunk it was read with. Slices kept whole chunks alive until V8's next full
   * GC; `--once` on the bench corpus peaked 40-70 MB higher. In a block that is not valid UTF-8, the
   * lines that decode to U+FFFD are the invalid ones.
   */
  private emitBlock(block: Buffer, encoding: 'latin1' | 'utf8', valid: boolean): number {
    const h = this.handler;
    const max = this.maxLineBytes;
    let count = 0;
    let pos = 0;
    const len = block.length;
    while (pos < len) {
      const nl = block.indexOf(NL, pos);
      let end = nl;
      if (end > pos && block[end - 1] === CR) end--;
      let line = block.toString(encoding, pos, end);
      if (!valid && line.indexOf('\uFFFD') !== -1 && !isUtf8(block.subarray(pos, end))) {
        this.stats.invalidLines++;
        h.invalidLine(line.length > max ? line.slice(0, max) : line);
        count++;
        pos = nl + 1;
        continue;
      }
      if (line.length > max) {
        this.stats.truncatedLines++;
        this.stats.droppedBytes += Buffer.byteLength(line) - max;
        line = line.slice(0, max);
      }
      h.line(line);
      count++;
      pos = nl + 1;
    }
    this.stats.lines += count;
    return count;
  }

  private emit(line: string): void {
    this.stats.lines++;
    this.handler.line(line);
  }

  private emitInvalid(decoded: string): void {
    this.stats.lines++;
    this.stats.invalidLines++;
    this.handler.invalidLine(decoded);
  }

  private emitCarry(): void {
    const buf = this.carry.length === 1 ? this.carry[0]! : Buffer.concat(this.carry, this.carryBytes);
    // A truncated line may end inside a multi-byte character: judge the head only.
    if (isUtf8(buf) || (this.carryTruncated && isUtf8(buf.subarray(0, Math.max(0, buf.length - 3))))) {
      this.emit(this.takeCarry(buf));
    } else {
      this.emitInvalid(this.takeCarry(buf));
    }
  }

  private decodeLine(buf: Buffer, from: number, to: number): string {
    let end = to;
    if (end > from && buf[end - 1] === CR) end--;
    if (end - from > this.maxLineBytes) {
      this.stats.truncatedLines++;
      this.stats.droppedBytes += end - from - this.maxLineBytes;
      end = from + this.maxLineBytes;
    }
    return buf.toString('utf8', from, end);
  }

  private hold(part: Buffer): void {
    if (part.length === 0) return;
    const room = this.maxLineBytes - this.carryBytes;
    if (room <= 0) {
      this.stats.droppedBytes += part.length;
      this.carryTruncated = true;
      return;
    }
    const kept = part.length > room ? part.subarray(0, room) : part;
    if (kept.length < part.length) {
      this.stats.droppedBytes += part.length - kept.length;
      this.carryTruncated = true;
    }
    // Copy: the caller reuses its read buffer.
    this.carry.push(Buffer.from(kept));
    this.carryBytes += kept.length;
  }

  private takeCarry(buf: Buffer): string {
    let end = buf.length;
    if (!this.carryTruncated && end > 0 && buf[end - 1] === CR) end--;
    if (this.carryTruncated) this.stats.truncatedLines++;
    this.carry = [];
    this.carryBytes = 0;
    this.carryTruncated = false;
    return buf.toString('utf8', 0, end);
  }

  /**
   * Advance `committedOffset` to the start of the oldest line still pending in the handler. The
   * pending lines are the last `p` lines pushed; find where they start by walking back over `p`
   * newlines of this chunk, or keep the earlier commit point when the open record began before it.
   */
  private commit(data: Buffer, start: number, lastNl: number, linesInChunk: number, prevLineStart: number): void {
    const p = this.handler.pendingLines();
    if (p === 0) {
      this.committedOffset = this.lineStart;
      return;
    }
    if (p > linesInChunk) return; // the open record started in an earlier chunk: commit point unchanged
    if (p === linesInChunk) {
      this.committedOffset = prevLineStart;
      return;
    }
    // The first pending line starts right after the (p+1)-th newline counted from the end.
    let nl = lastNl;
    for (let i = 0; i < p; i++) nl = data.lastIndexOf(NL, nl - 1);
    this.committedOffset = start + nl + 1;
  }
}

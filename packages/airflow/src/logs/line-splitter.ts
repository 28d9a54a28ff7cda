import { isUtf8 } from 'node:buffer';
import type { RecordAssembler } from './assembler.ts';
import type { LineKind } from './types.ts';

type Utf8Sliceable = Buffer & { utf8Slice(start: number, end: number): string };

/** Options for {@link LogLineSplitter}. */
export interface LogLineSplitterOptions {
  /**
   * Bytes of one line kept for classification (default 1 MiB). A longer line is still one line: its
   * head decides what it is and the rest is skipped up to the newline, so memory stays bounded.
   */
  maxLineBytes?: number;
}

/**
 * Bytes in, classified lines out: splits chunks on `\n` (a line may span chunks), drops a trailing
 * `\r`, bounds line length, and hands each line to a {@link RecordAssembler}. Lines that are not valid
 * UTF-8 are counted as unparsed (`invalid-utf8`); the assembler handles NUL bytes (`binary`).
 * Nothing here throws on content.
 *
 * `completeBytes` is the byte count through the last newline seen: the offset a checkpoint may record,
 * since a partial last line is held until its newline arrives (or `end()` is called at EOF).
 */
export class LogLineSplitter {
  /** Lines longer than `maxLineBytes` (classified by their head). */
  truncatedLines = 0;
  /** Bytes consumed through the last complete line. */
  completeBytes = 0;
  private readonly maxLineBytes: number;
  private pending: Buffer = Buffer.alloc(0);
  private pendingLength = 0;
  private pendingBytesSeen = 0;

  constructor(
    private readonly assembler: RecordAssembler,
    private readonly onLine?: (kind: LineKind) => void,
    options: LogLineSplitterOptions = {},
  ) {
    this.maxLineBytes = options.maxLineBytes ?? 1024 * 1024;
  }

  /** Bytes of an incomplete last line held back. */
  get pendingBytes(): number {
    return this.pendingBytesSeen;
  }

  /** Feed the next chunk of the stream. */
  push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl === -1) break;
      if (this.pendingBytesSeen === 0) {
        this.emit(buf, start, nl, nl - start);
        this.completeBytes += nl + 1 - start;
      } else {
        this.hold(buf, start, nl);
        this.emit(this.pending, 0, this.pendingLength, this.pendingBytesSeen);
        this.completeBytes += this.pendingBytesSeen + 1;
        this.pendingLength = 0;
        this.pendingBytesSeen = 0;
      }
      start = nl + 1;
    }
    if (start < buf.length) this.hold(buf, start, buf.length);
  }

  /** End of input: an unterminated last line is emitted as a line. */
  end(): void {
    if (this.pendingBytesSeen === 0) return;
    this.emit(this.pending, 0, this.pendingLength, this.pendingBytesSeen);
    this.completeBytes += this.pendingBytesSeen;
    this.pendingLength = 0;
    this.pendingBytesSeen = 0;
  }

  private hold(buf: Buffer, start: number, end: number): void {
    this.pendingBytesSeen += end - start;
    const room = this.maxLineBytes - this.pendingLength;
    if (room <= 0) return;
    const n = Math.min(room, end - start);
    if (this.pending.length < this.pendingLength + n) {
      const grown = Buffer.allocUnsafe(
        Math.min(this.maxLineBytes, Math.max(this.pendingLength + n, this.pending.length * 2, 256)),
      );
      this.pending.copy(grown, 0, 0, this.pendingLength);
      this.pending = grown;
    }
    buf.copy(this.pending, this.pendingLength, start, start + n);
    this.pendingLength += n;
  }

  private emit(buf: Buffer, start: number, end: number, fullLength: number): void {
    let stop = end;
    if (fullLength > this.maxLineBytes) {
      this.truncatedLines++;
      stop = Math.min(stop, start + this.maxLineBytes);
    } else if (stop > start && buf[stop - 1] === 13) {
      stop--;
    }
    // utf8Slice skips toString's encoding lookup, which costs more than the decode for short lines.
    const text = (buf as Utf8Sliceable).utf8Slice(start, stop);
    // U+FFFD marks a decoding failure, but may also be a real character: confirm on the bytes.
    // A truncated head may end inside a multi-byte character; that alone is not garbage.
    const checkEnd = fullLength > this.maxLineBytes ? Math.max(start, stop - 3) : stop;
    if (text.indexOf('\ufffd') !== -1 && !isUtf8(buf.subarray(start, checkEnd))) {
      const kind = this.assembler.pushUnparsed('invalid-utf8');
      this.onLine?.(kind);
      return;
    }
    const kind = this.assembler.push(text);
    this.onLine?.(kind);
  }
}

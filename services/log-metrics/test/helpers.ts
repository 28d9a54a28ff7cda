import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@windsock/core';
import { FileTailer, type FileTailerOptions, type OpenedFile } from '../src/inputs/file-tailer.ts';
import { type LineHandler, LineSplitter } from '../src/inputs/lines.ts';

/** A temp directory removed by the returned cleanup. */
export function tempDir(prefix = 'lm-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A handler that keeps every line, with no open records. */
export class RecordingHandler implements LineHandler {
  readonly lines: string[] = [];
  invalid = 0;
  finishes = 0;
  line(text: string): void {
    this.lines.push(text);
  }
  invalidLine(): void {
    this.invalid++;
    this.lines.push('<invalid>');
  }
  pendingLines(): number {
    return 0;
  }
  finish(): void {
    this.finishes++;
  }
}

/** A tailer whose files all feed one list of lines (with the path each came from). */
export function recordingTailer(
  opts: Partial<FileTailerOptions> & Pick<FileTailerOptions, 'inputs'> & { maxLineBytes?: number },
) {
  const lines: { path: string; text: string }[] = [];
  const opened: OpenedFile[] = [];
  const tailer = new FileTailer({
    startPosition: 'beginning',
    logger: silentLogger(),
    idleFinishMs: 50,
    rescanIntervalMs: 0,
    ...opts,
    openFile: (f: OpenedFile) => {
      opened.push(f);
      const handler: LineHandler = {
        line: (text) => lines.push({ path: f.path, text }),
        invalidLine: () => lines.push({ path: f.path, text: '<invalid>' }),
        pendingLines: () => 0,
        finish: () => undefined,
      };
      return (offset: number) => new LineSplitter(handler, offset, opts.maxLineBytes ?? 1 << 20);
    },
  } as FileTailerOptions);
  return { tailer, lines, opened };
}

/** Resolve after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import type { Logger } from '@windsock/core';
import { PathProblems } from './discovery.ts';
import { compilePattern, type PathPattern } from './glob.ts';
import {
  FINGERPRINT_BYTES,
  type FileIdentity,
  fingerprintOf,
  identityOf,
  inodeKey,
  sameContentStart,
} from './identity.ts';

/** One configured file input: a path or glob (what else it carries is the caller's). */
export interface FileInput {
  path: string;
}

/**
 * The consumer side of one followed file, at a byte position. The tailer reads raw bytes and
 * pushes them in file order; the cursor splits them into lines (or classifies whole chunks) and
 * reports how far it got. `LineSplitter` in log-metrics is one.
 */
export interface TailCursor {
  /** Offset of the next byte `push` expects. */
  readonly position: number;
  /** Offset just past the last complete line (a truncation resumes the copy from here). */
  readonly lineStart: number;
  /** Offset before which every line's effect is final: what a checkpoint records. */
  readonly committedOffset: number;
  /** What the cursor has seen (for stats; kept across the cursor's life). */
  readonly stats: { lines: number; bytes: number; truncatedLines: number; droppedBytes: number };
  /** The next bytes of the file, `[position, position + chunk.length)`; the buffer is reused afterwards. */
  push(chunk: Buffer): void;
  /** The file went quiet (or is being given up): close any open record. */
  finish(): void;
  /** The file ends here for good: deliver a held unfinished line as a line. */
  flushPartial(): void;
  /** The file was truncated under a held unfinished line: forget it. */
  dropPartial(): void;
}

/** Per opened file: makes its cursor at a start offset (called again after truncation or rotation). */
export type CursorFactory = (startOffset: number) => TailCursor;

/** Where files present at start-up are read from (files appearing later are always read from their start). */
export type StartPosition = 'checkpoint' | 'beginning' | 'end';

/** A file's persisted read position. */
export interface FileCheckpoint extends FileIdentity {
  path: string;
  offset: number;
}

/** What the cursor factory learns about a newly opened file. */
export interface OpenedFile<I extends FileInput = FileInput> {
  path: string;
  input: I;
  identity: FileIdentity;
}

/** Options of {@link FileTailer}. */
export interface FileTailerOptions<I extends FileInput = FileInput> {
  inputs: I[];
  startPosition: StartPosition;
  /**
   * The checkpoint read at start-up; `undefined` when there is none (first start). An entry is
   * matched to a file by dev+inode with the same first bytes, or else by content alone (a copy made
   * by copytruncate while the service was down resumes at the entry's offset); see identity.ts.
   */
  checkpoint?: FileCheckpoint[] | undefined;
  /**
   * Paths whose checkpoint entry was invalid (dropped while loading): a file found there at
   * start-up is read from its end (nothing counted twice; lines written while down are skipped).
   */
  distrustedPaths?: Iterable<string>;
  /** A file was opened: return its cursor factory. */
  openFile: (file: OpenedFile<I>) => CursorFactory;
  logger: Logger;
  cwd?: string;
  readChunkBytes?: number;
  /** Bytes read from one file per poll before moving on (keeps the event loop responsive). */
  maxBytesPerPoll?: number;
  /** A file quiet this long has its open record finished (the last line of a finished task counts). */
  idleFinishMs?: number;
  /** Descriptors kept open at most; the least recently active files are closed (and reopened by name). */
  maxOpenFiles?: number;
  /** Fingerprint files (needed for checkpoints and rotation by copy); off for one-shot reads. */
  fingerprints?: boolean;
  /**
   * A file found after start-up that is shorter than a fingerprint is read once it has been quiet
   * this long (it may be a copy still being written; see README). Default 1000.
   */
  youngQuietMs?: number;
  /** How often globs are expanded again to find new files; between rescans only known files are polled. */
  rescanIntervalMs?: number;
  /** A quiet file's descriptor is closed after this long (renamed/deleted files are then forgotten). */
  closeInactiveMs?: number;
  /**
   * Milliseconds one `poll` may spend reading before it returns (with a backlog) so timers, HTTP and
   * SIGTERM are served; the next poll goes on with the files read least recently. Default 200.
   */
  pollBudgetMs?: number;
}

/** Counters about the tailer itself (for `/status` and self-metrics). */
export interface TailerStats {
  openFiles: number;
  trackedFiles: number;
  rotations: number;
  truncations: number;
  linesRead: number;
  bytesRead: number;
  truncatedLines: number;
  droppedBytes: number;
}

interface Reader<I extends FileInput> {
  key: string;
  path: string;
  input: I;
  identity: FileIdentity;
  fd: number | undefined;
  splitter: TailCursor;
  cursor: CursorFactory;
  lastSize: number;
  lastDataAt: number;
  finished: boolean;
  /** Present but no longer named by any input (renamed away or deleted): drained, then closed. */
  orphan: boolean;
  /**
   * Set while this file is a copy of a live file we follow (copytruncate's copy, found before the
   * truncation): it is not read on its own, since its bytes are the original's.
   */
  copyOf?: string | undefined;
  /** A copy still being written may be shorter than the offset it resumes at: not a truncation. */
  growingCopy: boolean;
  /** Opened, start offset not chosen yet (a young file that may be a copy in progress). */
  undecided: boolean;
}

interface Truncation {
  fingerprint: string;
  offset: number;
  at: number;
}

const TRUNCATION_MEMORY_MS = 60_000;
/** A file shorter than a fingerprint must be this quiet before it is taken for a new file rather than a copy in progress. */
const YOUNG_QUIET_MS = 1000;
const FORGOTTEN_MEMORY_MS = 600_000;
const MAX_FORGOTTEN = 10_000;

/**
 * Follows files by name like `tail -F`, by polling `stat` (see README: why polling). Each file is
 * known by a fingerprint of its first bytes, with device + inode as the hint (identity.ts), which
 * makes rename rotation, copytruncate (also while stopped), truncation, deletion and inode reuse
 * distinguishable. Bytes go to one {@link TailCursor} per file; `checkpoints()` returns the offsets
 * the cursors have committed. A path that cannot be read is reported once (`problems`), not every poll.
 */
export class FileTailer<I extends FileInput = FileInput> {
  private readonly patterns: { pattern: PathPattern; input: I }[];
  private readonly readers = new Map<string, Reader<I>>();
  private readonly truncations: Truncation[] = [];
  private readonly restored: Map<string, FileCheckpoint>;
  /** Restored entries with a full fingerprint, by fingerprint (the copy of a file rotated while stopped). */
  private readonly restoredByContent = new Map<string, FileCheckpoint>();
  private readonly distrusted: Set<string>;
  /** Bad paths, each reported once until it recovers. */
  readonly problems: PathProblems;
  private readonly pollBudgetMs: number;
  private readDeadline = Number.POSITIVE_INFINITY;
  private firstScanDone = false;
  private reading = true;
  private lastRescanAt = 0;
  /** Readers with an open descriptor, least recently active first. */
  private readonly lru = new Map<string, Reader<I>>();
  private readonly maxOpenFiles: number;
  private readonly fingerprints: boolean;
  private readonly youngQuietMs: number;
  private readonly rescanIntervalMs: number;
  private readonly forgotten = new Map<string, FileCheckpoint & { at: number }>();
  private readonly buf: Buffer;
  private readonly maxBytesPerPoll: number;
  private readonly idleFinishMs: number;
  private readonly closeInactiveMs: number;
  private readonly counters = { rotations: 0, truncations: 0, linesGone: 0, bytesGone: 0, truncGone: 0, dropGone: 0 };

  constructor(private readonly opts: FileTailerOptions<I>) {
    this.problems = new PathProblems(opts.logger);
    this.patterns = opts.inputs.map((input) => ({
      pattern: compilePattern(input.path, opts.cwd, (dir, err) => this.problems.report(dir, err)),
      input,
    }));
    this.restored = new Map((opts.checkpoint ?? []).map((c) => [inodeKey(c.dev, c.ino), c]));
    for (const c of opts.checkpoint ?? []) {
      if (c.fingerprintBytes === FINGERPRINT_BYTES && c.fingerprint.length === 32) {
        this.restoredByContent.set(c.fingerprint, c);
      }
    }
    this.distrusted = new Set(opts.distrustedPaths ?? []);
    this.pollBudgetMs = opts.pollBudgetMs ?? 200;
    this.buf = Buffer.allocUnsafe(opts.readChunkBytes ?? 1 << 20);
    this.maxBytesPerPoll = opts.maxBytesPerPoll ?? 64 << 20;
    this.idleFinishMs = opts.idleFinishMs ?? 1000;
    this.closeInactiveMs = opts.closeInactiveMs ?? 30_000;
    this.rescanIntervalMs = opts.rescanIntervalMs ?? 5000;
    this.maxOpenFiles = opts.maxOpenFiles ?? 512;
    this.fingerprints = opts.fingerprints ?? true;
    this.youngQuietMs = opts.youngQuietMs ?? YOUNG_QUIET_MS;
  }

  /**
   * One pass: find the files the inputs name, read what is new, notice rotation and truncation.
   * Returns true when some file still has unread bytes (call again soon).
   */
  poll(now = Date.now(), rescan = false, settle = false, budgetMs = this.pollBudgetMs): boolean {
    const full = rescan || !this.firstScanDone || now - this.lastRescanAt >= this.rescanIntervalMs;
    this.fpIndex = undefined;
    this.readDeadline = budgetMs === Number.POSITIVE_INFINITY ? budgetMs : performance.now() + budgetMs;
    const seen = new Map<string, { path: string; input: I; st: Stats }>();
    const consider = (path: string, input: I, named: boolean) => {
      let st: Stats | undefined;
      try {
        st = statSync(path, { throwIfNoEntry: false });
      } catch (err) {
        // ELOOP, ENOTDIR, EACCES...: this path is reported once; the others go on.
        this.problems.report(path, err);
        return;
      }
      if (!st) {
        // Node 24's throwIfNoEntry also hides ENOTDIR (Node 20 threw it): a path through a file
        // is a bad path, not one to wait for, so a named path that is absent is looked at again.
        if (named) {
          const notDir = enotdir(path);
          if (notDir) this.problems.report(path, notDir);
          else this.problems.waiting(path);
        }
        return;
      }
      if (!st.isFile()) {
        if (named) this.problems.report(path, 'not a regular file');
        return;
      }
      this.problems.ok(path);
      const key = inodeKey(st.dev, st.ino);
      if (!seen.has(key)) seen.set(key, { path, input, st });
    };
    if (full) {
      this.lastRescanAt = now;
      for (const { pattern, input } of this.patterns) {
        let any = false;
        for (const path of pattern.paths()) {
          any = true;
          consider(path, input, !pattern.isGlob);
        }
        if (pattern.isGlob) {
          if (any) this.problems.ok(pattern.pattern);
          else this.problems.waiting(pattern.pattern);
        }
      }
    } else {
      // Between rescans only the files already followed (and plain paths) are looked at.
      for (const { pattern, input } of this.patterns) if (!pattern.isGlob) consider(pattern.expand()[0]!, input, true);
      for (const r of this.readers.values()) consider(r.path, r.input, false);
    }
    this.scanSeen = seen;
    let backlog = false;
    // Known files first, so that a truncation is recorded before its rotated copy is looked at.
    // Iterated over a copy: a reader that is read moves to the end (round robin under the budget).
    for (const r of [...this.readers.values()]) {
      const s = seen.get(r.key);
      if (s) {
        seen.delete(r.key);
        r.orphan = false;
        r.path = s.path;
        backlog = this.follow(r, s.st.size, now, s.st.mtimeMs) || backlog;
      } else {
        backlog = this.drainOrphan(r, now, full) || backlog;
      }
    }
    for (const [key, s] of seen) {
      // A young file found after start-up may be a copy still being written: it is opened now (so
      // a quick delete loses nothing) but its start offset is decided once it has been quiet for
      // YOUNG_QUIET_MS or is long enough to carry a full fingerprint.
      const young = this.firstScanDone && !settle && s.st.size < FINGERPRINT_BYTES;
      const r = this.open(key, s.path, s.input, now, young);
      if (r) backlog = this.follow(r, s.st.size, now, s.st.mtimeMs) || backlog;
    }
    this.firstScanDone = true;
    this.scanSeen = undefined;
    const cutoff = now - TRUNCATION_MEMORY_MS;
    while (this.truncations.length > 0 && this.truncations[0]!.at < cutoff) this.truncations.shift();
    for (const [key, f] of this.forgotten) {
      if (f.at >= now - FORGOTTEN_MEMORY_MS && this.forgotten.size <= MAX_FORGOTTEN) break;
      this.forgotten.delete(key);
    }
    return backlog;
  }

  /** A first full scan that opens and places every file but reads nothing. */
  prime(): void {
    this.reading = false;
    try {
      this.poll(Date.now(), true, false, Number.POSITIVE_INFINITY);
    } finally {
      this.reading = true;
    }
  }

  /** Read every named file to its end, deliver held partial lines, finish every record (`--once`). */
  drainToEnd(): void {
    this.poll(Date.now(), true, true, Number.POSITIVE_INFINITY);
    for (const r of this.readers.values()) if (r.undecided && r.fd !== undefined) this.decide(r);
    while (this.poll(Date.now(), false, true, Number.POSITIVE_INFINITY)) {
      /* keep reading until no file has a backlog */
    }
    for (const r of this.readers.values()) {
      r.splitter.flushPartial();
      r.splitter.finish();
    }
  }

  /** Finish open records of every file now (before the final flush on shutdown). */
  finishAll(): void {
    for (const r of this.readers.values()) {
      r.splitter.finish();
      r.finished = true;
    }
  }

  /** The resume point of every tracked file: offsets only past lines whose counts are final. */
  checkpoints(): FileCheckpoint[] {
    const out: FileCheckpoint[] = [];
    for (const r of this.readers.values()) {
      out.push({ ...r.identity, path: r.path, offset: r.splitter.committedOffset });
    }
    return out;
  }

  /** Tailer counters (lines/bytes include files already closed). */
  stats(): TailerStats {
    let open = 0;
    let lines = this.counters.linesGone;
    let bytes = this.counters.bytesGone;
    let trunc = this.counters.truncGone;
    let dropped = this.counters.dropGone;
    for (const r of this.readers.values()) {
      if (r.fd !== undefined) open++;
      lines += r.splitter.stats.lines;
      bytes += r.splitter.stats.bytes;
      trunc += r.splitter.stats.truncatedLines;
      dropped += r.splitter.stats.droppedBytes;
    }
    return {
      openFiles: open,
      trackedFiles: this.readers.size,
      rotations: this.counters.rotations,
      truncations: this.counters.truncations,
      linesRead: lines,
      bytesRead: bytes,
      truncatedLines: trunc,
      droppedBytes: dropped,
    };
  }

  /** Close every descriptor. */
  close(): void {
    for (const r of this.readers.values()) this.closeFd(r);
  }

  private open(key: string, path: string, input: I, now: number, young: boolean): Reader<I> | undefined {
    let fd: number;
    try {
      // Non-blocking: a FIFO swapped in after the stat must not hang the process.
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      this.problems.report(path, err);
      return undefined;
    }
    let st: Stats;
    try {
      st = fstatSync(fd);
    } catch (err) {
      closeSync(fd);
      this.problems.report(path, err);
      return undefined;
    }
    if (inodeKey(st.dev, st.ino) !== key || !st.isFile()) {
      closeSync(fd); // replaced between stat and open: the next poll sees the new file
      return undefined;
    }
    const identity: FileIdentity = { dev: st.dev, ino: st.ino, fingerprintBytes: 0, fingerprint: '' };
    const cursor = this.opts.openFile({ path, input, identity });
    const r: Reader<I> = {
      key,
      path,
      input,
      identity,
      fd,
      splitter: cursor(0),
      cursor,
      lastSize: st.size,
      lastDataAt: now,
      finished: true,
      orphan: false,
      growingCopy: false,
      undecided: true,
    };
    this.readers.set(key, r);
    this.opened(r);
    if (!young) this.decide(r, st.size);
    return r;
  }

  /** Fingerprint of an open file (a cheap stand-in when fingerprints are off, as in `--once`). */
  private identify(fd: number, dev: number, ino: number, size: number): FileIdentity {
    return this.fingerprints ? identityOf(fd, dev, ino, size) : { dev, ino, fingerprintBytes: 0, fingerprint: '' };
  }

  /** A descriptor was opened: bound how many are open, closing the least recently active ones. */
  private opened(r: Reader<I>): void {
    this.lru.set(r.key, r);
    if (this.lru.size <= this.maxOpenFiles) return;
    for (const [key, victim] of this.lru) {
      if (this.lru.size <= this.maxOpenFiles) break;
      // A renamed or deleted file can only be drained through its descriptor; a young one may vanish.
      if (victim === r || victim.orphan || victim.undecided) continue;
      this.closeFd(victim);
      this.lru.delete(key);
    }
  }

  /** Choose where a newly found file is read from (see `startOffset`). */
  private decide(r: Reader<I>, knownSize?: number): void {
    const fd = r.fd!;
    const size = knownSize ?? fstatSync(fd).size;
    r.identity = this.identify(fd, r.identity.dev, r.identity.ino, size);
    const { offset, copyOf, growingCopy } = this.startOffset(fd, r.key, r.identity, size, r.path);
    r.undecided = false;
    r.splitter = r.cursor(offset);
    r.lastSize = -1;
    r.copyOf = copyOf;
    r.growingCopy = growingCopy ?? false;
    this.fpIndex = undefined;
    this.opts.logger.debug({ path: r.path, offset, copyOf }, 'following log file');
  }

  private fpIndex: Map<string, string> | undefined;

  /** Full fingerprints of followed files -> their key; rebuilt once per poll when needed. */
  private fingerprintIndex(): Map<string, string> {
    if (!this.fpIndex) {
      this.fpIndex = new Map();
      for (const r of this.readers.values()) {
        // Originals only: a copy (or a file not yet placed) must not pose as its own original.
        if (r.undecided || r.copyOf !== undefined || r.growingCopy) continue;
        if (r.identity.fingerprintBytes === FINGERPRINT_BYTES) this.fpIndex.set(r.identity.fingerprint, r.key);
      }
    }
    return this.fpIndex;
  }

  private startOffset(
    fd: number,
    key: string,
    id: FileIdentity,
    size: number,
    path: string,
  ): { offset: number; copyOf?: string; growingCopy?: boolean } {
    const mode = this.opts.startPosition;
    const gone = this.forgotten.get(key);
    if (gone) {
      this.forgotten.delete(key);
      // A file we let go of came back under a name an input matches: go on where we were.
      if (sameContentStart(fd, gone)) return { offset: gone.offset <= size ? gone.offset : 0 };
    }
    if (mode === 'checkpoint' && !this.firstScanDone) {
      const cp = this.restored.get(key);
      if (cp && sameContentStart(fd, cp)) return this.resume(cp, fd, size);
      // Not the file this inode held at the checkpoint: is it that file's copy (copytruncate or a
      // copy-and-delete rotation while stopped)? Identity is the content, the inode only a hint.
      if (this.restoredByContent.size > 0 && size >= FINGERPRINT_BYTES) {
        const fp = fingerprintOf(fd, FINGERPRINT_BYTES);
        const twin = fp === undefined ? undefined : this.restoredByContent.get(fp);
        if (twin && !this.heldByItsInode(twin, key)) return this.resume(twin, fd, size);
      }
      if (this.distrusted.has(path)) {
        return { offset: endOfLastLine(fd, size) };
      }
    }
    if (id.fingerprintBytes === FINGERPRINT_BYTES && this.firstScanDone) {
      const twin = this.fingerprintIndex().get(id.fingerprint);
      if (twin !== undefined && twin !== key) {
        // A copy of a file we are following (copytruncate's copy): its bytes are counted from the
        // original; if the original is truncated later, the copy supplies what we had not read.
        return { offset: 0, copyOf: twin };
      }
      for (let i = this.truncations.length - 1; i >= 0; i--) {
        const t = this.truncations[i]!;
        // The copy of a file truncated under us: resume where we were (the copy may still be growing).
        if (t.fingerprint === id.fingerprint) return { offset: t.offset, growingCopy: t.offset > size };
      }
    }
    if (this.firstScanDone) return { offset: 0 };
    if (mode === 'beginning') return { offset: 0 };
    if (mode === 'checkpoint' && this.opts.checkpoint !== undefined) return { offset: 0 };
    return { offset: endOfLastLine(fd, size) };
  }

  /**
   * Whether the file now at a restored entry's dev/ino still starts with the entry's bytes (then it
   * is that file, and a look-alike found first must not take its entry).
   */
  private heldByItsInode(cp: FileCheckpoint, key: string): boolean {
    const owner = this.scanSeen?.get(inodeKey(cp.dev, cp.ino));
    if (!owner || inodeKey(cp.dev, cp.ino) === key) return false;
    let fd: number | undefined;
    try {
      fd = openSync(owner.path, constants.O_RDONLY | constants.O_NONBLOCK);
      const st = fstatSync(fd);
      return inodeKey(st.dev, st.ino) === inodeKey(cp.dev, cp.ino) && sameContentStart(fd, cp);
    } catch {
      return false;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** The files of the poll in progress, by dev:ino. */
  private scanSeen: Map<string, { path: string }> | undefined;

  /** Resume at a restored entry (used once), never past the file's end. */
  private resume(cp: FileCheckpoint, fd: number, size: number): { offset: number } {
    this.restored.delete(inodeKey(cp.dev, cp.ino));
    this.restoredByContent.delete(cp.fingerprint);
    if (cp.offset <= size) return { offset: cp.offset };
    // The same first KiB but shorter than where we were: rewritten while stopped. Reading it from 0
    // would count its lines again; from its end, lines written while stopped are not counted.
    const offset = endOfLastLine(fd, size);
    this.opts.logger.warn(
      { path: cp.path, checkpointOffset: cp.offset, size, offset },
      'log file is shorter than its checkpoint offset: reading it from its end (nothing counted twice)',
    );
    return { offset };
  }

  /** Read what a named file has gained; handle truncation and in-place rewrites. */
  private follow(r: Reader<I>, size: number, now: number, mtimeMs: number): boolean {
    if (r.undecided) {
      if (this.youngQuietMs > 0 && size < FINGERPRINT_BYTES && now - mtimeMs < this.youngQuietMs) return false;
      this.decide(r);
    }
    if (r.copyOf !== undefined) {
      if (this.readers.has(r.copyOf)) return false;
      r.copyOf = undefined; // the original is gone without being truncated: nothing of the copy is new
      r.splitter = r.cursor(size);
      r.lastSize = size;
      return false;
    }
    if (r.growingCopy && size >= r.splitter.position) r.growingCopy = false;
    if (size !== r.lastSize) {
      if (!this.ensureOpen(r)) return false;
      const fd = r.fd!;
      const shrank = size < r.splitter.position && !r.growingCopy;
      if (shrank || !sameContentStart(fd, r.identity)) this.truncated(r, now);
      if (r.identity.fingerprintBytes < FINGERPRINT_BYTES && size > r.identity.fingerprintBytes) {
        r.identity = this.identify(fd, r.identity.dev, r.identity.ino, size);
        this.fpIndex = undefined;
      }
    }
    r.lastSize = size;
    return this.readAvailable(r, size, now);
  }

  private readAvailable(r: Reader<I>, size: number, now: number): boolean {
    if (!this.reading) return false;
    // Over this poll's time budget: the file keeps its backlog for the next poll.
    if (r.splitter.position < size && performance.now() > this.readDeadline) return true;
    // A descriptor closed to bound open files (or after a quiet spell) is reopened by name when
    // there is something to read; without this a file with a backlog and no new bytes spun forever.
    if (r.fd === undefined && r.splitter.position < size && !r.orphan && !this.ensureOpen(r)) return false;
    let budget = this.maxBytesPerPoll;
    let got = false;
    while (r.splitter.position < size && budget > 0 && r.fd !== undefined) {
      const want = Math.min(this.buf.length, size - r.splitter.position, budget);
      let n: number;
      try {
        n = readSync(r.fd, this.buf, 0, want, r.splitter.position);
      } catch (err) {
        this.problems.report(r.path, err);
        this.closeFd(r);
        return false;
      }
      if (n === 0) break;
      r.splitter.push(this.buf.subarray(0, n));
      budget -= n;
      got = true;
      if (performance.now() > this.readDeadline) break;
    }
    if (got) {
      r.lastDataAt = now;
      r.finished = false;
      this.lru.delete(r.key);
      this.lru.set(r.key, r);
      // Round robin: a file read now is looked at after the others next time.
      this.readers.delete(r.key);
      this.readers.set(r.key, r);
    } else if (!r.finished && now - r.lastDataAt >= this.idleFinishMs) {
      r.splitter.finish();
      r.finished = true;
    }
    if (!got && r.fd !== undefined && now - r.lastDataAt >= this.closeInactiveMs) this.closeFd(r);
    return r.splitter.position < size;
  }

  private truncated(r: Reader<I>, now: number): void {
    this.counters.truncations++;
    this.fpIndex = undefined;
    const offset = r.splitter.lineStart;
    if (r.identity.fingerprintBytes === FINGERPRINT_BYTES && r.identity.fingerprint.length > 0) {
      this.truncations.push({ fingerprint: r.identity.fingerprint, offset, at: now });
      // A copy found before the truncation was parked at its end; it now supplies the unread tail.
      for (const c of this.readers.values()) {
        if (c.copyOf !== r.key) continue;
        c.copyOf = undefined; // a copy belongs to this one truncation only
        this.retire(c.splitter);
        c.splitter = c.cursor(offset);
        c.lastSize = -1;
        c.growingCopy = true;
      }
    }
    this.opts.logger.info({ path: r.path, offset }, 'log file truncated: reading it from the start');
    r.splitter.finish();
    r.splitter.dropPartial();
    this.retire(r.splitter);
    r.splitter = r.cursor(0);
    r.identity = this.identify(r.fd!, r.identity.dev, r.identity.ino, 0);
  }

  /** A file no input names any more: read what is left through the open descriptor, then let go. */
  private drainOrphan(r: Reader<I>, now: number, full: boolean): boolean {
    if (!r.orphan) {
      r.orphan = true;
      this.counters.rotations++;
      this.opts.logger.debug({ path: r.path }, 'log file renamed or deleted: draining it');
    }
    if (r.fd === undefined) {
      if (full) this.forget(r);
      return false;
    }
    if (r.undecided) this.decide(r);
    let st: Stats;
    try {
      st = fstatSync(r.fd);
    } catch {
      this.forget(r);
      return false;
    }
    const backlog = this.readAvailable(r, st.size, now);
    // Only a full rescan may conclude that no input names the file any more.
    if (full && !backlog && now - r.lastDataAt >= Math.min(this.closeInactiveMs, 5000)) {
      r.splitter.flushPartial();
      r.splitter.finish();
      this.forget(r);
    }
    return backlog;
  }

  private forget(r: Reader<I>): void {
    this.forgotten.set(r.key, { ...r.identity, path: r.path, offset: r.splitter.committedOffset, at: Date.now() });
    this.closeFd(r);
    this.retire(r.splitter);
    this.readers.delete(r.key);
  }

  private retire(s: TailCursor): void {
    this.counters.linesGone += s.stats.lines;
    this.counters.bytesGone += s.stats.bytes;
    this.counters.truncGone += s.stats.truncatedLines;
    this.counters.dropGone += s.stats.droppedBytes;
  }

  private ensureOpen(r: Reader<I>): boolean {
    if (r.fd !== undefined) return true;
    try {
      const fd = openSync(r.path, constants.O_RDONLY | constants.O_NONBLOCK);
      const st = fstatSync(fd);
      if (inodeKey(st.dev, st.ino) !== r.key) {
        closeSync(fd);
        return false;
      }
      r.fd = fd;
      this.opened(r);
      return true;
    } catch {
      return false;
    }
  }

  private closeFd(r: Reader<I>): void {
    this.lru.delete(r.key);
    if (r.fd === undefined) return;
    try {
      closeSync(r.fd);
    } catch {
      /* already closed */
    }
    r.fd = undefined;
  }
}

/** Offset just past the last newline within the file's last 64 KiB (or its size if none). */
function endOfLastLine(fd: number, size: number): number {
  if (size === 0) return 0;
  const len = Math.min(size, 65536);
  const b = Buffer.allocUnsafe(len);
  const n = readSync(fd, b, 0, len, size - len);
  const nl = b.subarray(0, n).lastIndexOf(10);
  return nl < 0 ? size : size - len + nl + 1;
}

/** The ENOTDIR error of a path that runs through a file, or undefined (the path is simply absent). */
function enotdir(path: string): NodeJS.ErrnoException | undefined {
  try {
    statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return err as NodeJS.ErrnoException;
  }
  return undefined;
}

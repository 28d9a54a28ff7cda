/**
 * File identity: what makes a file "the same file" across renames, copytruncate rotation and
 * restarts.
 *
 * The scheme (one for every Windsock service that follows files):
 *  - **Identity is content.** A file is known by the SHA-256 of its first `fingerprintBytes` bytes
 *    (up to {@link FINGERPRINT_BYTES} = 1 KiB; truncated to 128 bits, 32 hex digits), as Vector
 *    (`fingerprint.strategy = checksum`) and Fluent Bit (its db's file offset check) do. A copy made by
 *    copytruncate (new inode, same first KiB) is therefore recognised as the file already read,
 *    and a reused inode with other content is not mistaken for the old file.
 *  - **Device + inode are a hint**, used to find the candidate quickly (`inodeKey`) and to tell two
 *    open descriptors apart; they never make two files "the same" on their own when the content
 *    says otherwise.
 *  - A file shorter than 1 KiB has a fingerprint over what it holds (`fingerprintBytes` < 1 KiB);
 *    it grows to the full KiB as the file grows. Comparing always hashes the same prefix length.
 *  - Checkpoints written before this scheme carry a 20-hex-digit SHA-1 prefix; {@link sameContentStart}
 *    still accepts those, so an upgrade does not re-read (or skip) anything.
 */
import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';

/** Bytes at the start of a file that make up its full fingerprint. */
export const FINGERPRINT_BYTES = 1024;

/** A file's identity (see the module comment for the scheme). */
export interface FileIdentity {
  dev: number;
  ino: number;
  /** How many leading bytes `fingerprint` covers (grows to FINGERPRINT_BYTES as the file grows). */
  fingerprintBytes: number;
  /** Hex digest of those bytes ('' when the file was empty). */
  fingerprint: string;
}

/** `dev:ino`, the hint key of an open file. */
export function inodeKey(dev: number, ino: number): string {
  return `${dev}:${ino}`;
}

const scratch = Buffer.allocUnsafe(FINGERPRINT_BYTES);

/** Reads up to `length` leading bytes into `scratch`; returns how many were there. */
function readStart(fd: number, length: number): number {
  const want = Math.min(length, FINGERPRINT_BYTES);
  let got = 0;
  while (got < want) {
    const n = readSync(fd, scratch, got, want - got, got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** The digest of a byte prefix (SHA-256, 128 bits in hex). */
export function fingerprintBytes(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 32);
}

/** Pre-scheme checkpoints: SHA-1, 80 bits in hex. */
function legacyFingerprint(bytes: Buffer): string {
  return createHash('sha1').update(bytes).digest('hex').slice(0, 20);
}

/** Hash of the first `length` bytes of an open file, or undefined if the file is shorter now. */
export function fingerprintOf(fd: number, length: number): string | undefined {
  const want = Math.min(length, FINGERPRINT_BYTES);
  const got = readStart(fd, want);
  return got < want ? undefined : fingerprintBytes(scratch.subarray(0, want));
}

/**
 * The identity of an open file believed to be `size` bytes long. The fingerprint covers what is
 * really there when it is read (a file truncated since its stat gives a shorter fingerprint, never
 * a wrong one).
 */
export function identityOf(fd: number, dev: number, ino: number, size: number): FileIdentity {
  const got = readStart(fd, size);
  return { dev, ino, fingerprintBytes: got, fingerprint: got === 0 ? '' : fingerprintBytes(scratch.subarray(0, got)) };
}

/** Whether an open file still starts with the bytes `id` remembers (dev/ino are not compared). */
export function sameContentStart(fd: number, id: Pick<FileIdentity, 'fingerprintBytes' | 'fingerprint'>): boolean {
  if (id.fingerprintBytes === 0) return true;
  const want = Math.min(id.fingerprintBytes, FINGERPRINT_BYTES);
  if (readStart(fd, want) < want) return false;
  const bytes = scratch.subarray(0, want);
  return id.fingerprint.length === 20
    ? legacyFingerprint(bytes) === id.fingerprint
    : fingerprintBytes(bytes) === id.fingerprint;
}

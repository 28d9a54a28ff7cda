import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';

/** Bytes at the start of a file that make up its fingerprint (once the file is that long). */
export const FINGERPRINT_BYTES = 1024;

/**
 * What makes a file the same file across renames and restarts: device and inode, plus a hash of
 * its first bytes so that a reused inode or a file rewritten in place is not mistaken for the old one.
 */
export interface FileIdentity {
  dev: number;
  ino: number;
  /** How many leading bytes `fingerprint` covers (grows to FINGERPRINT_BYTES as the file grows). */
  fingerprintBytes: number;
  fingerprint: string;
}

/** `dev:ino`, the key of an open reader. */
export function inodeKey(dev: number, ino: number): string {
  return `${dev}:${ino}`;
}

const scratch = Buffer.allocUnsafe(FINGERPRINT_BYTES);

/** Reads up to `length` leading bytes; returns how many were there. */
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

function hash(bytes: number): string {
  return createHash('sha1').update(scratch.subarray(0, bytes)).digest('hex').slice(0, 20);
}

/** Hash of the first `length` bytes of an open file, or undefined if the file is shorter now. */
export function fingerprintOf(fd: number, length: number): string | undefined {
  const want = Math.min(length, FINGERPRINT_BYTES);
  const got = readStart(fd, want);
  return got < want ? undefined : hash(want);
}

/**
 * The identity of an open file believed to be `size` bytes long. The fingerprint covers what is
 * really there when it is read (a file truncated since its stat gives a shorter fingerprint, never
 * a wrong one).
 */
export function identityOf(fd: number, dev: number, ino: number, size: number): FileIdentity {
  const got = readStart(fd, size);
  return { dev, ino, fingerprintBytes: got, fingerprint: got === 0 ? '' : hash(got) };
}

/** Whether an open file (its dev/ino already compared) still starts with the remembered bytes. */
export function sameContentStart(fd: number, id: FileIdentity): boolean {
  if (id.fingerprintBytes === 0) return true;
  return fingerprintOf(fd, id.fingerprintBytes) === id.fingerprint;
}

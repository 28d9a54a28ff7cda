/**
 * @windsock/logfiles: a log folder as a set of growing files. Discovery by polling (discovery.ts),
 * identity by content fingerprint with dev/inode as a hint (identity.ts), byte-offset tailing that
 * survives rename and copytruncate rotation (tailer.ts), and the one atomic writer for state files
 * (atomic.ts). See README.md.
 */
export { AtomicFile, type AtomicFileOptions, writeFileAtomic } from './atomic.ts';
export { PathProblems } from './discovery.ts';
export { compilePattern, type PathPattern } from './glob.ts';
export {
  FINGERPRINT_BYTES,
  type FileIdentity,
  fingerprintBytes,
  fingerprintOf,
  identityOf,
  inodeKey,
  sameContentStart,
} from './identity.ts';
export { FileProblem, fileProblem, openLogFile } from './open.ts';
export {
  type CursorFactory,
  type FileCheckpoint,
  type FileInput,
  FileTailer,
  type FileTailerOptions,
  type OpenedFile,
  type StartPosition,
  type TailCursor,
  type TailerStats,
} from './tailer.ts';

// Entry of a `--once` worker thread: tsx runs the TypeScript sources, and a worker thread needs its
// own loader registration (the CLI registers tsx in the main thread only).
import { register } from 'tsx/esm/api';

register();
await import('./once-worker.ts');

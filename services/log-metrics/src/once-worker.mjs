// Entry of a `--once` worker thread. Compiled (dist/, where once-worker.js sits beside this file) it
// imports the JavaScript; from the sources, tsx runs the TypeScript, and a worker thread needs its
// own loader registration (the CLI registers tsx in the main thread only).
import { existsSync } from 'node:fs';

const compiled = new URL('./once-worker.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./once-worker.ts');
}

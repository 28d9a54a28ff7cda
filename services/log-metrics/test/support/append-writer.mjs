// Appends numbered lines to a file at a steady rate, rotating it the way a logger or logrotate
// would. Usage: node append-writer.mjs FILE COUNT LINES_PER_MS MODE EVERY
//   MODE rename:       rename FILE -> FILE.N every EVERY lines, then continue in a new FILE
//   MODE copytruncate: copy FILE -> FILE.N and truncate FILE every EVERY lines (writer keeps its fd)
//   MODE none
// Each line is written with one write(2) on an O_APPEND descriptor, like Python's logging.
import { closeSync, copyFileSync, ftruncateSync, openSync, renameSync, writeSync } from 'node:fs';

const [file, countArg, rateArg, mode = 'none', everyArg = '0'] = process.argv.slice(2);
const count = Number(countArg);
const perMs = Number(rateArg);
const every = Number(everyArg);
let fd = openSync(file, 'a');
let rotation = 0;
const start = Date.now();
for (let i = 1; i <= count; i++) {
  writeSync(fd, `[2024-05-01T10:00:00.000+0000] {writer.py:1} INFO - seq=${i} payload=${'p'.repeat(i % 97)}\n`);
  if (every > 0 && i % every === 0 && i < count) {
    rotation++;
    if (mode === 'rename') {
      closeSync(fd);
      renameSync(file, `${file}.${rotation}`);
      fd = openSync(file, 'a');
    } else if (mode === 'copytruncate') {
      copyFileSync(file, `${file}.${rotation}`);
      ftruncateSync(fd, 0);
    }
  }
  // Pace: busy-wait in small steps so the reader sees a file that grows while it reads.
  while (Date.now() - start < i / perMs) {
    /* spin */
  }
}
closeSync(fd);

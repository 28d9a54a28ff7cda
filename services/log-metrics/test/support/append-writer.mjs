// Appends numbered lines to a file, rotating it the way a logger or logrotate would.
// Usage: node append-writer.mjs FILE COUNT LINES_PER_MS MODE EVERY [TAIL]
//   MODE rename:       rename FILE -> FILE.N every EVERY lines, then continue in a new FILE
//   MODE copytruncate: copy FILE -> FILE.N and truncate FILE every EVERY lines (writer keeps its fd)
//   MODE none
// Each line is written with one write(2) on an O_APPEND descriptor, like Python's logging.
//
// With an IPC channel (the test's), the writer asks before each rotation: TAIL lines before it
// rotates it sends {ready: N} and waits for {go: N}, which the test sends after a poll of the
// tailer. So every file has been seen at least once by the tailer however slow the machine is
// (tail -F cannot follow a file created and rotated away between two polls), and the TAIL lines
// written after that poll are, for the tailer, only in the rotated file (or the copy).
// Exits 0 and sends {done: COUNT} at the end.
import { closeSync, copyFileSync, ftruncateSync, openSync, renameSync, writeSync } from 'node:fs';

const [file, countArg, rateArg, mode = 'none', everyArg = '0', tailArg = '100'] = process.argv.slice(2);
const count = Number(countArg);
const perMs = Number(rateArg);
const every = Number(everyArg);
const tail = Number(tailArg);
const handshake = typeof process.send === 'function';
let fd = openSync(file, 'a');
let rotation = 0;
const start = Date.now();

/** Wait for the test's {go: n}. */
function waitForGo(n) {
  return new Promise((resolve) => {
    const onMessage = (m) => {
      if (m && m.go === n) {
        process.off('message', onMessage);
        resolve();
      }
    };
    process.on('message', onMessage);
    process.send({ ready: n });
  });
}

for (let i = 1; i <= count; i++) {
  writeSync(fd, `[2024-05-01T10:00:00.000+0000] {writer.py:1} INFO - seq=${i} payload=${'p'.repeat(i % 97)}\n`);
  if (handshake && every > 0 && i < count && (i + tail) % every === 0) await waitForGo(rotation + 1);
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
if (handshake) {
  process.send({ done: count });
  process.disconnect();
}

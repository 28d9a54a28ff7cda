// Appends Airflow-format records at a steady rate, with rename rotation, for the crash test.
// Usage: node crash-writer.mjs FILE MAX_RECORDS RECORDS_PER_SECOND ROTATE_EVERY [STOP_FILE]
// It stops after MAX_RECORDS, or once STOP_FILE exists, and prints how many records it wrote.
// Record i: i % 5 == 0 -> ERROR with a 3-line traceback; i % 5 == 1 -> WARNING; else INFO.
// Each record is one write(2), the way Python's logging writes a formatted record.
import { closeSync, existsSync, openSync, renameSync, writeSync } from 'node:fs';

const [file, recordsArg, rateArg, rotateArg, stopFile] = process.argv.slice(2);
const records = Number(recordsArg);
const perSecond = Number(rateArg);
const rotateEvery = Number(rotateArg);
let fd = openSync(file, 'a');
let rotation = 0;
let written = 0;
const start = Date.now();
for (let i = 1; i <= records; i++) {
  const ts = new Date(start + i).toISOString().replace('Z', '+0000');
  let rec;
  if (i % 5 === 0) {
    rec =
      `[${ts}] {crash.py:${i}} ERROR - record ${i} failed\n` +
      'Traceback (most recent call last):\n' +
      `  File "/opt/airflow/dags/crash.py", line ${i}, in run\n` +
      `ValueError: boom ${i}\n`;
  } else if (i % 5 === 1) {
    rec = `[${ts}] {crash.py:${i}} WARNING - record ${i} is slow\n`;
  } else {
    rec = `[${ts}] {crash.py:${i}} INFO - record ${i} ok\n`;
  }
  writeSync(fd, rec);
  written = i;
  if (rotateEvery > 0 && i % rotateEvery === 0 && i < records) {
    closeSync(fd);
    renameSync(file, `${file}.${++rotation}`);
    fd = openSync(file, 'a');
  }
  const due = start + (i * 1000) / perSecond;
  const wait = due - Date.now();
  if (wait > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
  if (stopFile && existsSync(stopFile)) break;
}
closeSync(fd);
process.stdout.write(`${written}\n`);

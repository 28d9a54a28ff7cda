/**
 * 100 trials of SIGKILL at random moments while a changing tree of task logs is shipped with
 * delete-after-shipped retention. After every kill the journal decodes completely; every tenth
 * trial (and at the end) a shipper runs to completion and every byte of every file is in S3 —
 * files still present equal their object, deleted files equal their object too (so none was
 * deleted before its final version was confirmed). Every fifth trial is killed while the shipper
 * is still starting (loading and compacting the journal, scanning).
 *
 * Cost: the child (helpers/crash-child.ts, the real LogShipper) is bundled once with esbuild, which
 * makes a start about 3x cheaper than tsx transforming and resolving hundreds of modules, and the
 * next two processes load their modules while the current trial runs, so a trial costs its own life.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { build } from 'esbuild';
import { awsEnv } from '../../../test/helpers/stack.ts';
import { decodeLine } from '../src/journal.ts';
import { getObject, shipperFixture } from './helpers/harness.ts';

const TRIALS = Number(process.env.CRASH_TRIALS ?? 100);
const child = join(import.meta.dirname, 'helpers', 'crash-child.ts');

test(`${TRIALS} SIGKILLs while shipping: no byte lost, nothing deleted unconfirmed, journal never corrupt`, async () => {
  const fx = await shipperFixture('crash');
  const env = { ...process.env, ...(await awsEnv()), NODE_NO_WARNINGS: '1' };
  const bundle = join(fx.dir, 'crash-child.mjs');
  await build({
    entryPoints: [child],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: bundle,
    // CommonJS dependencies inside an ESM bundle still call require().
    banner: { js: "import { createRequire as __req } from 'node:module'; const require = __req(import.meta.url);" },
    logLevel: 'warning',
  });
  const cfg = (once: boolean) => JSON.stringify({ base: fx.base, state: fx.state, bucket: fx.bucket, once });
  // Two processes are always warming up (modules loaded, waiting for their config on stdin).
  const warm = () => {
    const proc = spawn(process.execPath, [bundle], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = new Set<string>();
    const waiters: { text: string; resolve: () => void }[] = [];
    createInterface({ input: proc.stdout! }).on('line', (l) => {
      lines.add(l);
      for (const w of waiters.filter((x) => x.text === l)) w.resolve();
    });
    const line = (text: string) =>
      lines.has(text) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ text, resolve }));
    const exited = new Promise<number | null>((r) => proc.on('exit', r));
    return { proc, line, has: (text: string) => lines.has(text), exited };
  };
  const warming = [warm(), warm()];
  const launch = async (once: boolean) => {
    const c = warming.shift()!;
    warming.push(warm());
    await c.line('ready');
    c.proc.stdin!.write(`${cfg(once)}\n`);
    return c;
  };
  const expected = new Map<string, { content: string; finished: boolean }>();
  let seq = 0;
  let rnd = 12345;
  const random = () => {
    rnd = (rnd * 1103515245 + 12345) % 2147483648;
    return rnd / 2147483648;
  };
  const mutate = () => {
    // New task attempts, growing logs, finished logs (end marker: retention may delete them).
    if (expected.size < 40 || random() < 0.3) {
      const rel = `dag_id=crash/run_id=r${seq % 5}/task_id=t${seq}/attempt=1.log`;
      seq++;
      const first = `[2025-01-01T00:00:00.000+0000] {x.py:1} INFO - ${rel} starts\n`;
      mkdirSync(dirname(join(fx.base, rel)), { recursive: true });
      appendFileSync(join(fx.base, rel), first);
      expected.set(rel, { content: first, finished: false });
    }
    for (const [rel, e] of expected) {
      if (e.finished || random() < 0.5) continue;
      let add = '';
      const lines = 1 + Math.floor(random() * 20);
      for (let k = 0; k < lines; k++)
        add += `[2025-01-01T00:00:00.000+0000] {x.py:1} INFO - ${rel} ${e.content.length} ${k}\n`;
      if (random() < 0.15) {
        add += '[2025-01-01T00:00:01.000+0000] {local_task_job_runner.py:1} INFO - Task exited with return code 0\n';
        e.finished = true;
      }
      appendFileSync(join(fx.base, rel), add);
      e.content += add;
    }
  };
  const checkJournal = (trial: number) => {
    const file = join(fx.state, 'log-shipper.journal');
    if (!existsSync(file)) return;
    const text = readFileSync(file, 'utf8');
    assert.ok(text === '' || text.endsWith('\n'), `trial ${trial}: journal ends with a torn line`);
    for (const line of text.split('\n')) if (line) assert.ok(decodeLine(line), `trial ${trial}: corrupt journal line`);
  };
  const verify = async (label: string) => {
    const code = await (await launch(true)).exited;
    assert.equal(code, 0, `${label}: --once run did not confirm everything`);
    let deleted = 0;
    const entries = [...expected];
    const objects = new Map<string, Buffer | undefined>();
    await Promise.all(
      Array.from({ length: 16 }, async (_, w) => {
        for (let i = w; i < entries.length; i += 16) {
          const rel = entries[i]![0];
          objects.set(rel, await getObject(fx.s3, fx.bucket, `logs/${rel}`));
        }
      }),
    );
    for (const [rel, e] of entries) {
      const obj = objects.get(rel);
      const path = join(fx.base, rel);
      if (!existsSync(path)) {
        deleted++;
        assert.ok(e.finished, `${label}: ${rel} deleted before it finished`);
        assert.equal(obj?.toString(), e.content, `${label}: ${rel} deleted but S3 lacks its final version`);
      } else {
        assert.equal(obj?.toString() ?? '', readFileSync(path, 'utf8'), `${label}: ${rel} in S3 differs from the file`);
        assert.equal(readFileSync(path, 'utf8'), e.content);
      }
    }
    return deleted;
  };
  mutate();
  let kills = 0;
  let startupKills = 0;
  for (let trial = 1; trial <= TRIALS; trial++) {
    const c = await launch(false);
    const proc: ChildProcess = c.proc;
    let lifeMs: number;
    if (trial % 5 === 0) {
      // Killed during start-up: journal load and compaction, the first scan.
      lifeMs = Math.floor(random() * 150);
    } else {
      await c.line('started');
      lifeMs = Math.floor(random() * 600);
    }
    const end = Date.now() + lifeMs;
    while (Date.now() < end) {
      mutate();
      await new Promise((r) => setTimeout(r, 10 + random() * 60));
    }
    const startedBeforeKill = c.has('started');
    proc.kill('SIGKILL');
    await c.exited;
    kills++;
    if (!startedBeforeKill) startupKills++;

    checkJournal(trial);
    if (trial % 10 === 0) await verify(`trial ${trial}`);
  }
  const deleted = await verify('final');
  for (const w of warming) w.proc.kill('SIGKILL');
  assert.equal(kills, TRIALS);
  assert.ok(deleted > 0, 'retention deleted no file: the test did not exercise it');
  console.log(
    `# crash: ${kills} kills (${startupKills} before start-up finished), ${expected.size} files, ${deleted} deleted after confirmation`,
  );
  fx.cleanup();
});

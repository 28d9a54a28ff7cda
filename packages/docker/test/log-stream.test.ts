/**
 * ContainerLogFollower against the test stack's real Docker engine and busybox containers:
 * lines per stream in order, long lines the engine splits, exact resume, restarts and replacement.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type Docker from 'dockerode';
import { testDocker } from '../../../test/helpers/docker.ts';
import {
  ContainerLogFollower,
  createDockerClient,
  DockerFrameDecoder,
  type DockerLogLine,
  type DockerLogPosition,
  sinceParam,
  timestampNanos,
} from '../src/index.ts';

let docker: Docker;
let run: Awaited<ReturnType<typeof testDocker>>['run'];
let cleanup: () => Promise<void>;

before(async () => {
  ({ docker, run, cleanup } = await testDocker());
});
after(() => cleanup());

const name = (what: string) => `ws-logs-${what}-${randomBytes(3).toString('hex')}`;

async function exited(c: Docker.Container): Promise<void> {
  await c.wait();
}

async function until(ok: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
  assert.ok(ok(), 'condition not reached in time');
}

const texts = (lines: DockerLogLine[], stream?: string) =>
  lines.filter((l) => !stream || l.stream === stream).map((l) => l.text.toString());

describe('frames and timestamps', () => {
  test('frames decode the same whatever the chunk boundaries', () => {
    const frame = (kind: number, s: string) => {
      const p = Buffer.from(s);
      const h = Buffer.alloc(8);
      h[0] = kind;
      h.writeUInt32BE(p.length, 4);
      return Buffer.concat([h, p]);
    };
    const body = Buffer.concat([frame(1, 'a\n'), frame(2, 'bb\n'), frame(1, ''), frame(1, 'c'.repeat(300))]);
    for (let cut = 1; cut < body.length; cut += 7) {
      const d = new DockerFrameDecoder();
      const got = [...d.push(body.subarray(0, cut)), ...d.push(body.subarray(cut))];
      assert.deepEqual(
        got.map((f) => [f.stream, f.payload.toString()]),
        [
          ['stdout', 'a\n'],
          ['stderr', 'bb\n'],
          ['stdout', ''],
          ['stdout', 'c'.repeat(300)],
        ],
        `cut at ${cut}`,
      );
    }
  });

  test('RFC 3339 nano timestamps become exact nanoseconds and back into since', () => {
    assert.equal(timestampNanos('2024-05-01T10:00:00.123456789Z'), 1714557600123456789n);
    assert.equal(timestampNanos('2024-05-01T10:00:00.1Z'), 1714557600100000000n);
    assert.equal(timestampNanos('2024-05-01T10:00:00Z'), 1714557600000000000n);
    assert.equal(timestampNanos('not a time'), null);
    assert.equal(sinceParam(1714557600000000042n), '1714557600.000000042');
  });
});

describe('ContainerLogFollower on a real Docker engine', () => {
  test('reads stdout and stderr as lines, in order per stream, and drains a stopped container', async () => {
    const n = name('basic');
    const c = await run(n, 'i=1; while [ $i -le 300 ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done');
    await exited(c);
    const lines: DockerLogLine[] = [];
    await new ContainerLogFollower({ docker, container: n, follow: false, onLine: (l) => lines.push(l) }).drain();
    const want = (p: string) => Array.from({ length: 300 }, (_, i) => `${p} ${i + 1}`);
    assert.deepEqual(texts(lines, 'stdout'), want('out'));
    assert.deepEqual(texts(lines, 'stderr'), want('err'));
  });

  test('a line longer than the engine splits (16 KiB) arrives whole', async () => {
    const n = name('long');
    // 50,000 bytes on one line (the engine stores it as 4 messages), then a short one.
    const c = await run(n, "yes x | head -n 50000 | tr -d '\\n'; echo; echo after");
    await exited(c);
    const lines: DockerLogLine[] = [];
    await new ContainerLogFollower({ docker, container: n, follow: false, onLine: (l) => lines.push(l) }).drain();
    assert.deepEqual(texts(lines, 'stdout'), ['x'.repeat(50_000), 'after']);
  });

  test('a saved position resumes exactly: no line repeated, none skipped', async () => {
    const n = name('resume');
    const c = await run(n, 'seq 1 2000');
    await exited(c);
    const all: DockerLogLine[] = [];
    await new ContainerLogFollower({ docker, container: n, follow: false, onLine: (l) => all.push(l) }).drain();
    assert.equal(all.length, 2000);
    for (const cut of [1, 17, 999, 1500, 1999]) {
      const at: DockerLogPosition = all[cut - 1]!.position;
      const rest: string[] = [];
      await new ContainerLogFollower({
        docker,
        container: n,
        follow: false,
        from: at,
        onLine: (l) => rest.push(l.text.toString()),
      }).drain();
      assert.deepEqual(
        rest,
        Array.from({ length: 2000 - cut }, (_, i) => String(cut + i + 1)),
        `resume after line ${cut}`,
      );
    }
  });

  test('follows a running container across a restart, and a replacement under the same name from its start', async () => {
    const n = name('follow');
    const c = await run(n, 'echo start; sleep 1; echo one; sleep 1; echo two');
    const lines: DockerLogLine[] = [];
    const states: string[] = [];
    const f = new ContainerLogFollower({
      docker,
      container: n,
      retryMs: 100,
      onLine: (l) => lines.push(l),
      onStatus: (s) => states.push(s.state),
    });
    f.start();
    try {
      await until(() => texts(lines).includes('two'));
      await exited(c);
      await c.start(); // the same container again: its log grows by the same three lines
      await until(() => texts(lines).filter((t) => t === 'two').length === 2);
      assert.deepEqual(texts(lines), ['start', 'one', 'two', 'start', 'one', 'two']);
      await exited(c);
      await c.remove({ force: true });
      await run(n, 'echo replaced');
      await until(() => texts(lines).includes('replaced'));
      assert.deepEqual(texts(lines).slice(6), ['replaced']);
      assert.ok(states.includes('waiting') && states.includes('attached'), states.join(','));
    } finally {
      await f.stop();
    }
    assert.equal(f.status().state, 'stopped');
  });

  test('a container that does not exist yet is waited for, then read from its first line', async () => {
    const n = name('later');
    const lines: DockerLogLine[] = [];
    const f = new ContainerLogFollower({ docker, container: n, retryMs: 100, onLine: (l) => lines.push(l) });
    f.start();
    try {
      await until(() => f.status().reason === 'no such container');
      assert.equal(f.status().state, 'waiting');
      await run(n, 'echo first; echo second');
      await until(() => lines.length === 2);
      assert.deepEqual(texts(lines), ['first', 'second']);
    } finally {
      await f.stop();
    }
  });

  test('an unreachable engine is a waiting state with the reason, not a crash', async () => {
    const gone = createDockerClient({ host: 'unix:///nonexistent/docker.sock' });
    const f = new ContainerLogFollower({ docker: gone, container: 'x', follow: false, onLine: () => undefined });
    await f.drain();
    assert.equal(f.status().state, 'stopped');
    const g = new ContainerLogFollower({ docker: gone, container: 'x', retryMs: 50, onLine: () => undefined });
    g.start();
    try {
      await until(() => /unreachable/.test(g.status().reason ?? ''));
      assert.equal(g.status().state, 'waiting');
    } finally {
      await g.stop();
    }
  });

  test('a TTY container is read as lines too', async () => {
    const n = name('tty');
    const c = await run(n, 'echo a; echo b', { tty: true });
    await exited(c);
    const lines: DockerLogLine[] = [];
    await new ContainerLogFollower({ docker, container: n, follow: false, onLine: (l) => lines.push(l) }).drain();
    assert.deepEqual(texts(lines), ['a', 'b']);
  });
});

describe('resume when messages share a timestamp', () => {
  test('the engine API (served from a unix socket) honours since; seen skips exactly the messages read at it', async () => {
    // Real engines rarely stamp two messages alike, so this engine is a small HTTP server speaking the same API.
    const stamps = ['2024-05-01T10:00:00.5Z', '2024-05-01T10:00:01Z', '2024-05-01T10:00:01Z', '2024-05-01T10:00:01Z'];
    const messages = [...stamps, '2024-05-01T10:00:02Z'].map((ts, i) => ({ ts, text: `m${i}` }));
    const frame = (s: string) => {
      const p = Buffer.from(s);
      const h = Buffer.alloc(8);
      h[0] = 1;
      h.writeUInt32BE(p.length, 4);
      return Buffer.concat([h, p]);
    };
    const sinces: string[] = [];
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname.endsWith('/containers/c/json')) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ Id: 'cid', Config: { Tty: false }, State: { Running: false } }));
        return;
      }
      const since = url.searchParams.get('since');
      sinces.push(since ?? '');
      const from = since ? BigInt(since.replace('.', '')) : 0n;
      res.setHeader('content-type', 'application/vnd.docker.raw-stream');
      res.end(
        Buffer.concat(messages.filter((m) => timestampNanos(m.ts)! >= from).map((m) => frame(`${m.ts} ${m.text}\n`))),
      );
    });
    const sock = join(mkdtempSync(join(tmpdir(), 'ws-fake-docker-')), 'd.sock');
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const fake = createDockerClient({ host: sock });
      const read = async (from?: DockerLogPosition) => {
        const got: DockerLogLine[] = [];
        await new ContainerLogFollower({
          docker: fake,
          container: 'c',
          follow: false,
          ...(from ? { from } : {}),
          onLine: (l) => got.push(l),
        }).drain();
        return got;
      };
      const all = await read();
      assert.deepEqual(texts(all), ['m0', 'm1', 'm2', 'm3', 'm4']);
      assert.deepEqual(
        all.map((l) => l.position.stdout?.seen),
        [1, 1, 2, 3, 1],
      );
      for (let cut = 1; cut <= 5; cut++) {
        const rest = await read(all[cut - 1]!.position);
        assert.deepEqual(texts(rest), texts(all).slice(cut), `resume after m${cut - 1}`);
      }
      assert.ok(sinces.includes('1714557601.000000000'), sinces.join(' '));
    } finally {
      server.close();
    }
  });
});

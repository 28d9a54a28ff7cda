// The runtime the suite runs on (Node 24 via `npm test`, see scripts/node24.mjs) and what a user
// sees on stderr: JSON log lines or the CLI's one-line errors, never a dependency's plain text.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { awsEnv, testStack } from './helpers/stack.ts';

const root = new URL('..', import.meta.url).pathname;
const ci = Boolean(process.env.CI) && process.env.CI !== 'false' && process.env.CI !== '0';
const major = (v: string) => Number(/^v(\d+)\./.exec(v)?.[1]);
const clean = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !k.startsWith('AIRFLOW__') && !k.startsWith('WINDSOCK_') && !k.startsWith('AWS_'),
  ),
);
const tmp = mkdtempSync(join(tmpdir(), 'ws-runtime-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs `windsock` as a user would: `node` from PATH, the repository's bin/windsock.mjs. */
function windsock(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', ['bin/windsock.mjs', ...args], { cwd: root, env: { ...clean, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Each stderr line that is neither a JSON object nor the CLI's one-line `windsock: error: ...`. */
function foreignLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l !== '')
    .filter((l) => {
      if (/^windsock: error: \S.*$/.test(l)) return false;
      try {
        const v = JSON.parse(l) as unknown;
        return !(typeof v === 'object' && v !== null && !Array.isArray(v));
      } catch {
        return true;
      }
    });
}

describe('the Node the suite runs on', () => {
  it(`node on PATH and this process are Node >= 22${ci ? ', and Node 24 under CI' : ''}`, () => {
    const r = spawnSync('node', ['--version'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const onPath = r.stdout.trim();
    for (const [what, version] of [
      ['node on PATH', onPath],
      ['this test process', process.version],
    ] as const) {
      assert.ok(major(version) >= 22, `${what} is ${version}: Windsock needs Node >= 22 (npm test brings Node 24)`);
      if (ci) assert.equal(major(version), 24, `${what} is ${version}: CI runs the suite on Node 24`);
    }
    assert.equal(onPath, process.version, 'the spawned windsock processes run on the same Node as the tests');
  });
});

describe('stderr of windsock in normal use holds only JSON lines and one-line errors', () => {
  it('windsock --help', async () => {
    const r = await windsock(['--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Usage: windsock/);
    assert.deepEqual(foreignLines(r.stderr), []);
  });

  it('config print: every line fits, long values are cut and say so', async () => {
    const r = await windsock(['config', 'print']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(foreignLines(r.stderr), []);
    const lines = r.stdout.trimEnd().split('\n');
    const longest = Math.max(...lines.map((l) => l.length));
    assert.ok(longest <= 120, `longest line ${longest} columns:\n${lines.find((l) => l.length === longest)}`);
    // logShipper.endMarkers' default is longer than any screen: cut with …, whole in --format json.
    const marker = lines.find((l) => l.startsWith('logShipper.endMarkers = '));
    assert.match(marker ?? '', /… +# default$/);
    assert.match(lines[lines.length - 1] as string, /^# \d+ values? longer than \d+ characters cut .*--format json/);
    const json = await windsock(['config', 'print', '--format', 'json']);
    const rows = JSON.parse(json.stdout) as { key: string; value: unknown }[];
    const endMarkers = rows.find((row) => row.key === 'logShipper.endMarkers')?.value as string[];
    assert.ok(JSON.stringify(endMarkers).length > 120, 'the json form holds the whole value');
  });

  it('log-shipper --once against moto (the AWS SDK loaded and used)', async () => {
    const stack = await testStack();
    const bucket = `ws-runtime-${process.pid}`;
    const put = await fetch(`${stack.motoUrl}/${bucket}`, { method: 'PUT' });
    assert.ok(put.ok, `create bucket: HTTP ${put.status}`);
    const logs = join(tmp, 'logs');
    const attempt = join(logs, 'dag_id=d', 'run_id=r', 'task_id=t');
    mkdirSync(attempt, { recursive: true });
    writeFileSync(
      join(attempt, 'attempt=1.log'),
      '[2026-12-01T00:00:00.000+0000] {taskinstance.py:1} INFO - Task exited with return code 0\n',
    );
    const r = await windsock(
      ['log-shipper', '--once', '--base-log-folder', logs, '--remote-base-log-folder', `s3://${bucket}/logs`],
      { ...(await awsEnv()), WINDSOCK_AWS__ENDPOINT: stack.motoUrl, WINDSOCK_STATE_DIR: join(tmp, 'state') },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(foreignLines(r.stderr), []);
    // Its own summary line: the one file confirmed in S3 (exit 0 means every file was).
    const summary = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; confirmed?: number; failed?: number })
      .find((l) => l.msg === 'log-shipper --once finished');
    assert.deepEqual([summary?.confirmed, summary?.failed], [1, 0], r.stderr);
  });

  it('an unknown command, with or without --help, is one error line and exit 2', async () => {
    for (const args of [
      ['no-such-command', '--help'],
      ['help', 'no-such-command'],
    ]) {
      const r = await windsock(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.deepEqual(r.stderr.trim().split('\n'), [
        "windsock: error: unknown command 'no-such-command' (windsock --help lists the commands)",
      ]);
    }
  });

  it("Node's process warnings (the AWS SDK's NodeVersionSupportWarning among them) become JSON log lines", () => {
    // The SDK warns only on Node < 22, so the same warning is emitted here by hand, the way it does.
    const script = [
      "import { createLogger, routeProcessWarnings } from './packages/core/src/logger.ts';",
      "routeProcessWarnings(createLogger({ name: 'warn-test' }));",
      "process.emitWarning('NodeVersionSupportWarning: The AWS SDK for JavaScript (v3)\\nwill require node >=22.');",
      "process.emitWarning('old API', 'DeprecationWarning', 'DEP0999');",
    ].join('\n');
    const r = spawnSync('node', ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      env: clean,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(foreignLines(r.stderr), []);
    const lines = r.stderr
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            level: string;
            service: string;
            warning: { name: string; code?: string; message: string };
          },
      );
    assert.deepEqual(
      lines.map((l) => [l.level, l.service, l.warning.name, l.warning.code, l.warning.message.split('\n')[0]]),
      [
        ['warn', 'warn-test', 'Warning', undefined, 'NodeVersionSupportWarning: The AWS SDK for JavaScript (v3)'],
        ['warn', 'warn-test', 'DeprecationWarning', 'DEP0999', 'old API'],
      ],
    );
  });
});

// The whole `windsock` CLI (bin/windsock.mjs with every package's commands): what each command loads,
// and that every command's help works.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = new URL('..', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'ws-cli-'));
const clean = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('AIRFLOW__') && !k.startsWith('WINDSOCK_')),
);
const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['bin/windsock.mjs', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...clean, ...env },
  });

describe('windsock (every command registered)', () => {
  it("windsock loads no other command's dependencies", () => {
    const log = join(tmp, 'once.log');
    writeFileSync(log, '[2024-05-01T10:00:00.000+0000] {x.py:1} ERROR - boom\n');
    const heavy = [
      '/node_modules/pg/',
      '/node_modules/ioredis/',
      '/node_modules/fastify/',
      '/node_modules/chokidar/',
      '/node_modules/yaml/',
      '/node_modules/@electric-sql/',
      '/node_modules/@aws-sdk/client-s3/',
      '/packages/simulator/',
    ];
    const record = join(import.meta.dirname, 'helpers', 'record-imports.mjs');
    for (const [i, args] of [['--help'], ['config', 'print'], ['log-metrics', '--once', log]].entries()) {
      const imports = join(tmp, `imports-${i}.txt`);
      const r = spawnSync(process.execPath, ['--import', record, 'bin/windsock.mjs', ...args], {
        cwd: root,
        encoding: 'utf8',
        env: { ...clean, WINDSOCK_TEST_IMPORTS: imports },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(existsSync(imports), 'the import recorder ran');
      const loaded = readFileSync(imports, 'utf8').split('\n');
      assert.ok(
        loaded.some((u) => u.includes('/packages/core/')),
        'the recorder saw the CLI load',
      );
      for (const h of heavy) {
        assert.deepEqual(
          loaded.filter((u) => u.includes(h)),
          [],
          `windsock ${args.join(' ')} loaded ${h}`,
        );
      }
    }
  });

  it("every command's --help works and matches its line in windsock --help", () => {
    const top = cli(['--help']).stdout;
    const names = [...top.matchAll(/^ {2}([a-z-]+) \[options\]/gm)].map((m) => m[1] as string);
    assert.ok(names.includes('log-metrics') && names.includes('simulate'), top);
    for (const name of names) {
      const r = cli([name, '--help']);
      assert.equal(r.status, 0, `${name} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: windsock ${name} `, 'm'));
    }
  });
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { type CommandRegistration, defineSection, field, runCli, type WindsockCommand, z } from '@windsock/core';
import { freePort } from '../../../test/helpers/stack.ts';

const root = new URL('../../..', import.meta.url).pathname;
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

function assertOneLine(r: ReturnType<typeof cli>, code: number, pattern: RegExp) {
  assert.equal(r.status, code, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0] as string, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

describe('windsock CLI errors', () => {
  it('a bad config file gives one line naming the key and a good value', () => {
    const f = join(tmp, 'bad.yaml');
    writeFileSync(f, 'http:\n  port: 70000\n');
    assertOneLine(
      cli(['config', 'print', '--config', f]),
      2,
      /^windsock: error: config key http\.port \(from file .*bad\.yaml\): .*65535.*got 70000\. Example of a good value: 9464$/,
    );
  });

  it('a bad env value gives one line naming the variable', () => {
    assertOneLine(
      cli(['config', 'print'], { WINDSOCK_LEADER__ENABLED: 'sometimes' }),
      2,
      /^windsock: error: config key leader\.enabled \(from env WINDSOCK_LEADER__ENABLED\): expected true or false, got "sometimes"$/,
    );
  });

  it('an unreachable database gives one line and exit 1', async () => {
    const port = await freePort();
    assertOneLine(
      cli(['config', 'check'], {
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `postgresql+psycopg2://airflow:pw-xyz-123@127.0.0.1:${port}/airflow`,
      }),
      1,
      new RegExp(
        `^windsock: error: cannot reach the metadb at postgresql://airflow:\\*\\*\\*@127\\.0\\.0\\.1:${port}/airflow: ECONNREFUSED`,
      ),
    );
  });

  it('--help lists the registered commands', () => {
    const r = cli(['--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Usage: windsock/);
    assert.match(r.stdout, /config/);
  });

  it('npx windsock works from the project root (the root package bin)', () => {
    const r = spawnSync('npx', ['--no-install', 'windsock', '--version'], { cwd: root, encoding: 'utf8', env: clean });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+$/);
  });
});

/** Runs `runCli` in this process on `commands`; what it printed and the exit code. */
async function runIn(commands: Array<WindsockCommand | CommandRegistration>, args: string[]) {
  let stdout = '';
  let stderr = '';
  const sink = (add: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, done) {
        add(String(chunk));
        done();
      },
    });
  const code = await runCli({
    version: '0.0.0',
    commands,
    argv: ['node', 'windsock', ...args],
    env: {},
    stdout: sink((s) => {
      stdout += s;
    }),
    stderr: sink((s) => {
      stderr += s;
    }),
  });
  return { code, stdout, stderr };
}

/** Two registrations that count their loads; `alpha` has a config section and an option. */
function lazyCommands() {
  const loads = { alpha: 0, beta: 0 };
  const ran: Record<string, unknown>[] = [];
  const alphaSection = defineSection('alpha', {
    limit: field(z.number().int().default(3), 'How many alphas.', { example: '3' }),
  });
  const command = (name: 'alpha' | 'beta', summary: string): CommandRegistration => ({
    name,
    summary,
    configSection: name === 'alpha' ? alphaSection : undefined,
    load: async () => {
      loads[name]++;
      return {
        name,
        summary,
        configSection: name === 'alpha' ? alphaSection : undefined,
        options: [{ flags: `--${name}-only <x>`, description: `only ${name} has this` }],
        run: async (ctx) => {
          ran.push({ name, ...ctx.options, limit: (ctx.config.alpha as { limit: number }).limit });
          return 0;
        },
      };
    },
  });
  return { loads, ran, commands: [command('alpha', 'do alpha things'), command('beta', 'do beta things')] };
}

describe('windsock CLI command registration', () => {
  it('loads a registered command only when it is run, with its options', async () => {
    const { loads, ran, commands } = lazyCommands();
    const r = await runIn(commands, ['alpha', '--alpha-only', 'x']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(loads, { alpha: 1, beta: 0 });
    assert.deepEqual(ran, [{ name: 'alpha', alphaOnly: 'x', limit: 3 }]);
  });

  it('lists registered commands in --help without loading any', async () => {
    const { loads, commands } = lazyCommands();
    const r = await runIn(commands, ['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /alpha \[options\]\s+do alpha things/);
    assert.match(r.stdout, /beta \[options\]\s+do beta things/);
    assert.deepEqual(loads, { alpha: 0, beta: 0 });
  });

  it('loads the command whose help is asked for (`<cmd> --help`, `help <cmd>`)', async () => {
    for (const args of [
      ['beta', '--help'],
      ['help', 'beta'],
    ]) {
      const { loads, commands } = lazyCommands();
      const r = await runIn(commands, args);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /--beta-only <x>/);
      assert.deepEqual(loads, { alpha: 0, beta: 1 });
    }
  });

  it("has every registration's config section without loading it", async () => {
    const { loads, commands } = lazyCommands();
    const r = await runIn(commands, ['config', 'reference']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /alpha\.limit/);
    assert.deepEqual(loads, { alpha: 0, beta: 0 });
  });

  it('refuses a registration that does not match the command it loads', async () => {
    const { commands } = lazyCommands();
    const stale: CommandRegistration = { ...commands[1]!, summary: 'an old summary' };
    const r = await runIn([commands[0]!, stale], ['beta']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /registration of 'beta' does not match its command's summary/);
  });

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
    const record = join(import.meta.dirname, 'fixtures', 'record-imports.mjs');
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

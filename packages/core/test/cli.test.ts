import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { type CommandRegistration, defineSection, field, runCli, type WindsockCommand, z } from '@windsock/core';

const root = new URL('../../..', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'ws-cli-'));
const clean = Object.fromEntries(
  // Without WINDSOCK_* and other programs' settings variables (SECTION__KEY), which sections may fall back to.
  Object.entries(process.env).filter(([k]) => !/^[A-Z0-9_]+__/.test(k) && !k.startsWith('WINDSOCK_')),
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
});

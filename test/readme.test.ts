// The root README says only what is true: every `windsock ...` command it shows answers --help,
// every repository path it names exists, every config key it names is in the schema. The Roadmap
// (a paragraph starting with **Roadmap**, or a "## Roadmap" section) is not checked: it names what
// is not built yet. The generated config reference is checked against the schema elsewhere
// (packages/core/test/config.test.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = new URL('..', import.meta.url).pathname;
const clean = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('AIRFLOW__') && !k.startsWith('WINDSOCK_')),
);

/** The README without its generated config reference and without the roadmap. */
function checkedText(readme: string): string {
  return readme
    .replace(/<!-- config-reference:start[\s\S]*?<!-- config-reference:end -->/, '')
    .replace(/^## Roadmap\b[\s\S]*?(?=^#{1,2} |(?![\s\S]))/m, '')
    .replace(/^\*\*Roadmap\*\*[\s\S]*?(?=\n\s*\n|(?![\s\S]))/m, '');
}

/** Fenced code blocks and inline code spans. */
function codeOf(text: string): { fenced: string[]; inline: string[] } {
  const fenced = [...text.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].map((m) => m[1] as string);
  const prose = text.replace(/^```[^\n]*\n[\s\S]*?^```/gm, '');
  const inline = [...prose.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] as string);
  return { fenced, inline };
}

/** The `windsock` invocations shown in code, as their leading lowercase words (`config print`). */
function commandsOf(text: string): string[] {
  const { fenced, inline } = codeOf(text);
  const found = new Set<string>();
  for (const code of [...fenced, ...inline]) {
    for (const m of code.matchAll(/(?:^|[\s(])(?:npx\s+)?windsock((?:[ \t]+[a-z][a-z0-9-]*)+)(?![\w./-])/gm)) {
      found.add((m[1] as string).trim().split(/\s+/).join(' '));
    }
  }
  return [...found].sort();
}

const TOP = ['.ci', 'bin', 'packages', 'services', 'test', 'bench', 'docker', 'dags', 'dashboards', 'scripts'];

/** Repository paths named anywhere in the text (prose, links, code). */
function pathsOf(text: string): string[] {
  const found = new Set<string>();
  const dirs = new RegExp(
    `(?<![\\w.\\/:@~-])((?:${TOP.map((t) => t.replace('.', '\\.')).join('|')})\\/[\\w.*\\/-]*)`,
    'g',
  );
  for (const m of text.matchAll(dirs)) found.add((m[1] as string).replace(/[.,]+$/, ''));
  for (const m of text.matchAll(
    /(?<![\w./-])(README\.md|package\.json|package-lock\.json|tsconfig\.json|biome\.json)(?![\w])/g,
  )) {
    found.add(m[1] as string);
  }
  return [...found].sort();
}

/** Config keys named in inline code: dotted camelCase paths (`logShipper.retainSeconds`, `http.port`). */
function configKeysOf(text: string, topLevel: ReadonlySet<string>): string[] {
  const found = new Set<string>();
  for (const span of codeOf(text).inline) {
    for (const token of span.split(/[^A-Za-z0-9_.]+/)) {
      if (!/^[a-z][A-Za-z0-9]*(?:\.[a-z][A-Za-z0-9]*)+$/.test(token)) continue;
      if (/\.(md|ts|mjs|js|json|ya?ml|py|log|sh|txt|tap)$/.test(token)) continue;
      const first = token.split('.')[0] as string;
      if (topLevel.has(first) || /[A-Z]/.test(token)) found.add(token);
    }
  }
  return [...found].sort();
}

/** Does a repository path exist? `*` matches within one segment. */
function exists(path: string): boolean {
  let candidates = [root];
  for (const seg of path.split('/').filter(Boolean)) {
    const next: string[] = [];
    for (const dir of candidates) {
      if (!seg.includes('*')) {
        if (existsSync(join(dir, seg))) next.push(join(dir, seg));
        continue;
      }
      if (!statSync(dir).isDirectory()) continue;
      const re = new RegExp(`^${seg.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
      for (const name of readdirSync(dir)) if (re.test(name)) next.push(join(dir, name));
    }
    candidates = next;
  }
  return candidates.length > 0;
}

function windsock(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', ['bin/windsock.mjs', ...args], { cwd: root, env: clean });
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

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const text = checkedText(readme);

describe('README.md says only what is true', () => {
  it('the checks find what they look for, and skip only the roadmap', () => {
    const sample = [
      'Run `windsock log-metrics a.log` or `npx windsock config print --format json`; `windsock <command> --help`.',
      '```sh\nwindsock scaler --once\n```',
      'See services/log-metrics/README.md, [x](docker/README.md), packages/*, `logShipper.retainSeconds`,',
      '`http.host:http.port`, `docker.io`, ~/.cache/windsock/node-24, s3://b/test/x and bin/windsock.ts.',
      '',
      '**Roadmap** (not built yet): `windsock console`, services/console, `console.theme`.',
      '',
      '## Roadmap',
      '`windsock heartbeat` in dags/heartbeat',
      '## Next',
      'Text.',
    ].join('\n');
    const t = checkedText(sample);
    assert.deepEqual(commandsOf(t), ['config print', 'log-metrics', 'scaler']);
    assert.deepEqual(pathsOf(t), [
      'bin/windsock.ts',
      'docker/README.md',
      'packages/*',
      'services/log-metrics/README.md',
    ]);
    assert.deepEqual(configKeysOf(t, new Set(['http', 'logShipper'])), [
      'http.host',
      'http.port',
      'logShipper.retainSeconds',
    ]);
    assert.ok(t.includes('## Next') && t.includes('Text.'), 'the text after the roadmap section is kept');
  });

  it('every windsock command it shows answers --help', async () => {
    const commands = commandsOf(text);
    assert.ok(commands.length >= 5, `found only ${commands.join(', ')}`);
    const failed: string[] = [];
    // Three at a time: each is a node process loading the CLI.
    for (let i = 0; i < commands.length; i += 3) {
      const batch = commands.slice(i, i + 3);
      const results = await Promise.all(batch.map((c) => windsock([...c.split(' '), '--help'])));
      results.forEach((r, j) => {
        const c = batch[j] as string;
        if (r.code !== 0 || !r.stdout.startsWith(`Usage: windsock ${c.split(' ')[0]}`)) {
          failed.push(`windsock ${c} --help: exit ${r.code} ${r.stderr.trim()}`);
        }
      });
    }
    assert.deepEqual(failed, [], 'commands the README shows that do not exist (move them to the Roadmap line)');
  });

  it('every repository path it names exists', () => {
    const paths = pathsOf(text);
    assert.ok(paths.length >= 10, `found only ${paths.join(', ')}`);
    assert.deepEqual(
      paths.filter((p) => !exists(p)),
      [],
      'paths the README names that are not in the repository',
    );
  });

  it('every config key it names is in the schema', async () => {
    const r = await windsock(['config', 'print', '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const leaves = (JSON.parse(r.stdout) as { key: string }[]).map((row) => row.key);
    const known = new Set<string>();
    for (const leaf of leaves) {
      const parts = leaf.split('.');
      for (let n = 1; n <= parts.length; n++) known.add(parts.slice(0, n).join('.'));
    }
    const topLevel = new Set(leaves.map((l) => l.split('.')[0] as string));
    const keys = configKeysOf(text, topLevel);
    assert.ok(keys.length >= 3, `found only ${keys.join(', ')}`);
    assert.deepEqual(
      keys.filter((k) => !known.has(k)),
      [],
      'config keys the README names that the schema does not have',
    );
  });
});

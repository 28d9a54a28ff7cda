#!/usr/bin/env node
/**
 * Every promise a README makes is guarded by a test that fails without it.
 *
 * scripts/guarantees.json lists, per service, each promise, the code that keeps it (found by an
 * exact anchor string, never a line number: the sources move under other edits) and the test that
 * guards it. For each one this script, in a private copy of the tree (never the working tree):
 *   1. runs the named test as it is: it must pass;
 *   2. applies the guarantee's mutations (removes or breaks the anchored code), runs the test
 *      again: it must FAIL (a time-out counts as a failure);
 *   3. restores the file,
 * and prints a table. Each guarantee's last result is kept in scripts/guarantees-results.json;
 * `--write-readmes` puts each service's table (every guarantee, with its last result) between the
 * `<!-- guarantees:start -->` / `<!-- guarantees:end -->` markers of its README.
 *
 *   npm run test:guarantees                       # every guarantee, in a copy of the working tree
 *   npm run test:guarantees -- --only qd-confirm  # some of them (ids, comma separated)
 *   npm run test:guarantees -- --ref HEAD         # a copy of a commit instead of the working tree
 *   npm run test:guarantees -- --check            # only check the data file (as npm test does)
 *   npm run test:guarantees -- --write-readmes    # run, then update the READMEs' tables
 *   npm run test:guarantees -- --readmes-only     # update the READMEs from the stored results
 *   npm run test:guarantees -- --timeout 180      # seconds per test run (a time-out counts as a failure)
 *
 * The copy reuses the checkout's node_modules (symlinked, with the workspace packages pointed at
 * the copy) and the checkout's running test stack (PostgreSQL, Redis, moto).
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DATA = join(REPO, 'scripts', 'guarantees.json');
/** The last result of each guarantee (by id), so a partial run (--only) updates only its rows. */
const RESULTS = join(REPO, 'scripts', 'guarantees-results.json');
const START = '<!-- guarantees:start -->';
const END = '<!-- guarantees:end -->';

/** The guarantee list. */
export function loadGuarantees(file = DATA) {
  return JSON.parse(readFileSync(file, 'utf8')).guarantees;
}

/** Occurrences of `needle` in `text`. */
function count(text, needle) {
  let n = 0;
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

/**
 * Problems with the guarantee list against the tree at `root`: every anchor found exactly once,
 * every test file present with a test of that name, every promise listed in its README's
 * guarantees section. An empty list means well-formed.
 */
export function checkGuarantees(guarantees = loadGuarantees(), root = REPO) {
  const problems = [];
  const ids = new Set();
  for (const g of guarantees) {
    const where = `guarantee ${g.id}`;
    for (const k of ['id', 'readme', 'promise', 'mutations', 'test'])
      if (!g[k]) problems.push(`${where}: missing "${k}"`);
    if (ids.has(g.id)) problems.push(`${where}: duplicate id`);
    ids.add(g.id);
    for (const m of g.mutations ?? []) {
      const files = [].concat(m.file);
      const missing = files.filter((f) => !existsSync(join(root, f)));
      if (missing.length === files.length) {
        problems.push(`${where}: ${files.join(' / ')} does not exist`);
        continue;
      }
      const n = files.reduce(
        (a, f) => a + (existsSync(join(root, f)) ? count(readFileSync(join(root, f), 'utf8'), m.find) : 0),
        0,
      );
      if (n !== 1)
        problems.push(
          `${where}: anchor found ${n} times in ${files.join(' / ')} (must be once): ${JSON.stringify(m.find)}`,
        );
      if (typeof m.replace !== 'string')
        problems.push(`${where}: mutation of ${files.join(' / ')} has no "replace" string`);
    }
    const testFile = join(root, g.test?.file ?? '');
    if (!g.test?.file || !existsSync(testFile)) problems.push(`${where}: test file ${g.test?.file} does not exist`);
    else if (!readFileSync(testFile, 'utf8').includes(g.test.name))
      problems.push(`${where}: no test named ${JSON.stringify(g.test.name)} in ${g.test.file}`);
    const readme = join(root, g.readme ?? '');
    if (!g.readme || !existsSync(readme)) problems.push(`${where}: README ${g.readme} does not exist`);
    else {
      const text = readFileSync(readme, 'utf8');
      const block = text.split(START)[1]?.split(END)[0];
      if (block === undefined) problems.push(`${where}: ${g.readme} has no ${START} ... ${END} section`);
      else if (!block.includes(g.promise)) problems.push(`${where}: ${g.readme}'s guarantees table does not list it`);
    }
  }
  return problems;
}

const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A private copy of the tree (working tree files, or a commit) with node_modules linked to the checkout's. */
function makeTree(ref) {
  const dir = mkdtempSync(join(tmpdir(), 'windsock-guarantees-'));
  if (ref) {
    const archive = spawnSync('git', ['archive', ref], { cwd: REPO, maxBuffer: 1 << 30 });
    if (archive.status !== 0) throw new Error(`git archive ${ref}: ${archive.stderr}`);
    const untar = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout });
    if (untar.status !== 0) throw new Error(`tar: ${untar.stderr}`);
  } else {
    const ls = spawnSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: REPO, encoding: 'utf8' });
    for (const f of ls.stdout.split('\0').filter(Boolean)) {
      if (!existsSync(join(REPO, f))) continue; // deleted in the working tree
      mkdirSync(dirname(join(dir, f)), { recursive: true });
      cpSync(join(REPO, f), join(dir, f));
    }
  }
  const nm = join(REPO, 'node_modules');
  mkdirSync(join(dir, 'node_modules', '@windsock'), { recursive: true });
  for (const e of readdirSync(nm)) if (e !== '@windsock') symlinkSync(join(nm, e), join(dir, 'node_modules', e));
  for (const group of ['packages', 'services']) {
    if (!existsSync(join(dir, group))) continue;
    for (const p of readdirSync(join(dir, group))) {
      const pkg = join(dir, group, p, 'package.json');
      if (!existsSync(pkg)) continue;
      const name = JSON.parse(readFileSync(pkg, 'utf8')).name;
      if (name?.startsWith('@windsock/'))
        symlinkSync(
          join('..', '..', group, p),
          join(dir, 'node_modules', '@windsock', name.slice('@windsock/'.length)),
        );
      const own = join(REPO, group, p, 'node_modules');
      if (existsSync(own) && !existsSync(join(dir, group, p, 'node_modules')))
        symlinkSync(own, join(dir, group, p, 'node_modules'));
    }
  }
  return dir;
}

/** The environment through which tests reach the checkout's test stack (started if it is not running). */
function stackEnv() {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      "const m = await import('./test/stack/index.ts'); const { info } = await m.up(); process.stdout.write('\\n' + JSON.stringify(m.stackEnv(info)));",
    ],
    { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (r.status !== 0) throw new Error('the test stack did not start');
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

/** Runs one named test in `tree`: { passed, failed, ran, timedOut, ms }. */
function runTest(tree, test, env, timeoutSeconds) {
  return new Promise((resolvePromise) => {
    const started = Date.now();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-reporter=tap', `--test-name-pattern=${escapeRegExp(test.name)}`, test.file],
      { cwd: tree, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutSeconds * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const num = (k) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(out)?.[1] ?? 0);
      const pass = num('pass');
      const fail = num('fail') + num('cancelled');
      resolvePromise({
        ok: !timedOut && code === 0 && pass > 0 && fail === 0,
        pass,
        fail,
        code,
        timedOut,
        ms: Date.now() - started,
        tail: out.split('\n').slice(-40).join('\n'),
      });
    });
  });
}

/** The one file (of the mutation's candidates) that holds the anchor, relative to the tree. */
function fileOf(tree, m) {
  const found = []
    .concat(m.file)
    .filter((f) => existsSync(join(tree, f)) && count(readFileSync(join(tree, f), 'utf8'), m.find) > 0);
  if (found.length !== 1)
    throw new Error(`anchor not found in exactly one of ${[].concat(m.file).join(' / ')}: ${JSON.stringify(m.find)}`);
  return found[0];
}

function applyMutations(tree, g) {
  const saved = [];
  for (const m of g.mutations) {
    const file = join(tree, fileOf(tree, m));
    const text = readFileSync(file, 'utf8');
    if (count(text, m.find) !== 1) throw new Error(`${g.id}: anchor not found once in ${file}`);
    saved.push([file, text]);
    writeFileSync(
      file,
      text.replace(m.find, () => m.replace),
    );
  }
  return () => {
    for (const [file, text] of saved.reverse()) writeFileSync(file, text);
  };
}

/** Where the anchor is now (for the table; the data never names a line). */
function placeOf(tree, m) {
  const f = fileOf(tree, m);
  const text = readFileSync(join(tree, f), 'utf8');
  return `${f}:${text.slice(0, text.indexOf(m.find)).split('\n').length}`;
}

const code = (s) => `\`${s.replace(/\s+/g, ' ').trim().replace(/`/g, "'").replace(/\|/g, '\\|')}\``;

function mutationText(m) {
  return m.replace.trim() === '' ? `removed ${code(m.find)}` : `${code(m.find)} → ${code(m.replace)}`;
}

/** A stored result: what the table shows for one guarantee. */
function resultOf({ g, base, mutant, lines }, when) {
  return {
    where: g.mutations.map((m, i) => `${lines[i]}: ${mutationText(m)}`).join('<br>'),
    asIs: base.ok ? 'passes' : base.timedOut ? 'TIMED OUT' : 'FAILS',
    broken:
      mutant === undefined
        ? 'not run'
        : mutant.ok
          ? '**PASSES: not guarded**'
          : mutant.timedOut
            ? 'fails (timed out)'
            : 'fails',
    guarded: base.ok && mutant !== undefined && !mutant.ok,
    when,
  };
}

function table(guarantees, results) {
  const out = [
    '| promise | guarding code, and how it is broken | guarding test | as is | broken |',
    '|---|---|---|---|---|',
  ];
  for (const g of guarantees) {
    const r = results[g.id] ?? {
      where: g.mutations.map(mutationText).join('<br>'),
      asIs: 'not run',
      broken: 'not run',
    };
    out.push(`| ${g.promise} | ${r.where} | \`${g.test.file}\` › ${g.test.name} | ${r.asIs} | ${r.broken} |`);
  }
  return out.join('\n');
}

function loadResults() {
  return existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, 'utf8')) : {};
}

function writeReadmes(guarantees, results) {
  const byReadme = new Map();
  for (const g of guarantees) {
    if (!byReadme.has(g.readme)) byReadme.set(g.readme, []);
    byReadme.get(g.readme).push(g);
  }
  for (const [readme, gs] of byReadme) {
    const file = join(REPO, readme);
    const text = readFileSync(file, 'utf8');
    if (!text.includes(START) || !text.includes(END)) {
      console.error(`${readme}: no ${START} ... ${END} markers; not written`);
      continue;
    }
    const runs = [...new Set(gs.map((g) => results[g.id]?.when).filter(Boolean))].sort();
    const header = `\`npm run test:guarantees\` (${runs.join('; ') || 'not run yet'}): each promise's guarding code is broken in a copy of the tree and its test must fail.`;
    const [before, rest] = text.split(START);
    const after = rest.split(END)[1];
    writeFileSync(file, `${before}${START}\n${header}\n\n${table(gs, results)}\n${END}${after}`);
    console.log(`updated ${readme}`);
  }
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const all = loadGuarantees();
  if (args.includes('--check')) {
    const problems = checkGuarantees(all);
    for (const p of problems) console.error(p);
    console.log(`${all.length} guarantees, ${problems.length} problems`);
    process.exit(problems.length === 0 ? 0 : 1);
  }
  if (args.includes('--readmes-only')) {
    writeReadmes(all, loadResults());
    process.exit(0);
  }
  const only = opt('--only')?.split(',');
  const selected = only ? all.filter((g) => only.includes(g.id)) : all;
  if (selected.length === 0) throw new Error('no guarantee selected');
  const timeoutSeconds = Number(opt('--timeout') ?? 180);
  const ref = opt('--ref');
  const tree = makeTree(ref);
  const problems = checkGuarantees(selected, tree).filter((p) => !p.includes('README'));
  if (problems.length > 0) {
    for (const p of problems) console.error(p);
    rmSync(tree, { recursive: true, force: true });
    process.exit(1);
  }
  console.log(`tree: ${ref ? `git archive ${ref}` : 'copy of the working tree'} in ${tree}`);
  const env = stackEnv();
  const baselines = new Map();
  const rows = [];
  try {
    for (const g of selected) {
      const key = `${g.test.file}\0${g.test.name}\0${JSON.stringify(g.env ?? {})}`;
      if (!baselines.has(key)) baselines.set(key, await runTest(tree, g.test, { ...env, ...g.env }, timeoutSeconds));
      const base = baselines.get(key);
      const lines = g.mutations.map((m) => placeOf(tree, m));
      let mutant;
      if (base.ok) {
        const restore = applyMutations(tree, g);
        try {
          mutant = await runTest(tree, g.test, { ...env, ...g.env }, timeoutSeconds);
        } finally {
          restore();
        }
      }
      rows.push({ g, base, mutant, lines });
      const verdict = !base.ok ? 'TEST FAILS AS IS' : mutant.ok ? 'NOT GUARDED' : 'guarded';
      console.log(
        `${verdict.padEnd(16)} ${g.id} (as is: ${base.pass} passed in ${(base.ms / 1000).toFixed(1)} s; broken: ${mutant ? `${mutant.pass} passed, ${mutant.fail} failed${mutant.timedOut ? ', timed out' : ''} in ${(mutant.ms / 1000).toFixed(1)} s` : 'not run'})`,
      );
      if (!base.ok) console.log(base.tail);
    }
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
  const rev = spawnSync('git', ['rev-parse', '--short', ref ?? 'HEAD'], { cwd: REPO, encoding: 'utf8' }).stdout.trim();
  const when = `${new Date().toISOString().slice(0, 10)}, ${ref ? `commit ${rev}` : `working tree at ${rev}`}`;
  const results = loadResults();
  const fresh = {};
  for (const row of rows) fresh[row.g.id] = resultOf(row, when);
  console.log(`\n${table(selected, fresh)}\n`);
  Object.assign(results, fresh);
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  const guarded = rows.filter((r) => r.base.ok && r.mutant && !r.mutant.ok).length;
  console.log(`${guarded} of ${rows.length} guarantees guarded (results kept in scripts/guarantees-results.json)`);
  if (args.includes('--write-readmes')) writeReadmes(all, results);
  process.exit(guarded === rows.length ? 0 : 1);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

// A node:test reporter for scripts/test.mjs: one JSON line per skipped or todo test or suite, with
// its file, its full name (suite › test) and the reason. Node's own summary counts skipped tests
// only, never a skipped `describe`, so this is what tells every skip.
import { relative } from 'node:path';

export default async function* skipReporter(source) {
  /** Per file, the names of the tests and suites open at each nesting level. */
  const open = new Map();
  for await (const event of source) {
    const data = event.data ?? {};
    const file = data.file ? relative(process.cwd(), data.file) : '(unknown file)';
    if (event.type === 'test:start') {
      const names = open.get(file) ?? [];
      names.length = data.nesting;
      names[data.nesting] = data.name;
      open.set(file, names);
    } else if (
      (event.type === 'test:pass' || event.type === 'test:fail') &&
      (data.skip !== undefined || data.todo !== undefined)
    ) {
      const parents = (open.get(file) ?? []).slice(0, data.nesting);
      const kind = data.skip !== undefined ? 'skip' : 'todo';
      const reason = data.skip ?? data.todo;
      yield `${JSON.stringify({
        kind,
        type: data.details?.type ?? 'test',
        file,
        name: [...parents, data.name].join(' › '),
        reason: typeof reason === 'string' && reason ? reason : '(no reason given)',
      })}\n`;
    }
  }
}

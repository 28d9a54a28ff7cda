// A node:test reporter for scripts/test.mjs, one JSON line per record: every skipped or todo test
// and suite, with its file, full name (suite › test) and reason (node's own counts never include
// a skipped `describe`), and at the end the run's counts ({"summary": {...}}). One reporter
// instead of node's tap reporter beside it: a third reporter makes node warn about listeners.
import { relative } from 'node:path';

export default async function* resultsReporter(source) {
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
    } else if (event.type === 'test:summary' && data.file === undefined) {
      // The whole run's counts (per-file summaries carry their file).
      yield `${JSON.stringify({ summary: data.counts })}\n`;
    }
  }
}

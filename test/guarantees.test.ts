/**
 * The guarantee list (scripts/guarantees.json) stays true to the tree: every anchor of a guarding
 * line is found exactly once, every guarding test exists under its name, and every promise is in its
 * README's guarantees table. (`npm run test:guarantees` is the slow part: it breaks each line and
 * checks that its test fails.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
// @ts-expect-error: a plain .mjs script, no declarations
import { checkGuarantees, loadGuarantees } from '../scripts/guarantees.mjs';

test('every guarantee names an anchor found once, an existing test, and a row of its README', () => {
  const guarantees = loadGuarantees() as { id: string; readme: string }[];
  assert.ok(guarantees.length >= 15, `${guarantees.length} guarantees`);
  for (const readme of [
    'services/log-metrics/README.md',
    'services/queue-depth/README.md',
    'services/log-shipper/README.md',
    'packages/core/README.md',
  ])
    assert.ok(
      guarantees.some((g) => g.readme === readme),
      `${readme} has guarantees`,
    );
  assert.deepEqual(checkGuarantees(guarantees), []);
});

// The import direction, kept by biome's noRestrictedImports (biome.json `overrides`, run by `npm run lint`
// and `npm test`): services never import another service, packages never import a service, and
// @windsock/core imports no other Windsock package. This test checks that the lint rules cover every
// service and package that exists, and that core's sources name neither Airflow nor AWS.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = new URL('..', import.meta.url).pathname;
const dirs = (d: string) =>
  readdirSync(join(root, d), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
const services = dirs('services').filter((s) => {
  try {
    readFileSync(join(root, 'services', s, 'package.json'));
    return true;
  } catch {
    return false;
  }
});
const nameOf = (s: string) =>
  (JSON.parse(readFileSync(join(root, 'services', s, 'package.json'), 'utf8')) as { name: string }).name;

interface Override {
  includes: string[];
  linter?: { rules?: { style?: { noRestrictedImports?: { options?: { patterns?: Array<{ group: string[] }> } } } } };
}
const biome = JSON.parse(readFileSync(join(root, 'biome.json'), 'utf8')) as { overrides?: Override[] };
const restricted = (include: string): string[] =>
  (biome.overrides ?? [])
    .filter((o) => o.includes.includes(include))
    .flatMap((o) => o.linter?.rules?.style?.noRestrictedImports?.options?.patterns ?? [])
    .flatMap((p) => p.group);

describe('the import direction is enforced by the linter for every part', () => {
  it('each service may not import any other service', () => {
    for (const s of services) {
      const forbidden = restricted(`services/${s}/**`);
      for (const other of services) {
        if (other === s) continue;
        assert.ok(forbidden.includes(nameOf(other)), `biome.json: services/${s} may import ${nameOf(other)}`);
        assert.ok(
          forbidden.includes(`**/services/${other}/**`),
          `biome.json: services/${s} may import services/${other}`,
        );
      }
    }
  });

  it('no package may import a service; core may import no other Windsock package', () => {
    const forbidden = restricted('packages/**');
    for (const s of services) assert.ok(forbidden.includes(nameOf(s)), `biome.json: packages may import ${nameOf(s)}`);
    assert.ok(forbidden.includes('**/services/**'));
    const core = restricted('packages/core/**');
    assert.ok(core.includes('@windsock/*') && core.includes('!@windsock/core'), 'core may import other packages');
  });

  it("packages/core's sources name neither Airflow nor AWS", () => {
    const walk = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.ts') ? [join(d, e.name)] : [],
      );
    for (const file of walk(join(root, 'packages', 'core', 'src'))) {
      // The one exception is a value, not knowledge: the Cluster dimension's documented default.
      const text = readFileSync(file, 'utf8')
        .replace(".default('airflow')", '')
        .replace(/([a-z0-9])([A-Z])/g, '$1 $2'); // camelCase words apart: awsConfig, checkAirflow
      const hit = /\b(airflow|aws)\b/i.exec(text);
      assert.equal(hit, null, `${file.slice(root.length)} names ${hit?.[0]}`);
    }
  });
});

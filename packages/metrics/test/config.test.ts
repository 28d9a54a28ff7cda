import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '@windsock/core';
import { metricsConfigSection } from '@windsock/metrics/config';

const tmp = mkdtempSync(join(tmpdir(), 'ws-metrics-config-'));
const yaml = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};

describe('the metrics config section (through the core loader)', () => {
  it('uses defaults when nothing is set', () => {
    const { config, sources } = loadConfig({ sections: [metricsConfigSection], env: {} });
    assert.equal(config.cluster, 'airflow');
    assert.equal((config as { metrics: { flushIntervalSeconds: number } }).metrics.flushIntervalSeconds, 60);
    assert.equal(sources.get('metrics.flushIntervalSeconds'), 'default');
  });

  it('names the key, the source, the problem and a good value when a value is bad', () => {
    assert.throws(
      () => loadConfig({ sections: [metricsConfigSection], env: { WINDSOCK_METRICS__FLUSH_INTERVAL_SECONDS: 'soon' } }),
      (e: Error) =>
        e instanceof ConfigError &&
        e.message.includes('metrics.flushIntervalSeconds') &&
        e.message.includes('WINDSOCK_METRICS__FLUSH_INTERVAL_SECONDS') &&
        e.message.includes('"soon"') &&
        e.message.includes('Example: 60'),
    );
    const file = yaml('neg.yaml', 'metrics:\n  flushIntervalSeconds: -5\n');
    assert.throws(
      () => loadConfig({ sections: [metricsConfigSection], env: {}, file }),
      (e: Error) =>
        e instanceof ConfigError &&
        /metrics\.flushIntervalSeconds \(from file .*neg\.yaml\): .*>0.*got -5/.test(e.message),
    );
  });

  it('rejects unknown keys and unknown WINDSOCK_ variables by name', () => {
    const file = yaml('typo.yaml', 'metrics:\n  flushIntervalSecs: 5\n');
    assert.throws(
      () => loadConfig({ sections: [metricsConfigSection], env: {}, file }),
      /unknown config key metrics\.flushIntervalSecs .*known keys here: .*flushIntervalSeconds/,
    );
    assert.throws(
      () => loadConfig({ sections: [metricsConfigSection], env: { WINDSOCK_FLUSH: '5' } }),
      /unknown environment variable WINDSOCK_FLUSH/,
    );
    assert.throws(
      () => loadConfig({ sections: [metricsConfigSection], env: {}, file: yaml('list.yaml', '- a\n- b\n') }),
      /must be a YAML mapping/,
    );
    assert.throws(
      () => loadConfig({ sections: [metricsConfigSection], env: {}, file: yaml('broken.yaml', 'a: [\n') }),
      /not valid YAML at line/,
    );
    assert.throws(
      () => loadConfig({ sections: [metricsConfigSection], env: {}, file: join(tmp, 'missing.yaml') }),
      /cannot read config file .*ENOENT/,
    );
  });
});

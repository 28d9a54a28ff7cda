/**
 * The deploy catalog (packages/deploy/src/catalog.ts) against the services' own contracts: every
 * metric an alarm or a dashboard names is one a service publishes, with its unit and dimension
 * set; a typo fails. The recommended heartbeat alarm is the heartbeat service's own.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  CADVISOR_METRICS,
  DASHBOARDS,
  type DashboardDef,
  dashboardMetrics,
  metric,
  recommendedAlarms,
  SERVICES,
  SHIP_FAILURE_REASONS,
} from '@windsock/deploy';
import { buildHeartbeatAlarm } from '@windsock/heartbeat';
import { SHIPPER_METRICS } from '@windsock/log-shipper';
import { QUEUE_DEPTH_METRICS } from '@windsock/queue-depth';
import { CADVISOR_FAMILY_NAMES } from '../../services/container-stats/src/prometheus.ts';
import { COUNTERS } from '../../services/log-metrics/src/counters.ts';
import { ROOT } from './helpers.ts';

const catalog = (service: string) => SERVICES.find((s) => s.service === service)?.metrics ?? [];
const sorted = (a: readonly string[]) => [...a].sort();

test('queue-depth: the catalog is QUEUE_DEPTH_METRICS (names, units, dimensions)', () => {
  const table = QUEUE_DEPTH_METRICS as Record<string, { unit: string; dimensions: readonly string[] }>;
  assert.deepEqual(sorted(catalog('queue-depth').map((m) => m.name)), sorted(Object.keys(table)));
  for (const m of catalog('queue-depth')) {
    assert.equal(m.unit, table[m.name]?.unit, m.name);
    assert.deepEqual(sorted(m.dimensions), sorted(['Cluster', ...(table[m.name]?.dimensions ?? [])]), m.name);
  }
});

test('log-shipper: every catalog metric is in SHIPPER_METRICS with the same unit, kind and dimensions', () => {
  const byName = new Map(Object.values(SHIPPER_METRICS).map((s) => [s.name as string, s]));
  for (const m of catalog('log-shipper')) {
    const s = byName.get(m.name);
    assert.ok(s, `${m.name} is not a log-shipper metric`);
    assert.equal(m.unit, s.unit, m.name);
    assert.equal(m.kind, s.kind, m.name);
    assert.deepEqual(sorted(m.dimensions), sorted(['Cluster', ...s.dimensions]), m.name);
  }
  const reasons = /export type FailureClass =([^;]+);/.exec(
    readFileSync(join(ROOT, 'services/log-shipper/src/metrics.ts'), 'utf8'),
  )?.[1];
  assert.deepEqual(
    sorted([...(reasons ?? '').matchAll(/'([a-z_]+)'/g)].map((x) => x[1] as string)),
    sorted([...SHIP_FAILURE_REASONS]),
  );
});

test('log-metrics: every catalog counter is in COUNTERS; its dimensions are Cluster, Component and what the counter may carry', () => {
  const table = COUNTERS as Record<string, { dims: readonly string[] }>;
  for (const m of catalog('log-metrics')) {
    const c = table[m.name];
    assert.ok(c, `${m.name} is not a log-metrics counter`);
    assert.equal(m.kind, 'counter');
    assert.deepEqual(
      sorted([...m.dimensions, ...(m.optional ?? [])]).filter((d) => d !== 'Queue'),
      sorted(['Cluster', 'Component', ...c.dims]).filter((d) => d !== 'Queue'),
      m.name,
    );
  }
});

test('scaler and container-stats: each catalog metric is published by their code with its dimensions', () => {
  const scaler = readFileSync(join(ROOT, 'services/scaler/src/coordinator.ts'), 'utf8');
  for (const m of catalog('scaler')) {
    const call = new RegExp(`'${m.name}', \\{([^}]*)\\}`).exec(scaler);
    assert.ok(call, `${m.name} is not published by services/scaler/src/coordinator.ts`);
    const keys = [...(call[1] ?? '').matchAll(/(\w+):/g)].map((x) => x[1] as string);
    assert.deepEqual(sorted(['Cluster', ...keys]), sorted(m.dimensions), m.name);
  }
  const aggregates = readFileSync(join(ROOT, 'services/container-stats/src/aggregates.ts'), 'utf8');
  for (const m of catalog('container-stats')) assert.ok(aggregates.includes(`'${m.name}'`), m.name);
  for (const f of CADVISOR_METRICS)
    assert.ok(CADVISOR_FAMILY_NAMES.includes(f), `${f} is not served by container-stats`);
});

test('a metric name that no service publishes fails: alarms and dashboards name metrics only through the catalog', () => {
  assert.throws(
    () => metric('OldestQueuedTaskAge'),
    /no Windsock service publishes a metric named OldestQueuedTaskAge/,
  );
  const typo: DashboardDef = {
    uid: 't',
    title: 't',
    panels: [
      {
        id: 1,
        title: 'x',
        description: 'x',
        unit: 's',
        queries: [{ refId: 'A', metric: 'LogShipLagg', stat: 'p99', by: [] }],
      },
    ],
  };
  assert.throws(() => dashboardMetrics(typo), /LogShipLagg/);
  for (const d of DASHBOARDS) assert.ok(dashboardMetrics(d).windsock.length + dashboardMetrics(d).cadvisor.length > 0);
});

test("the recommended heartbeat alarm is the heartbeat service's own (same name, so plan and `heartbeat alarm` agree)", () => {
  const ours = recommendedAlarms({
    cluster: 'prod',
    namespace: 'Windsock',
    alarms: {
      actions: ['arn:aws:sns:us-east-1:123456789012:oncall'],
      oldestQueuedSeconds: 900,
      schedulerHeartbeatSeconds: 120,
      workersAtMaxMinutes: 30,
      scaleInBlockedMinutes: 60,
      logShipLagSeconds: 300,
    },
    queues: [],
    pools: [],
    heartbeat: { dagId: 'windsock_heartbeat', component: 'task', intervalSeconds: 300 },
  }).find((a) => a.MetricName === 'HeartbeatSuccess');
  const theirs = buildHeartbeatAlarm({
    cluster: 'prod',
    namespace: 'Windsock',
    component: 'task',
    dagId: 'windsock_heartbeat',
    intervalSeconds: 300,
    alarmActions: ['arn:aws:sns:us-east-1:123456789012:oncall'],
  });
  assert.ok(ours);
  const { AlarmDescription: _a, ...o } = ours;
  const { AlarmDescription: _b, ...t } = theirs;
  assert.deepEqual(o, t);
});

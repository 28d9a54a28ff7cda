/**
 * The pure parts of the heartbeat commands: the interval read from Airflow's stored schedule, the
 * verdict's edges, and the alarm against CloudWatch's documented limits.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateMetricAlarm } from '@windsock/aws';
import { buildHeartbeatAlarm } from '../src/alarm.ts';
import { scheduleIntervalSeconds } from '../src/schedule.ts';
import { type HeartbeatFacts, judge, thresholdsFor } from '../src/status.ts';

test("the interval comes from what Airflow stored of the DAG's schedule (2.x JSON, 3.x summary, cron)", () => {
  const cases: Array<[string | null, number | undefined]> = [
    ['{"__var": 300.0, "__type": "timedelta"}', 300],
    ['{"__var": 86400.0, "__type": "timedelta"}', 86400],
    ['0:05:00', 300],
    ['1 day, 0:00:00', 86400],
    ['0:00:30.500000', 30.5],
    ['"*/5 * * * *"', 300],
    ['*/15 * * * *', 900],
    ['* * * * *', 60],
    ['7 * * * *', 3600],
    ['0 */2 * * *', 7200],
    ['@hourly', 3600],
    ['"@daily"', 86400],
    ['*/7 * * * *', undefined], // not a fixed interval (7 does not divide the hour)
    ['0 9 * * 1-5', undefined],
    ['{"__type": "relativedelta"}', undefined],
    [null, undefined],
  ];
  for (const [stored, want] of cases) assert.equal(scheduleIntervalSeconds(stored), want, String(stored));
});

const at = (iso: string) => new Date(iso);
const NOW = at('2026-12-02T12:00:00Z');
const facts = (over: Partial<HeartbeatFacts>): HeartbeatFacts => ({
  dagId: 'windsock_heartbeat',
  dagFound: true,
  paused: false,
  newestRun: null,
  newestRunTasks: [],
  lastSuccess: null,
  schedulerHeartbeatAgeSeconds: 1,
  ...over,
});
const run = (runId: string, state: string, start: string, end: string | null) => ({
  runId,
  state,
  queuedAt: at(start),
  startDate: at(start),
  endDate: end ? at(end) : null,
});

test('one failed run after a recent success is WARN; after the WARN window it is CRIT', () => {
  const t = thresholdsFor(300, 'test');
  const ok = run('a', 'success', '2026-12-02T11:55:00Z', '2026-12-02T11:56:00Z');
  const failed = run('b', 'failed', '2026-12-02T11:59:00Z', '2026-12-02T11:59:30Z');
  const tasks = [{ taskId: 'probe_dns', state: 'failed', endDate: null }];
  assert.equal(judge(facts({ lastSuccess: ok, newestRun: failed, newestRunTasks: tasks }), t, NOW).status, 'WARN');
  const old = run('a', 'success', '2026-12-02T11:40:00Z', '2026-12-02T11:41:00Z');
  const v = judge(facts({ lastSuccess: old, newestRun: failed, newestRunTasks: tasks }), t, NOW);
  assert.equal(v.status, 'CRIT');
  assert.equal(v.code, 2);
  assert.match(v.summary, /probe_dns failed/);
});

test('a run still going after a whole interval is WARN; a paused DAG says so', () => {
  const t = thresholdsFor(300, 'test');
  const ok = run('a', 'success', '2026-12-02T11:52:00Z', '2026-12-02T11:53:00Z');
  const stuck = run('b', 'running', '2026-12-02T11:53:30Z', null);
  const v = judge(facts({ lastSuccess: ok, newestRun: stuck, paused: true }), t, NOW);
  assert.equal(v.status, 'WARN');
  assert.match(v.summary, /still running after 6m30s/);
  assert.ok(v.details.some((d) => d.includes('PAUSED')));
});

test('the heartbeat alarm is valid for every interval a heartbeat uses, and its window is two periods', () => {
  for (const interval of [30, 60, 90, 300, 600, 3600, 86400]) {
    const alarm = buildHeartbeatAlarm({
      cluster: 'prod',
      namespace: 'Windsock',
      component: 'task',
      dagId: 'windsock_heartbeat',
      intervalSeconds: interval,
      alarmActions: ['arn:aws:sns:eu-west-1:123456789012:oncall'],
    });
    assert.deepEqual(validateMetricAlarm(alarm), [], `interval ${interval}`);
    assert.ok((alarm.Period ?? 0) >= interval && (alarm.Period ?? 0) % 60 === 0);
    assert.equal(alarm.TreatMissingData, 'breaching');
  }
});

test('validateMetricAlarm names every limit a request breaks (moto would accept them all)', () => {
  const problems = validateMetricAlarm({
    AlarmName: '',
    Namespace: 'W',
    MetricName: 'M',
    Statistic: 'Median' as never,
    Period: 45,
    EvaluationPeriods: 2000,
    DatapointsToAlarm: 3000,
    Threshold: 1,
    ComparisonOperator: 'LessThanThreshold',
    TreatMissingData: 'breach',
    AlarmActions: Array.from({ length: 6 }, (_, i) => `arn:aws:sns:us-east-1:1:t${i}`),
  });
  const expected = [
    /AlarmName must be 1-255/,
    /Statistic must be one of/,
    /Period must be 10, 20, 30 or a multiple of 60/,
    /Period x EvaluationPeriods must be at most 86400/,
    /DatapointsToAlarm must be between 1 and EvaluationPeriods/,
    /TreatMissingData must be one of/,
    /AlarmActions may list at most 5/,
  ];
  for (const re of expected)
    assert.ok(
      problems.some((p) => re.test(p)),
      `${re} in ${problems.join(' | ')}`,
    );
  assert.equal(problems.length, expected.length, problems.join(' | '));
});

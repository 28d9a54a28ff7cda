/**
 * Alarms as code: every recommended CloudWatch alarm, built from the config. Each names its metric
 * through the catalog (a typo throws), chooses TreatMissingData on purpose (said in a comment and in
 * the description) and tells on-call what to do. `plan` compares them with DescribeAlarms.
 */
import type { MetricAlarm, PutMetricAlarmInput } from '@aws-sdk/client-cloudwatch';
import { validateMetricAlarm } from '@windsock/aws/alarms';
import { metric, SHIP_FAILURE_REASONS } from './catalog.ts';

/** The effective `alarms` section. */
export interface AlarmSettings {
  actions: string[];
  oldestQueuedSeconds: number;
  schedulerHeartbeatSeconds: number;
  workersAtMaxMinutes: number;
  scaleInBlockedMinutes: number;
  logShipLagSeconds: number;
}

/** What the alarms are built from: the parts of the one config they read. */
export interface AlarmInputs {
  cluster: string;
  namespace: string;
  alarms: AlarmSettings;
  /** queueDepth.queues (each gets its oldest-queued alarm); empty: `default`. */
  queues: string[];
  /** workerPools: name and max. */
  pools: { name: string; max: number }[];
  /** heartbeat.* when the heartbeat section is registered. */
  heartbeat: { dagId: string; component: string; intervalSeconds: number };
}

type Missing = NonNullable<PutMetricAlarmInput['TreatMissingData']>;

export function recommendedAlarms(i: AlarmInputs): PutMetricAlarmInput[] {
  const out: PutMetricAlarmInput[] = [];
  const a = i.alarms;
  const name = (what: string) => `${i.cluster}-windsock-${what}`;
  const add = (
    what: string,
    metricName: string,
    dims: Record<string, string>,
    rule: {
      statistic?: PutMetricAlarmInput['Statistic'];
      extended?: string;
      period: number;
      evaluations: number;
      datapoints?: number;
      op: NonNullable<PutMetricAlarmInput['ComparisonOperator']>;
      threshold: number;
      missing: Missing;
    },
    description: string,
  ) => {
    const spec = metric(metricName);
    const wanted = Object.keys(dims).sort();
    const sets = [spec.dimensions, [...spec.dimensions, ...(spec.optional ?? [])]].map((d) => [...d].sort().join(','));
    if (!sets.includes(wanted.join(',')))
      throw new Error(
        `alarm ${what}: ${metricName} is published with dimensions [${spec.dimensions}], not [${wanted}]`,
      );
    out.push({
      AlarmName: name(what),
      AlarmDescription: description,
      Namespace: i.namespace,
      MetricName: metricName,
      Dimensions: Object.entries(dims).map(([Name, Value]) => ({ Name, Value })),
      ...(rule.extended ? { ExtendedStatistic: rule.extended } : { Statistic: rule.statistic ?? 'Maximum' }),
      // The unit the service publishes with (catalog, tested against the services): a different one never matches.
      Unit: spec.unit,
      Period: rule.period,
      EvaluationPeriods: rule.evaluations,
      DatapointsToAlarm: rule.datapoints ?? rule.evaluations,
      ComparisonOperator: rule.op,
      Threshold: rule.threshold,
      TreatMissingData: rule.missing,
      ActionsEnabled: a.actions.length > 0,
      AlarmActions: a.actions,
      OKActions: a.actions,
    });
  };
  const cluster = { Cluster: i.cluster };

  // No token at all is the failure this alarm exists for: missing data breaches (as `windsock heartbeat alarm`).
  const hbPeriod = Math.max(60, Math.ceil(i.heartbeat.intervalSeconds / 60) * 60);
  add(
    'heartbeat-missing',
    'HeartbeatSuccess',
    { ...cluster, Component: i.heartbeat.component },
    { statistic: 'Sum', period: hbPeriod, evaluations: 2, op: 'LessThanThreshold', threshold: 1, missing: 'breaching' },
    `No ${i.heartbeat.dagId} success token from cluster ${i.cluster} in 2 periods of ${hbPeriod} s. Run \`windsock heartbeat check\`: it names the failing probe, the last success and the scheduler heartbeat age. A dead scheduler, a stopped worker pool or a stopped log-metrics all end here.`,
  );
  // queue-depth publishes explicit zeros for configured queues, so missing data means queue-depth
  // itself is down, which metadb-down (breaching) reports: here missing does not breach.
  for (const q of i.queues.length ? i.queues : ['default']) {
    add(
      `oldest-queued-age-${q}`,
      'OldestQueuedTaskAgeSeconds',
      { ...cluster, Queue: q },
      {
        period: 60,
        evaluations: 5,
        op: 'GreaterThanThreshold',
        threshold: a.oldestQueuedSeconds,
        missing: 'notBreaching',
      },
      `A task has waited more than ${a.oldestQueuedSeconds} s in queue ${q} for 5 minutes. Check that workers consume ${q} (the Containers dashboard, \`celery inspect active_queues\`), that the pool is not at its max (workers-at-max alarm) and the Airflow pool's open slots.`,
    );
  }
  add(
    'scheduler-heartbeat-age',
    'SchedulerHeartbeatAgeSeconds',
    cluster,
    {
      period: 60,
      evaluations: 3,
      op: 'GreaterThanThreshold',
      threshold: a.schedulerHeartbeatSeconds,
      missing: 'notBreaching',
    },
    `The Airflow scheduler has not heartbeat for over ${a.schedulerHeartbeatSeconds} s for 3 minutes: nothing is being scheduled. Look at the scheduler task's log and restart it; if it runs, check its metadb connection. (Missing data is metadb-down's to report.)`,
  );
  // Without data queue-depth is dead or cannot publish: Windsock is blind, which must page, so missing breaches.
  for (const [what, m, thing] of [
    ['metadb-down', 'MetadbUp', 'the Airflow metadb (PostgreSQL)'],
    ['broker-down', 'BrokerUp', 'the Celery broker (Redis)'],
  ] as const) {
    add(
      what,
      m,
      cluster,
      { statistic: 'Minimum', period: 60, evaluations: 3, op: 'LessThanThreshold', threshold: 1, missing: 'breaching' },
      `queue-depth could not reach ${thing} for 3 minutes, or queue-depth itself stopped publishing (no data breaches). Check \`windsock queue-depth --once\` from the cluster service, the database/broker health and its security groups.`,
    );
  }
  for (const p of i.pools) {
    const minutes = a.workersAtMaxMinutes;
    const periods = Math.max(1, Math.round(minutes / 5));
    // No data: the scaler or queue-depth is down, which their own alarms report.
    add(
      `workers-at-max-${p.name}`,
      'DesiredWorkers',
      { ...cluster, WorkerPool: p.name },
      {
        statistic: 'Minimum',
        period: 300,
        evaluations: periods,
        op: 'GreaterThanOrEqualToThreshold',
        threshold: p.max,
        missing: 'notBreaching',
      },
      `Worker pool ${p.name} has wanted its maximum (${p.max}) for ${periods * 5} minutes: demand exceeds capacity and queues grow. Raise the pool's max (and the ECS service's limits) or find what floods the queue.`,
    );
    const blocked = Math.max(1, Math.round(a.scaleInBlockedMinutes / 5));
    // No deferrals reported means scale-in is not blocked.
    add(
      `scale-in-blocked-${p.name}`,
      'ScaleInDeferred',
      { ...cluster, WorkerPool: p.name, Reason: 'BusyWorkers' },
      {
        statistic: 'Sum',
        period: 300,
        evaluations: blocked,
        op: 'GreaterThanOrEqualToThreshold',
        threshold: 1,
        missing: 'notBreaching',
      },
      `The scaler has wanted to remove workers of ${p.name} for ${blocked * 5} minutes but every candidate is busy: long tasks keep the pool large. See the scaler's /status (busy workers and their tasks); this costs money, not correctness.`,
    );
    // The scaler is a leader-elected singleton: no data means none runs, which is as bad as a failing backend.
    add(
      `scaler-backend-down-${p.name}`,
      'ScalerBackendUp',
      { ...cluster, WorkerPool: p.name },
      { statistic: 'Minimum', period: 60, evaluations: 5, op: 'LessThanThreshold', threshold: 1, missing: 'breaching' },
      `The scaler cannot read or resize worker pool ${p.name} (its backend, e.g. ECS, fails) or no scaler runs: the pool no longer follows demand. Check the cluster service's log and its task role (docker/iam/scaler.json).`,
    );
  }
  // No uploads means no lag to report.
  add(
    'log-ship-lag',
    'LogShipLag',
    cluster,
    {
      extended: 'p99',
      period: 300,
      evaluations: 3,
      op: 'GreaterThanThreshold',
      threshold: a.logShipLagSeconds,
      missing: 'notBreaching',
    },
    `Task logs reach S3 more than ${a.logShipLagSeconds} s after they were written (p99, 15 minutes): the Airflow UI shows stale logs. Check log-shipper's /status backlog and LogShipFailures/LogShipRetries by Reason (S3 throttling, network).`,
  );
  for (const reason of SHIP_FAILURE_REASONS) {
    // A failure counter without data has not failed.
    add(
      `log-ship-failures-${reason.replace(/_/g, '-')}`,
      'LogShipFailures',
      { ...cluster, Reason: reason },
      {
        statistic: 'Sum',
        period: 300,
        evaluations: 1,
        op: 'GreaterThanOrEqualToThreshold',
        threshold: 1,
        missing: 'notBreaching',
      },
      `log-shipper gave up uploads after their retries (${reason}); the files stay in its backlog and are retried, so nothing is lost yet, but logs are late. Read log-shipper's log for the object keys and the S3 error; check the task role (docker/iam/log-shipper.json) and the bucket.`,
    );
  }
  // A drop counter without data has not dropped.
  add(
    'cloudwatch-sink-drops',
    'MetricsDropped',
    { Sink: 'cloudwatch' },
    {
      statistic: 'Sum',
      period: 300,
      evaluations: 1,
      op: 'GreaterThanOrEqualToThreshold',
      threshold: 1,
      missing: 'notBreaching',
    },
    `A Windsock CloudWatch sink dropped metric datums (buffer full while CloudWatch was unreachable, or rejected datums): dashboards and alarms miss data. Read the sinks' logs (the reason is named) and windsock_metrics_dropped_total by reason on /metrics.`,
  );
  return out;
}

/** Every limit problem of every alarm, prefixed with its name (empty: all valid). */
export function alarmProblems(alarms: readonly PutMetricAlarmInput[]): string[] {
  return alarms.flatMap((a) => validateMetricAlarm(a).map((p) => `${a.AlarmName}: ${p}`));
}

/** The fields `plan` compares (what PutMetricAlarm sets and DescribeAlarms returns). */
const FIELDS = [
  'AlarmDescription',
  'Namespace',
  'MetricName',
  'Statistic',
  'ExtendedStatistic',
  'Period',
  'EvaluationPeriods',
  'DatapointsToAlarm',
  'Threshold',
  'ComparisonOperator',
  'TreatMissingData',
  'ActionsEnabled',
  'AlarmActions',
  'OKActions',
  'Dimensions',
] as const;

export interface AlarmChange {
  name: string;
  change: 'create' | 'update' | 'unchanged';
  /** field: existing -> wanted, for updates. */
  differences: string[];
}

function norm(field: string, v: unknown): string {
  if (field === 'Dimensions' && Array.isArray(v))
    return JSON.stringify([...v].map((d) => `${d.Name}=${d.Value}`).sort());
  if (Array.isArray(v)) return JSON.stringify([...v].sort());
  return JSON.stringify(v ?? null);
}

/** What applying `wanted` would change, given the alarms that exist. */
export function planAlarms(wanted: readonly PutMetricAlarmInput[], existing: readonly MetricAlarm[]): AlarmChange[] {
  const byName = new Map(existing.map((e) => [e.AlarmName, e]));
  return wanted.map((w) => {
    const e = byName.get(w.AlarmName);
    if (!e) return { name: w.AlarmName as string, change: 'create', differences: [] };
    const differences: string[] = [];
    for (const f of FIELDS) {
      const want = (w as unknown as Record<string, unknown>)[f];
      const have = (e as unknown as Record<string, unknown>)[f];
      if (want === undefined && (have === undefined || (Array.isArray(have) && have.length === 0))) continue;
      if (norm(f, want) !== norm(f, have)) differences.push(`${f}: ${norm(f, have)} -> ${norm(f, want)}`);
    }
    return { name: w.AlarmName as string, change: differences.length ? 'update' : 'unchanged', differences };
  });
}

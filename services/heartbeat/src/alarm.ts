import type { PutMetricAlarmInput } from '@aws-sdk/client-cloudwatch';

/** What the heartbeat alarm is built from. */
export interface HeartbeatAlarmOptions {
  cluster: string;
  namespace: string;
  component: string;
  dagId: string;
  intervalSeconds: number;
  alarmActions: string[];
}

/**
 * The alarm on HeartbeatSuccess: Sum < 1 in each of two periods of (at least) one interval, with
 * missing data breaching, since no token at all is exactly the failure it exists for (a dead
 * scheduler, a dead log-metrics, a stopped worker pool). The period is the interval rounded up to
 * what CloudWatch accepts (a multiple of 60 s).
 */
export function buildHeartbeatAlarm(o: HeartbeatAlarmOptions): PutMetricAlarmInput {
  const period = Math.max(60, Math.ceil(o.intervalSeconds / 60) * 60);
  return {
    AlarmName: `${o.cluster}-windsock-heartbeat-missing`,
    AlarmDescription:
      `No ${o.dagId} success token from cluster ${o.cluster} in 2 periods of ${period} s. ` +
      'Run `windsock heartbeat check` to see the failing probe, the last success and the scheduler heartbeat age; ' +
      'a dead scheduler, a stopped worker pool or a stopped log-metrics all end here.',
    Namespace: o.namespace,
    MetricName: 'HeartbeatSuccess',
    Dimensions: [
      { Name: 'Cluster', Value: o.cluster },
      { Name: 'Component', Value: o.component },
    ],
    Statistic: 'Sum',
    Unit: 'Count',
    Period: period,
    EvaluationPeriods: 2,
    DatapointsToAlarm: 2,
    Threshold: 1,
    ComparisonOperator: 'LessThanThreshold',
    TreatMissingData: 'breaching',
    ActionsEnabled: o.alarmActions.length > 0,
    AlarmActions: o.alarmActions,
    OKActions: o.alarmActions,
  };
}

/**
 * The metrics each Windsock service publishes, in ONE place for the deployment artefacts: alarms,
 * dashboards and their tests name metrics only through this catalog, and a test checks it against
 * the services' own tables (queue-depth's QUEUE_DEPTH_METRICS, log-shipper's SHIPPER_METRICS, the
 * READMEs) and against what running services publish. A new service adds one entry here.
 */
import { type MetricKind, prometheusName } from '@windsock/metrics';

type Unit = 'Count' | 'Seconds' | 'Bytes' | 'None' | 'Percent';

/** One published metric: its CloudWatch name, unit, kind and dimensions (Cluster included when sent). */
export interface MetricSpec {
  name: string;
  unit: Unit;
  kind: MetricKind;
  /** Every dimension of the metric as published (CloudWatch needs the exact set). */
  dimensions: readonly string[];
  /** Dimensions some series add (a Queue when the line names one): another dimension set, same name. */
  optional?: readonly string[];
}

/** What a service contributes to a deployment. */
export interface ServiceDescriptor {
  service: string;
  metrics: readonly MetricSpec[];
  /** Its least-privilege policy in docker/iam. */
  iamPolicy: string;
}

const m = (name: string, unit: Unit, kind: MetricKind, dims: string[] = [], optional: string[] = []): MetricSpec => ({
  name,
  unit,
  kind,
  dimensions: ['Cluster', ...dims],
  ...(optional.length ? { optional } : {}),
});

export const SERVICES: readonly ServiceDescriptor[] = [
  {
    service: 'queue-depth',
    iamPolicy: 'queue-depth.json',
    metrics: [
      m('TaskInstances', 'Count', 'gauge', ['Queue', 'State']),
      m('TaskInstancesByPool', 'Count', 'gauge', ['Pool', 'State']),
      m('OldestQueuedTaskAgeSeconds', 'Seconds', 'gauge', ['Queue']),
      m('SchedulerHeartbeatAgeSeconds', 'Seconds', 'gauge'),
      m('PoolOpenSlots', 'Count', 'gauge', ['Pool']),
      m('BrokerQueueLength', 'Count', 'gauge', ['Queue']),
      m('BrokerUnackedMessages', 'Count', 'gauge'),
      m('DesiredWorkers', 'Count', 'gauge', ['WorkerPool']),
      m('MetadbUp', 'None', 'gauge'),
      m('BrokerUp', 'None', 'gauge'),
    ],
  },
  {
    service: 'log-metrics',
    iamPolicy: 'log-metrics.json',
    metrics: [
      m('TasksSentToExecutor', 'Count', 'counter', ['Component'], ['Queue']),
      m('TasksQueued', 'Count', 'counter', ['Component']),
      m('ExecutorEvents', 'Count', 'counter', ['Component', 'State']),
      m('TaskInstancesFinished', 'Count', 'counter', ['Component', 'State'], ['Queue']),
      m('TaskStateMarked', 'Count', 'counter', ['Component', 'State']),
      m('LogErrors', 'Count', 'counter', ['Component']),
      m('LogWarnings', 'Count', 'counter', ['Component']),
      m('Tracebacks', 'Count', 'counter', ['Component']),
      m('HeartbeatSuccess', 'Count', 'counter', ['Component'], ['Queue']),
      m('UnparsedLines', 'Count', 'counter', ['Component']),
    ],
  },
  {
    service: 'log-shipper',
    iamPolicy: 'log-shipper.json',
    metrics: [
      m('LogFilesShipped', 'Count', 'counter'),
      m('LogShippedBytes', 'Bytes', 'counter'),
      m('LogUploads', 'Count', 'counter', ['Kind']),
      m('LogShipLag', 'Seconds', 'distribution'),
      m('LogShipFailures', 'Count', 'counter', ['Reason']),
      m('LogShipRetries', 'Count', 'counter', ['Reason']),
      m('LocalLogsDeleted', 'Count', 'counter'),
      m('LogShipBacklogFiles', 'Count', 'gauge'),
      m('LogShipBacklogBytes', 'Bytes', 'gauge'),
    ],
  },
  {
    service: 'scaler',
    iamPolicy: 'scaler.json',
    metrics: [
      m('WorkerPoolDesiredCount', 'Count', 'gauge', ['WorkerPool']),
      m('WorkerPoolRunningCount', 'Count', 'gauge', ['WorkerPool']),
      m('ScalingActions', 'Count', 'counter', ['WorkerPool', 'Direction']),
      m('ScaleInDeferred', 'Count', 'counter', ['WorkerPool', 'Reason']),
      m('ExitsGranted', 'Count', 'counter', ['WorkerPool']),
      m('ScalerBackendUp', 'None', 'gauge', ['WorkerPool']),
    ],
  },
  {
    service: 'container-stats',
    iamPolicy: 'container-stats.json',
    // Published with containerStats.cloudwatchAggregates; the Prometheus side is cAdvisor's (CADVISOR_METRICS).
    metrics: [
      m('ContainerCpuCoresAverage', 'Count', 'gauge', ['ContainerName'], ['TaskFamily']),
      m('ContainerCpuCoresMaximum', 'Count', 'gauge', ['ContainerName'], ['TaskFamily']),
      m('ContainerMemoryWorkingSetAverage', 'Bytes', 'gauge', ['ContainerName'], ['TaskFamily']),
      m('ContainerMemoryWorkingSetMaximum', 'Bytes', 'gauge', ['ContainerName'], ['TaskFamily']),
    ],
  },
  {
    service: 'metrics sinks',
    iamPolicy: 'log-metrics.json',
    // The CloudWatch sink's own drop counter carries only the Sink dimension (no Cluster).
    metrics: [{ name: 'MetricsDropped', unit: 'Count', kind: 'counter', dimensions: ['Sink'] }],
  },
];

/** The log-shipper failure classes (its Reason dimension). */
export const SHIP_FAILURE_REASONS = [
  'throttled',
  'server_error',
  'timeout',
  'network',
  'client_error',
  'conflict',
  'integrity',
  'local_file',
  'other',
] as const;

/** The catalog entry of a metric; throws naming the metric when Windsock publishes none such. */
export function metric(name: string): MetricSpec {
  for (const s of SERVICES) for (const x of s.metrics) if (x.name === name) return x;
  throw new Error(`no Windsock service publishes a metric named ${name} (see packages/deploy/src/catalog.ts)`);
}

/** The Prometheus family a metric becomes through the prometheus sink (`windsock_` prefix). */
export function promName(name: string): string {
  const x = metric(name);
  return prometheusName(x.name, x.kind, x.unit as never);
}

/** The cAdvisor families container-stats serves on /metrics that the dashboards use (labels id, image, name). */
export const CADVISOR_METRICS = [
  'container_cpu_usage_seconds_total',
  'container_cpu_cfs_periods_total',
  'container_cpu_cfs_throttled_periods_total',
  'container_memory_working_set_bytes',
  'container_spec_memory_limit_bytes',
  'container_oom_events_total',
  'container_network_receive_bytes_total',
  'container_network_transmit_bytes_total',
] as const;

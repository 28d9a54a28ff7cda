/**
 * The Prometheus view of the collector, with cAdvisor's exact metric names, types, units, help
 * texts and labels (`id`, `name`, `image`, `container_label_*`), so dashboards and alerts
 * written for cAdvisor work unchanged. These names pass through unprefixed (no `windsock_`).
 *
 * Each family is registered in the process's prom-client Registry as an object whose `get()`
 * reads the latest samples at scrape time: nothing is copied per sample, and a removed
 * container's series are simply not there at the next scrape.
 */
import { readFileSync } from 'node:fs';
import type { Registry } from 'prom-client';
import type { Collector, Tracked } from './collector.ts';

type Labels = Record<string, string>;
interface Value {
  labels: Labels;
  value: number;
}

/** A family: name, help, type, and its values for one container. */
interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  values(t: Tracked, base: Labels): Value[] | Value | undefined;
  /** The node's (`id="/"`) values, when the family has them. */
  node?(c: Collector, base: Labels): Value[] | Value | undefined;
}

/** cAdvisor's sanitizer: a label key's characters outside [a-zA-Z0-9_] become `_`. */
export function containerLabelName(key: string): string {
  return `container_label_${key.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

/** cAdvisor's `specMemoryValue`: unlimited (or anything above 2^62) is exported as 0. */
export function specMemoryValue(v: number | null): number {
  return v === null || v > 2 ** 62 ? 0 : v;
}

/** The base labels of a container, as cAdvisor's DefaultContainerLabels makes them. */
export function baseLabels(t: Tracked): Labels {
  const l: Labels = { id: t.info.id, image: t.info.image, name: t.info.name };
  for (const [k, v] of Object.entries(t.info.labels)) l[containerLabelName(k)] = v;
  return l;
}

const one = (labels: Labels, value: number | undefined): Value | undefined =>
  value === undefined || Number.isNaN(value) ? undefined : { labels, value };

const ns = (v: number | undefined) => (v === undefined ? undefined : v / 1e9);

const FAMILIES: Family[] = [
  {
    name: 'container_cpu_usage_seconds_total',
    help: 'Cumulative cpu time consumed in seconds.',
    type: 'counter',
    values: (t, b) => one({ ...b, cpu: 'total' }, ns(t.last?.cpuUsageNs)),
    node: (c, b) => one({ ...b, cpu: 'total' }, ns(c.node?.last?.cpuUsageNs)),
  },
  {
    name: 'container_cpu_user_seconds_total',
    help: 'Cumulative user cpu time consumed in seconds.',
    type: 'counter',
    values: (t, b) => one(b, ns(t.last?.cpuUserNs)),
    node: (c, b) => one(b, ns(c.node?.last?.cpuUserNs)),
  },
  {
    name: 'container_cpu_system_seconds_total',
    help: 'Cumulative system cpu time consumed in seconds.',
    type: 'counter',
    values: (t, b) => one(b, ns(t.last?.cpuSystemNs)),
    node: (c, b) => one(b, ns(c.node?.last?.cpuSystemNs)),
  },
  // The CFS families exist only for containers with a CPU quota (cAdvisor: condition Quota != 0).
  {
    name: 'container_cpu_cfs_periods_total',
    help: 'Number of elapsed enforcement period intervals.',
    type: 'counter',
    values: (t, b) => (t.spec.cpuQuotaUs ? one(b, t.last?.cfsPeriods ?? 0) : undefined),
  },
  {
    name: 'container_cpu_cfs_throttled_periods_total',
    help: 'Number of throttled period intervals.',
    type: 'counter',
    values: (t, b) => (t.spec.cpuQuotaUs ? one(b, t.last?.cfsThrottledPeriods ?? 0) : undefined),
  },
  {
    name: 'container_cpu_cfs_throttled_seconds_total',
    help: 'Total time duration the container has been throttled.',
    type: 'counter',
    values: (t, b) => (t.spec.cpuQuotaUs ? one(b, (t.last?.cfsThrottledNs ?? 0) / 1e9) : undefined),
  },
  {
    name: 'container_memory_usage_bytes',
    help: 'Current memory usage in bytes, including all memory regardless of when it was accessed',
    type: 'gauge',
    values: (t, b) => one(b, t.last?.memoryUsageBytes),
    node: (c, b) => one(b, c.node?.last?.memoryUsageBytes),
  },
  {
    name: 'container_memory_working_set_bytes',
    help: 'Current working set in bytes.',
    type: 'gauge',
    values: (t, b) => one(b, t.last?.memoryWorkingSetBytes),
    node: (c, b) => one(b, c.node?.last?.memoryWorkingSetBytes),
  },
  {
    name: 'container_memory_rss',
    help: 'Size of RSS in bytes.',
    type: 'gauge',
    values: (t, b) => one(b, t.last?.memoryRssBytes),
  },
  {
    name: 'container_memory_cache',
    help: 'Number of bytes of page cache memory.',
    type: 'gauge',
    values: (t, b) => one(b, t.last?.memoryCacheBytes),
    node: (c, b) => one(b, c.node?.last?.memoryCacheBytes),
  },
  {
    name: 'container_memory_swap',
    help: 'Container swap usage in bytes.',
    type: 'gauge',
    values: (t, b) => one(b, t.last?.memorySwapBytes),
  },
  {
    name: 'container_memory_mapped_file',
    help: 'Size of memory mapped files in bytes.',
    type: 'gauge',
    values: (t, b) => one(b, t.last?.memoryMappedFileBytes),
  },
  {
    name: 'container_memory_max_usage_bytes',
    help: 'Maximum memory usage recorded in bytes',
    type: 'gauge',
    values: (t, b) => one(b, t.last?.memoryMaxUsageBytes),
  },
  // container_memory_failcnt is left out: cAdvisor types it a counter without `_total`, which
  // `promtool check metrics` rejects (the raw count is in the JSON API and /status).
  {
    name: 'container_oom_events_total',
    help: 'Count of out of memory events observed for the container',
    type: 'counter',
    values: (t, b) => one(b, t.last?.oomKills ?? 0),
  },
  {
    name: 'container_threads',
    help: 'Number of threads running inside the container',
    type: 'gauge',
    values: (t, b) => one(b, t.last?.pids),
  },
  {
    name: 'container_threads_max',
    help: 'Maximum number of threads allowed inside the container, infinity if value is zero',
    type: 'gauge',
    values: (t, b) => (t.last?.pids === undefined ? undefined : one(b, t.spec.pidsLimit ?? 0)),
  },
  ...netFamilies(),
  {
    name: 'container_fs_reads_bytes_total',
    help: 'Cumulative count of bytes read',
    type: 'counter',
    values: (t, b) => t.last?.io.map((d) => ({ labels: { ...b, device: d.device }, value: d.readBytes })),
  },
  {
    name: 'container_fs_writes_bytes_total',
    help: 'Cumulative count of bytes written',
    type: 'counter',
    values: (t, b) => t.last?.io.map((d) => ({ labels: { ...b, device: d.device }, value: d.writeBytes })),
  },
  {
    name: 'container_last_seen',
    help: 'Last time a container was seen by the exporter',
    type: 'gauge',
    values: (t, b) => one(b, Math.floor(t.lastSeen)),
  },
  {
    name: 'container_start_time_seconds',
    help: 'Start time of the container since unix epoch in seconds.',
    type: 'gauge',
    values: (t, b) => one(b, t.info.startedAt),
  },
  {
    name: 'container_spec_cpu_period',
    help: 'CPU period of the container.',
    type: 'gauge',
    values: (t, b) => one(b, t.spec.cpuPeriodUs),
  },
  {
    name: 'container_spec_cpu_quota',
    help: 'CPU quota of the container.',
    type: 'gauge',
    values: (t, b) => (t.spec.cpuQuotaUs ? one(b, t.spec.cpuQuotaUs) : undefined),
  },
  {
    name: 'container_spec_cpu_shares',
    help: 'CPU share of the container.',
    type: 'gauge',
    values: (t, b) => one(b, t.spec.cpuShares),
  },
  {
    name: 'container_spec_memory_limit_bytes',
    help: 'Memory limit for the container.',
    type: 'gauge',
    values: (t, b) => one(b, specMemoryValue(t.spec.memoryLimitBytes)),
  },
  {
    name: 'container_spec_memory_swap_limit_bytes',
    help: 'Memory swap limit for the container.',
    type: 'gauge',
    values: (t, b) => one(b, specMemoryValue(t.spec.memorySwapLimitBytes)),
  },
  {
    name: 'container_spec_memory_reservation_limit_bytes',
    help: 'Memory reservation limit for the container.',
    type: 'gauge',
    values: (t, b) => one(b, specMemoryValue(t.spec.memoryReservationBytes)),
  },
];

function netFamilies(): Family[] {
  const defs: Array<[string, string, keyof import('@windsock/cgroups').InterfaceCounters]> = [
    ['container_network_receive_bytes_total', 'Cumulative count of bytes received', 'rxBytes'],
    ['container_network_receive_packets_total', 'Cumulative count of packets received', 'rxPackets'],
    ['container_network_receive_errors_total', 'Cumulative count of errors encountered while receiving', 'rxErrors'],
    [
      'container_network_receive_packets_dropped_total',
      'Cumulative count of packets dropped while receiving',
      'rxDropped',
    ],
    ['container_network_transmit_bytes_total', 'Cumulative count of bytes transmitted', 'txBytes'],
    ['container_network_transmit_packets_total', 'Cumulative count of packets transmitted', 'txPackets'],
    [
      'container_network_transmit_errors_total',
      'Cumulative count of errors encountered while transmitting',
      'txErrors',
    ],
    [
      'container_network_transmit_packets_dropped_total',
      'Cumulative count of packets dropped while transmitting',
      'txDropped',
    ],
  ];
  return defs.map(([name, help, key]) => ({
    name,
    help,
    type: 'counter' as const,
    values: (t: Tracked, b: Labels) =>
      t.last?.network.map((i) => ({ labels: { ...b, interface: i.name }, value: i[key] as number })),
    node: (c: Collector, b: Labels) =>
      c.node?.last?.network.map((i) => ({ labels: { ...b, interface: i.name }, value: i[key] as number })),
  }));
}

function readId(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Every container_* family name this view can export. */
export const CADVISOR_FAMILY_NAMES: readonly string[] = FAMILIES.map((f) => f.name);

/**
 * Register cAdvisor's families (and `machine_cpu_cores`, `machine_memory_bytes`) in `registry`.
 * Returns a function that unregisters them.
 */
export function registerCadvisorMetrics(registry: Registry, collector: Collector): () => void {
  // The root cgroup's series (id="/") carry empty name and image, as cAdvisor's do.
  const nodeBase: Labels = { id: '/', image: '', name: '' };
  const registered: string[] = [];
  const add = (name: string, help: string, type: string, get: () => Value[]) => {
    const metric = {
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, aggregator: 'sum', values: get() }),
      reset: () => undefined,
    };
    registry.registerMetric(metric as never);
    registered.push(name);
  };
  for (const f of FAMILIES) {
    add(f.name, f.help, f.type, () => {
      const out: Value[] = [];
      const push = (v: Value[] | Value | undefined) => {
        if (!v) return;
        if (Array.isArray(v)) out.push(...v);
        else out.push(v);
      };
      if (f.node && collector.node) push(f.node(collector, nodeBase));
      for (const t of collector.containers.values()) if (t.last) push(f.values(t, baseLabels(t)));
      return out;
    });
  }
  const machineLabels: Labels = {
    boot_id: readId('/proc/sys/kernel/random/boot_id'),
    machine_id: readId('/etc/machine-id'),
    system_uuid: readId('/sys/class/dmi/id/product_uuid'),
  };
  if (collector.node) {
    const node = collector.node;
    add('machine_cpu_cores', 'Number of logical CPU cores.', 'gauge', () => [
      { labels: machineLabels, value: node.cpuCores },
    ]);
    add('machine_memory_bytes', 'Amount of memory installed on the machine.', 'gauge', () => [
      { labels: machineLabels, value: node.memoryBytes },
    ]);
  }
  return () => {
    for (const name of registered) registry.removeSingleMetric(name);
  };
}

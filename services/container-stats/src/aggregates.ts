/**
 * Optional per-minute aggregates through the metric sinks (CloudWatch, EMF): average and maximum
 * of CPU cores and memory working set per container, so a CloudWatch dashboard gets 1 s detail
 * condensed into one-minute points at a bounded cost (4 metrics per container per minute).
 */
import type { Metrics } from '@windsock/metrics';
import type { Collector } from './collector.ts';

interface Acc {
  name: string;
  cpuSum: number;
  cpuMax: number;
  memSum: number;
  memMax: number;
  n: number;
  lastCpuNs?: number;
  lastT?: number;
}

/** Per-container dimensions: the name, plus the ECS service or task family when the labels have them. */
export function aggregateDimensions(name: string, labels: Record<string, string>): Record<string, string> {
  const d: Record<string, string> = { ContainerName: name.slice(0, 255) };
  const family = labels['com.amazonaws.ecs.task-definition-family'];
  if (family) d.TaskFamily = family;
  const container = labels['com.amazonaws.ecs.container-name'];
  if (container) d.ContainerName = container;
  return d;
}

/** Accumulates samples and writes one datum per statistic per container each minute. */
export class CloudWatchAggregates {
  private readonly acc = new Map<string, Acc>();
  private windowStart = Date.now();

  constructor(
    private readonly metrics: Metrics,
    private readonly windowMs = 60_000,
  ) {}

  observe(collector: Collector): void {
    const now = Date.now();
    for (const [key, t] of collector.containers) {
      const s = t.last;
      if (!s) continue;
      let a = this.acc.get(key);
      if (!a) {
        a = { name: t.info.name, cpuSum: 0, cpuMax: 0, memSum: 0, memMax: 0, n: 0 };
        this.acc.set(key, a);
      }
      if (a.lastCpuNs !== undefined && a.lastT !== undefined && s.t > a.lastT) {
        const cores = Math.max(0, s.cpuUsageNs - a.lastCpuNs) / 1e6 / (s.t - a.lastT);
        a.cpuSum += cores;
        a.cpuMax = Math.max(a.cpuMax, cores);
        a.memSum += s.memoryWorkingSetBytes;
        a.memMax = Math.max(a.memMax, s.memoryWorkingSetBytes);
        a.n++;
      }
      a.lastCpuNs = s.cpuUsageNs;
      a.lastT = s.t;
      a.name = t.info.name;
    }
    for (const key of this.acc.keys()) if (!collector.containers.has(key)) this.acc.delete(key);
    if (now - this.windowStart >= this.windowMs) this.emit(collector, now);
  }

  private emit(collector: Collector, now: number): void {
    for (const [key, a] of this.acc) {
      if (a.n === 0) continue;
      const t = collector.containers.get(key);
      const dims = aggregateDimensions(a.name, t?.info.labels ?? {});
      this.metrics.gauge('ContainerCpuCoresAverage', dims, 'Count').set(a.cpuSum / a.n);
      this.metrics.gauge('ContainerCpuCoresMaximum', dims, 'Count').set(a.cpuMax);
      this.metrics.gauge('ContainerMemoryWorkingSetAverage', dims, 'Bytes').set(a.memSum / a.n);
      this.metrics.gauge('ContainerMemoryWorkingSetMaximum', dims, 'Bytes').set(a.memMax);
      a.cpuSum = 0;
      a.cpuMax = 0;
      a.memSum = 0;
      a.memMax = 0;
      a.n = 0;
    }
    this.windowStart = now;
    void this.metrics.flush();
  }

  async close(): Promise<void> {
    await this.metrics.close();
  }
}

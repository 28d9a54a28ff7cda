/**
 * Sinks by name, as a config lists them: `['cloudwatch', 'emf', 'prometheus', 'json']`.
 */
import { Registry } from 'prom-client';
import { CloudWatchSink, type CloudWatchSinkOptions } from './cloudwatch/sink.ts';
import { SINK_NAMES } from './config.ts';
import type { MetricSink } from './datum.ts';
import { EmfSink, type EmfSinkOptions } from './emf.ts';
import type { SinkLogger } from './logger.ts';
import { PrometheusSink, type PrometheusSinkOptions } from './prometheus.ts';
import { JsonSnapshotSink, type JsonSnapshotSinkOptions } from './snapshot.ts';

export { SINK_NAMES, type SinkName } from './config.ts';

/** What {@link createSinks} needs; per-sink options override the shared logger and registry. */
export interface CreateSinksOptions {
  sinks: readonly string[];
  logger?: SinkLogger;
  /** The process's /metrics registry: the Prometheus sink writes into it, the others count themselves in it. */
  registry?: Registry;
  cloudwatch?: CloudWatchSinkOptions;
  emf?: EmfSinkOptions;
  prometheus?: Partial<PrometheusSinkOptions>;
  json?: JsonSnapshotSinkOptions;
}

/** Makes the named sinks (each once, in the order given); an unknown name throws naming the valid ones. */
export function createSinks(opts: CreateSinksOptions): MetricSink[] {
  const unknown = opts.sinks.filter((n) => !(SINK_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new Error(`unknown metrics sink ${JSON.stringify(unknown[0])}; use some of: ${SINK_NAMES.join(', ')}`);
  }
  const registry = opts.registry ?? new Registry();
  const shared = { logger: opts.logger, registry };
  const out: MetricSink[] = [];
  const seen = new Set<string>();
  for (const name of opts.sinks) {
    if (seen.has(name)) continue;
    seen.add(name);
    switch (name) {
      case 'cloudwatch':
        out.push(new CloudWatchSink({ ...shared, ...opts.cloudwatch }));
        break;
      case 'emf':
        out.push(new EmfSink({ ...shared, ...opts.emf }));
        break;
      case 'prometheus':
        out.push(new PrometheusSink({ ...shared, ...opts.prometheus }));
        break;
      case 'json':
        out.push(new JsonSnapshotSink({ ...shared, ...opts.json }));
        break;
      default:
        throw new Error(`unknown metrics sink ${JSON.stringify(name)}; use some of: ${SINK_NAMES.join(', ')}`);
    }
  }
  return out;
}

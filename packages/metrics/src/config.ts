/** The `metrics` config section: metric publishing shared by every service. Imports no sink. */
import { defineSection, field, type SectionConfig, z } from '@windsock/core';

/** Every sink name {@link createSinks} knows; `json` is the `--once` snapshot, not configured. */
export const SINK_NAMES = ['cloudwatch', 'emf', 'prometheus', 'json'] as const;
/** One of {@link SINK_NAMES}. */
export type SinkName = (typeof SINK_NAMES)[number];
/** The sinks a config may list in `metrics.sinks`. */
export const CONFIGURABLE_SINKS = SINK_NAMES.filter((n): n is Exclude<SinkName, 'json'> => n !== 'json');

/** The `metrics` section. */
export const metricsConfigSection = defineSection('metrics', {
  namespace: field(z.string().min(1).max(255).default('Windsock'), 'CloudWatch namespace (and EMF namespace).', {
    example: 'Windsock',
  }),
  flushIntervalSeconds: field(z.number().positive().max(3600).default(60), 'How often aggregated metrics are sent.', {
    example: '60',
  }),
  sinks: field(
    z.array(z.enum(CONFIGURABLE_SINKS)).default(['prometheus']),
    `Where metrics go: any of ${CONFIGURABLE_SINKS.join(', ')}.`,
    { example: '["cloudwatch","prometheus"]' },
  ),
  maxBufferedDatums: field(
    z.number().int().positive().default(100_000),
    'CloudWatch sink: datums kept while CloudWatch is unreachable; beyond it the oldest are dropped and counted.',
    { example: '100000' },
  ),
  emfPath: field(z.string().default('-'), 'EMF sink output: "-" for stdout or a file path.', {
    example: '/var/log/windsock/emf.log',
  }),
});

/** The effective `metrics` section. */
export type MetricsConfig = SectionConfig<typeof metricsConfigSection>;

declare module '@windsock/core' {
  interface RegisteredConfig {
    metrics: MetricsConfig;
  }
}

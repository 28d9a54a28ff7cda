/**
 * @windsock/log-metrics: Airflow scheduler, Celery worker and task logs -> counters -> metrics.
 * See README.md for the counter table, the config and the checkpoint guarantee.
 */
import type { WindsockCommand } from '@windsock/core';
import { logMetricsCommand } from './command.ts';

export { type CheckpointState, CheckpointStore } from './checkpoint.ts';
export { buildService, inputsOf, logMetricsCommand, runOnce } from './command.ts';
export { type LogMetricsConfig, logMetricsSection } from './config.ts';
export { COUNTERS, type CounterName, type CounterSeries, OTHER, ZERO_FILLED } from './counters.ts';
export { CountingEngine, SourceCounter, type SourceInfo } from './engine.ts';
export { type FileCheckpoint, type FileInput, FileTailer, type StartPosition } from './inputs/file-tailer.ts';
export { type LineHandler, LineSplitter } from './inputs/lines.ts';
export { LogPipeline } from './pipeline.ts';
export { applyRules, type CompiledRule, compileRules, type RuleConfig } from './rules.ts';
export { LogMetricsService } from './service.ts';

/** The commands this service registers with the `windsock` CLI. */
export const commands: WindsockCommand[] = [logMetricsCommand];

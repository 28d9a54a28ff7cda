/**
 * @windsock/core: configuration, logging, lifecycle, HTTP endpoints, periodic jobs and leader
 * election — what every Windsock service stands on. Knows nothing of the systems watched or the
 * cloud: the packages that do define config sections and register them (see ConfigSection).
 */

export { z } from 'zod';
export { type RunCliOptions, runCli } from './cli.ts';
export type { CommandContext, CommandOption, CommandRegistration, WindsockCommand } from './command.ts';
export {
  type ConfigLeaf,
  configLeaves,
  envName,
  type LoadConfigOptions,
  type LoadedConfig,
  loadConfig,
  type ValueSource,
} from './config/load.ts';
export { effectiveConfig, renderEffectiveConfig } from './config/print.ts';
export { REFERENCE_END, REFERENCE_START, renderReference, spliceReference } from './config/reference.ts';
export {
  type BaseConfig,
  buildSchema,
  type ConfigSection,
  type CoreConfig,
  defineSection,
  type FieldMeta,
  field,
  flattenSections,
  type RegisteredConfig,
  type SectionConfig,
} from './config/schema.ts';
export { ConfigError, errorMessage, UserError } from './errors.ts';
export { type ExtraRoute, type ReadinessResult, StatusServer } from './http.ts';
export { type JobOptions, type JobRun, PeriodicJob } from './jobs.ts';
export { LeaderElector, type LeaderElectorOptions } from './leader.ts';
export { Runtime, type RuntimeOptions, type Service } from './lifecycle.ts';
export { type CreateLoggerOptions, createLogger, type Logger, silentLogger } from './logger.ts';
export { REDACTED, redactSecretValue, registerSecret, registerUrlSecret, scrub, scrubDeep } from './redact.ts';

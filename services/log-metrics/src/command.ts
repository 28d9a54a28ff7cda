import { type CommandContext, ConfigError, type Logger, UserError, type WindsockCommand } from '@windsock/core';
import { FileProblem } from '@windsock/logfiles';
import type { Registry } from 'prom-client';
import { CheckpointStore } from './checkpoint.ts';
import { type LogMetricsConfig, logMetricsSection } from './config.ts';
import type { FileInput, StartPosition } from './inputs/file-tailer.ts';
import { isContainerInput } from './inputs/input-kind.ts';
import { countFilesInParallel } from './once-parallel.ts';
import { LogPipeline } from './pipeline.ts';
import { toDatums } from './publish.ts';
import { compileRules } from './rules.ts';
import { LogMetricsService } from './service.ts';

type Ctx = CommandContext<{ logMetrics: LogMetricsConfig }>;

/** The inputs of a run: the config's plus the files named on the command line. */
export function inputsOf(cfg: LogMetricsConfig, args: readonly string[], component?: string): FileInput[] {
  const fromArgs = args.map((path) => ({ path, component, queue: undefined }));
  const all = [...cfg.inputs, ...fromArgs];
  if (all.length === 0) {
    throw new ConfigError(
      'nothing to read: name files (windsock log-metrics /opt/airflow/logs/scheduler/*.log) or set logMetrics.inputs',
    );
  }
  return all;
}

async function pipelineFor(
  ctx: Pick<Ctx, 'config' | 'logger'>,
  inputs: FileInput[],
  startPosition: StartPosition,
  checkpoint: ReturnType<CheckpointStore['load']> | undefined,
  follow: boolean,
): Promise<LogPipeline> {
  const cfg = ctx.config.logMetrics;
  const containers = inputs.filter((i) => isContainerInput(i.path));
  // dockerode loads only when a container is among the inputs.
  const docker = containers.length ? await import('./inputs/container-input.ts') : undefined;
  const client = docker ? (await import('@windsock/docker')).createDockerClient({ host: cfg.dockerHost }) : undefined;
  const from = (input: FileInput) => {
    // Like files: a saved position; else, with a checkpoint (a container added since), its first
    // line; on a first start, only new lines.
    if (startPosition !== 'checkpoint') return startPosition;
    const saved = checkpoint?.containers?.find((c) => c.input === input.path);
    return saved ? saved.position : checkpoint ? 'beginning' : 'end';
  };
  return new LogPipeline({
    containers: docker
      ? (pipeline) =>
          containers.map(
            (input) =>
              new docker.ContainerInput({
                input: input.path,
                docker: client!,
                from: from(input),
                follow,
                idleFinishMs: cfg.idleFinishMs,
                maxLineBytes: cfg.maxLineBytes,
                logger: ctx.logger,
                handlerFor: (stream) => pipeline.handlerForContainer(input, stream),
              }),
          )
      : undefined,
    cluster: ctx.config.cluster,
    inputs,
    startPosition,
    checkpoint,
    distrustedPaths: checkpoint?.distrustedPaths,
    rules: compileRules(cfg.rules, cfg.perDag.maxValues),
    perDag: cfg.perDag,
    maxLineBytes: cfg.maxLineBytes,
    rescanIntervalMs: cfg.rescanIntervalMs,
    idleFinishMs: cfg.idleFinishMs,
    logger: ctx.logger,
  });
}

/**
 * `--once`: read the inputs to their end (stdin too) and return the JSON snapshot. No checkpoint
 * is read or written: the same files always give the same numbers.
 */
export async function runOnce(
  ctx: Pick<Ctx, 'config' | 'logger'>,
  inputs: FileInput[],
  stdin?: AsyncIterable<Buffer | string>,
): Promise<string> {
  const cfg = ctx.config.logMetrics;
  const threads = cfg.onceThreads === 0 ? undefined : cfg.onceThreads;
  const pipeline = await pipelineFor(ctx, inputs, 'beginning', undefined, false);
  // Per-thread cardinality guards would each admit their own N values: guarded runs stay on one thread.
  const guarded = cfg.perDag.enabled || cfg.rules.some((r) => Object.keys(r.dimensions ?? {}).length > 0);
  let fromWorkers: Awaited<ReturnType<typeof countFilesInParallel>>;
  try {
    fromWorkers = await countFilesInParallel(pipeline, {
      cluster: ctx.config.cluster,
      inputs: inputs.filter((i) => !isContainerInput(i.path)),
      maxLineBytes: cfg.maxLineBytes,
      logger: ctx.logger,
      threads: guarded ? 1 : threads,
    });
  } catch (err) {
    pipeline.close();
    // A missing file, a directory, a FIFO, an unreadable file, a glob naming nothing, a read error:
    // one line and exit 1, never a snapshot that silently misses an input.
    if (err instanceof FileProblem || (err as Error)?.name === 'FileProblem') {
      throw new UserError(`log-metrics --once: ${(err as Error).message}; nothing printed`, 1);
    }
    throw err;
  }
  await pipeline.drainContainers();
  if (pipeline.readsStdin && stdin) await pipeline.drainStream(stdin);
  const { JsonSnapshotSink, Metrics } = await import('@windsock/metrics');
  const sink = new JsonSnapshotSink({});
  const metrics = new Metrics({ namespace: ctx.config.metrics.namespace, sinks: [sink] });
  metrics.write(toDatums(pipeline.counts(), metrics));
  for (const w of fromWorkers) metrics.write(toDatums(w.series, metrics));
  pipeline.close();
  return sink.render();
}

/** The long-running service, built from the config (sinks, checkpoint store, pipeline). */
export async function buildService(
  ctx: Pick<Ctx, 'config' | 'logger'> & { registry: Registry },
  inputs: FileInput[],
  stdin?: AsyncIterable<Buffer | string>,
): Promise<LogMetricsService> {
  // The sinks package (with the CloudWatch client) is loaded here and in runOnce, not when the CLI
  // imports this service to register its command.
  const { createSinks, Metrics } = await import('@windsock/metrics');
  const { config, logger, registry } = ctx;
  const cfg = config.logMetrics;
  const store = new CheckpointStore(config.stateDir, logger);
  store.init();
  const checkpoint = cfg.startPosition === 'checkpoint' ? store.load() : undefined;
  const pipeline = await pipelineFor(ctx, inputs, cfg.startPosition, checkpoint, true);
  const sinks = createSinks({
    sinks: config.metrics.sinks,
    logger: logger as unknown as Logger,
    registry,
    cloudwatch: {
      region: config.aws.region,
      endpoint: config.aws.endpoint,
      maxBufferedDatums: config.metrics.maxBufferedDatums,
    },
    emf: config.metrics.emfPath === '-' ? {} : { path: config.metrics.emfPath },
  });
  const metrics = new Metrics({ namespace: config.metrics.namespace, sinks, logger });
  return new LogMetricsService({
    pipeline,
    metrics,
    store,
    resumed: checkpoint !== undefined,
    logger,
    registry,
    flushIntervalMs: config.metrics.flushIntervalSeconds * 1000,
    pollIntervalMs: cfg.pollIntervalMs,
    stdin,
    shutdownGraceMs: config.shutdownGraceSeconds * 1000,
  });
}

/** `windsock log-metrics [files...]`. */
export const logMetricsCommand: WindsockCommand = {
  name: 'log-metrics',
  summary: 'Count Airflow scheduler, Celery worker and task log events and publish them as metrics',
  arguments: '[files...]',
  configSection: logMetricsSection,
  options: [
    { flags: '--once', description: 'read the files to their end, print the snapshot and exit' },
    { flags: '--format <format>', description: 'output of --once: json', defaultValue: 'json' },
    {
      flags: '--component <name>',
      description: 'Component dimension of the files named here (default: from the path)',
    },
    {
      flags: '--start-position <where>',
      description: 'checkpoint, beginning or end',
      configKey: 'logMetrics.startPosition',
    },
    { flags: '--state-dir <dir>', description: 'where the checkpoint is kept', configKey: 'stateDir' },
    { flags: '--sinks <list>', description: 'cloudwatch,emf,prometheus', configKey: 'metrics.sinks', parse: 'list' },
    {
      flags: '--flush-interval <seconds>',
      description: 'seconds between flushes',
      configKey: 'metrics.flushIntervalSeconds',
      parse: 'number',
    },
  ],
  async run(c: CommandContext) {
    const ctx = c as Ctx;
    const component = ctx.options.component as string | undefined;
    const inputs = inputsOf(ctx.config.logMetrics, ctx.args, component);
    const stdin = inputs.some((i) => i.path === '-') ? (process.stdin as AsyncIterable<Buffer>) : undefined;
    if (ctx.options.once) {
      if (ctx.options.format !== 'json')
        throw new UserError(`--format ${String(ctx.options.format)}: only json is supported`);
      ctx.stdout.write(await runOnce(ctx, inputs, stdin));
      return 0;
    }
    return ctx.runServices([await buildService(ctx, inputs, stdin)]);
  },
};

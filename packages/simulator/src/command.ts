/**
 * `windsock simulate`: runs the simulator against a PostgreSQL (embedded when no URL is given) and an
 * optional Redis, writes the logs and `truth.json` into the output folder.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type CommandContext, ConfigError, registerUrlSecret, type WindsockCommand } from '@windsock/core';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres.ts';
import { type SimulatedAirflowVersion, Simulator } from './simulator.ts';
import { WORKLOAD_PRESETS, type Workload } from './workload.ts';

/** Parses `600`, `600s`, `10m`, `2h` into seconds. */
export function parseDurationSeconds(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(String(text).trim());
  if (!m) throw new ConfigError(`${flag}: '${text}' is not a duration; use seconds or a suffix, e.g. 600, 10m, 2h`);
  const n = Number(m[1]);
  return m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : n;
}

/** `--airflow-version`: 3 or 3.x, or 2 / 2.7-2.10 (patch levels too); anything else is an error. */
export function parseVersion(text: string): SimulatedAirflowVersion {
  const v = String(text).trim();
  if (/^3(\.\d+){0,2}$/.test(v)) return '3';
  const minor = /^2(?:\.(\d+)(?:\.\d+)?)?$/.exec(v);
  if (minor && (minor[1] === undefined || (Number(minor[1]) >= 7 && Number(minor[1]) <= 10))) return '2.10';
  throw new ConfigError(`--airflow-version: '${text}' is not supported; use 2.10 (2.7–2.10 logs and schema) or 3`);
}

function loadWorkload(text: string, tiPerHour: number | undefined): Workload {
  const preset = WORKLOAD_PRESETS[text];
  if (preset) return preset(tiPerHour === undefined ? {} : { taskInstancesPerHour: tiPerHour });
  let raw: string;
  try {
    raw = readFileSync(text, 'utf8');
  } catch {
    throw new ConfigError(
      `--workload: '${text}' is neither a preset (${Object.keys(WORKLOAD_PRESETS).join(', ')}) nor a readable JSON file`,
    );
  }
  try {
    return JSON.parse(raw) as Workload;
  } catch (err) {
    throw new ConfigError(`--workload: ${text} is not valid JSON (${(err as Error).message})`);
  }
}

function formatClock(seconds: number): string {
  const s = Math.floor(seconds);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(Math.floor(s / 3600))}:${p(Math.floor((s % 3600) / 60))}:${p(s % 60)}`;
}

/** What `run` needs; a subset of @windsock/core's CommandContext so tests can call it directly. */
export type SimulateContext = Pick<CommandContext, 'options' | 'logger' | 'stdout'>;

/** Runs `windsock simulate` with parsed options; returns the exit code. */
export async function runSimulate(ctx: SimulateContext): Promise<number> {
  const o = ctx.options;
  const version = parseVersion(String(o.airflowVersion ?? '2.10'));
  const duration = parseDurationSeconds(String(o.duration ?? '600'), '--duration');
  const speedText = String(o.speed ?? '60');
  const speed = speedText === 'max' ? Number.POSITIVE_INFINITY : Number(speedText);
  if (!(speed > 0)) throw new ConfigError(`--speed: '${speedText}' must be a positive number or 'max'`);
  const seed = Number(o.seed ?? 1);
  if (!Number.isInteger(seed)) throw new ConfigError(`--seed: '${String(o.seed)}' must be an integer`);
  const tiPerHour = o.taskInstancesPerHour === undefined ? undefined : Number(o.taskInstancesPerHour);
  if (tiPerHour !== undefined && !(tiPerHour >= 0)) {
    throw new ConfigError('--task-instances-per-hour: must be a number >= 0');
  }
  const workload = loadWorkload(String(o.workload ?? 'steady'), tiPerHour);
  const outDir = resolve(String(o.out ?? 'windsock-sim'));
  let databaseUrl = o.databaseUrl === undefined ? undefined : String(o.databaseUrl);
  const redisUrl = o.redisUrl === undefined ? undefined : String(o.redisUrl);
  if (databaseUrl) registerUrlSecret(databaseUrl);
  if (redisUrl) registerUrlSecret(redisUrl);

  let embedded: EmbeddedPostgres | undefined;
  let sim: Simulator | undefined;
  const tty = (ctx.stdout as NodeJS.WriteStream).isTTY === true;
  const stop = { requested: false };
  const onSignal = () => {
    stop.requested = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (!databaseUrl) {
      embedded = await startEmbeddedPostgres();
      databaseUrl = embedded.url;
      ctx.stdout.write(`embedded PostgreSQL (PGlite) serving Airflow ${version} metadb at ${embedded.url}\n`);
    }
    if (!redisUrl) ctx.logger.info('no --redis-url: the Celery broker is not simulated in Redis');
    try {
      sim = new Simulator({ version, seed, workload, outDir, databaseUrl, redisUrl, speed, reset: o.reset === true });
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
    await sim.init();
    const started = performance.now();
    for (let done = 0; done < duration && !stop.requested; ) {
      const chunk = Math.min(10, duration - done);
      await sim.runFor(chunk);
      done += chunk;
      if (tty) {
        const t = sim.truth();
        const d = t.depth.taskInstances;
        let queued = 0;
        let running = 0;
        for (const q of Object.values(d)) {
          queued += q.queued ?? 0;
          running += q.running ?? 0;
        }
        const bytes = Object.values(t.files).reduce((a, b) => a + b, 0);
        ctx.stdout.write(
          `\r\x1b[2K[simulate ${version}] ${formatClock(done)}/${formatClock(duration)} ` +
            `${t.totals.taskInstances} TIs, queued ${queued}, running ${running}, killed ${t.tasksKilled}, ` +
            `${(bytes / 1048576).toFixed(1)} MiB logs`,
        );
      }
    }
    if (tty) ctx.stdout.write('\n');
    const truth = sim.truth();
    writeFileSync(join(outDir, 'truth.json'), `${JSON.stringify(truth, null, 2)}\n`);
    const wallS = (performance.now() - started) / 1000;
    ctx.stdout.write(
      `simulated ${truth.virtualSeconds} s of Airflow ${version} (${truth.workload}, seed ${seed}) in ` +
        `${wallS.toFixed(1)} s: ${truth.totals.dagRuns} DAG runs, ${truth.totals.taskInstances} task instances; ` +
        `logs and truth.json in ${outDir}\n`,
    );
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await sim?.close();
    await embedded?.stop();
  }
}

/** The `windsock simulate` command. */
export const simulateCommand: WindsockCommand = {
  name: 'simulate',
  summary: 'Run a simulated Airflow cluster: metadb, Celery broker and logs, with ground truth',
  options: [
    {
      flags: '--workload <name|file>',
      description: 'preset (steady, bursty, demo) or a workload JSON file',
      defaultValue: 'steady',
    },
    { flags: '--airflow-version <version>', description: 'schema and log formats: 2.10 or 3', defaultValue: '2.10' },
    { flags: '--speed <n>', description: "virtual seconds per wall second, or 'max'", defaultValue: '60' },
    { flags: '--duration <time>', description: 'virtual time to simulate (600, 10m, 2h)', defaultValue: '600' },
    { flags: '--seed <n>', description: 'PRNG seed: the same seed gives byte-identical output', defaultValue: '1' },
    { flags: '--out <dir>', description: 'output folder for logs and truth.json', defaultValue: 'windsock-sim' },
    { flags: '--database-url <url>', description: 'PostgreSQL to drive (default: an embedded PGlite server)' },
    { flags: '--redis-url <url>', description: 'Redis to drive as the Celery broker (default: none)' },
    { flags: '--task-instances-per-hour <n>', description: "scale a preset's arrival rates to this many TIs per hour" },
    { flags: '--reset', description: 'replace earlier simulator output, rows and broker keys' },
  ],
  run: (ctx: CommandContext) => runSimulate(ctx),
};

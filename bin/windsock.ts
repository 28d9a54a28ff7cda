// The `windsock` CLI: core's runner plus every package's commands. Only registration lives here:
// a command's code is loaded when it runs (see CommandRegistration), so no command pays for
// another's dependencies.
import { commands as containerStats } from '@windsock/container-stats';
import { type CommandRegistration, runCli, type WindsockCommand } from '@windsock/core';
import { commands as deploy } from '@windsock/deploy';
import { commands as heartbeat } from '@windsock/heartbeat';
import { commands as logMetrics } from '@windsock/log-metrics';
import { commands as logShipper } from '@windsock/log-shipper';
import { commands as queueDepth } from '@windsock/queue-depth';
import { commands as scaler } from '@windsock/scaler';
import { upCommands } from '@windsock/up';
import pkg from '../package.json' with { type: 'json' };

/** The simulator's commands; its package (PGlite, pg, ioredis) is imported only when one of them runs. */
const simulator: CommandRegistration[] = [
  {
    name: 'simulate',
    summary: 'Run a simulated Airflow cluster: metadb, Celery broker and logs, with ground truth',
    load: async () => (await import('@windsock/simulator')).simulateCommand,
  },
  {
    name: 'demo',
    summary:
      'Run a simulated Airflow cluster on an embedded PostgreSQL and show what Windsock reports, next to the truth',
    load: async () => (await import('@windsock/simulator')).demoCommand,
  },
];

/** Commands that run a long-lived service: `windsock up` runs the ones its `services` key lists in one process. */
const UP_SERVICES = new Set(['queue-depth', 'log-metrics', 'log-shipper', 'scaler', 'worker-agent', 'container-stats']);

const commands: Array<WindsockCommand | CommandRegistration> = [
  ...logMetrics,
  ...queueDepth,
  ...logShipper,
  ...scaler,
  ...heartbeat,
  ...containerStats,
  ...deploy,
  ...simulator,
];
commands.push(...upCommands(commands.filter((c) => UP_SERVICES.has(c.name))));

process.exitCode = await runCli({ version: pkg.version, description: pkg.description, commands });

// The `windsock` CLI: core's runner plus every service's commands. Only registration lives here.
import { runCli, type WindsockCommand } from '@windsock/core';
import { commands as logMetrics } from '@windsock/log-metrics';
import { commands as logShipper } from '@windsock/log-shipper';
import { commands as queueDepth } from '@windsock/queue-depth';
import { demoCommand, simulateCommand } from '@windsock/simulator';
import pkg from '../package.json' with { type: 'json' };

const commands: WindsockCommand[] = [...logMetrics, ...queueDepth, ...logShipper, simulateCommand, demoCommand];

process.exitCode = await runCli({ version: pkg.version, commands });

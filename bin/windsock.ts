// The `windsock` CLI: core's runner plus every service's commands. Only registration lives here.
import { runCli, type WindsockCommand } from '@windsock/core';
import pkg from '../package.json' with { type: 'json' };

const commands: WindsockCommand[] = [];

process.exitCode = await runCli({ version: pkg.version, commands });

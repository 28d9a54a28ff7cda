/**
 * @windsock/scaler. The `windsock` CLI imports this module for every command it runs, so it
 * re-exports only modules without heavy dependencies; the commands' code is loaded when run.
 */
import type { CommandRegistration } from '@windsock/core';
import { scalerSection, workerAgentSection } from './config.ts';

export type { BackendWorker, PoolBackend } from './backend.ts';
export { type ScalerConfig, scalerSection, type WorkerAgentConfig, workerAgentSection } from './config.ts';

/** The commands this service registers with the `windsock` CLI (loaded when run). */
export const commands: CommandRegistration[] = [
  {
    name: 'scaler',
    summary: 'scale Celery worker pools out fast and in only through idle workers leaving (leader-elected)',
    configSection: scalerSection,
    load: async () => (await import('./command.ts')).scalerCommand,
  },
  {
    name: 'worker-agent',
    summary: 'beside a Celery worker: report busy/idle to the scaler and leave warm when granted an exit',
    configSection: workerAgentSection,
    load: async () => (await import('./command.ts')).workerAgentCommand,
  },
];

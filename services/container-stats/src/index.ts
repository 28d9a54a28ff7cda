/**
 * @windsock/container-stats. The `windsock` CLI imports this module for every command, so it
 * exports only the registration and light modules; the command (dockerode, sinks) loads when run.
 */
import type { CommandRegistration } from '@windsock/core';
import { containerStatsSection } from './config.ts';

export { type ContainerStatsConfig, containerStatsSection } from './config.ts';

/** The commands this service registers with the `windsock` CLI (loaded when run). */
export const commands: CommandRegistration[] = [
  {
    name: 'container-stats',
    summary: 'cAdvisor-compatible per-container CPU, memory, network and IO at 1 s, with a live page',
    configSection: containerStatsSection,
    load: async () => (await import('./command.ts')).containerStatsCommand,
  },
];

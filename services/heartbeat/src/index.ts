/**
 * @windsock/heartbeat: `windsock heartbeat check` (the heartbeat DAG's state for on-call, Nagios
 * exit codes) and `windsock heartbeat alarm` (the CloudWatch alarm on missing success tokens).
 * The commands' code (pg, the CloudWatch client) loads only when one runs.
 */
import type { CommandRegistration } from '@windsock/core';
import { heartbeatSection } from './config.ts';

export { buildHeartbeatAlarm } from './alarm.ts';
export { type HeartbeatConfig, heartbeatSection } from './config.ts';
export { judge, renderVerdict, thresholdsFor } from './status.ts';

/** The commands this service registers with the `windsock` CLI. */
export const commands: CommandRegistration[] = [
  {
    name: 'heartbeat check',
    summary: 'when the heartbeat DAG last succeeded, which probe failed; exit 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN',
    configSection: heartbeatSection,
    load: async () => (await import('./check-command.ts')).heartbeatCheckCommand,
  },
  {
    name: 'heartbeat alarm',
    summary: 'print (or --apply) the CloudWatch alarm on missing heartbeat success tokens',
    configSection: heartbeatSection,
    load: async () => (await import('./alarm-command.ts')).heartbeatAlarmCommand,
  },
];

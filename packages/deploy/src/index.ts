/**
 * @windsock/deploy: the metric catalog of every service, alarms and dashboards as code. The CLI
 * imports this module for every command; the commands' code (CloudWatch client) loads when run.
 */
import type { CommandRegistration } from '@windsock/core';
import { alarmsSection } from './config.ts';

export { type AlarmChange, type AlarmInputs, alarmProblems, planAlarms, recommendedAlarms } from './alarms.ts';
export {
  CADVISOR_METRICS,
  type MetricSpec,
  metric,
  promName,
  SERVICES,
  type ServiceDescriptor,
  SHIP_FAILURE_REASONS,
} from './catalog.ts';
export { alarmsSection } from './config.ts';
export {
  cloudWatchDashboardBody,
  DASHBOARDS,
  type DashboardDef,
  dashboardMetrics,
  type GrafanaDashboard,
  grafanaDashboard,
  promQL,
} from './dashboards.ts';

export const commands: CommandRegistration[] = [
  {
    name: 'alarms plan',
    summary: 'show the recommended CloudWatch alarms and how they differ from what exists',
    configSection: alarmsSection,
    load: async () => (await import('./command.ts')).alarmsPlanCommand,
  },
  {
    name: 'alarms apply',
    summary: 'create or update the recommended CloudWatch alarms (validated against the limits first)',
    configSection: alarmsSection,
    load: async () => (await import('./command.ts')).alarmsApplyCommand,
  },
  {
    name: 'dashboards build',
    summary: 'write the Grafana dashboards (Prometheus and CloudWatch flavours) and the CloudWatch dashboard bodies',
    configSection: alarmsSection,
    load: async () => (await import('./command.ts')).dashboardsBuildCommand,
  },
  {
    name: 'dashboards apply',
    summary: "put the CloudWatch dashboards for this config's cluster (PutDashboard)",
    configSection: alarmsSection,
    load: async () => (await import('./command.ts')).dashboardsApplyCommand,
  },
];

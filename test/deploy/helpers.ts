/** Shared by the deploy-artefact tests: the templates, their placeholders, and the one config schema. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandRegistration, ConfigSection, WindsockCommand } from '@windsock/core';
import { commands as heartbeat } from '@windsock/heartbeat';
import { commands as logMetrics } from '@windsock/log-metrics';
import { commands as logShipper } from '@windsock/log-shipper';
import { commands as queueDepth } from '@windsock/queue-depth';
import { commands as scaler } from '@windsock/scaler';
import { upCommands } from '@windsock/up';

export const ROOT = join(import.meta.dirname, '..', '..');
export const DOCKER = join(ROOT, 'docker');

/** What the templates' {{PLACEHOLDERS}} are replaced with in the tests (a user sets their own). */
export const PLACEHOLDERS: Record<string, string> = {
  ACCOUNT_ID: '123456789012',
  REGION: 'us-east-1',
  CLUSTER: 'prod',
  ECS_CLUSTER: 'airflow',
  LOG_BUCKET: 'my-airflow-logs',
  WINDSOCK_IMAGE: '123456789012.dkr.ecr.us-east-1.amazonaws.com/windsock:0.1.0',
  AIRFLOW_IMAGE: 'apache/airflow:2.10.5',
  METADB_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:airflow/metadb-AbCdEf',
  BROKER_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:airflow/broker-AbCdEf',
  HTTP_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:windsock/http-token-AbCdEf',
};

/** A template's text with its placeholders filled; an unknown placeholder throws. */
export function fill(text: string, values: Record<string, string> = PLACEHOLDERS): string {
  return text.replace(/\{\{([A-Z0-9_]+)\}\}/g, (_m, k: string) => {
    const v = values[k];
    if (v === undefined) throw new Error(`unknown placeholder {{${k}}}`);
    return v;
  });
}

/** Every JSON file of a docker/ folder, filled. */
export function templates(folder: 'ecs' | 'iam'): { file: string; json: unknown }[] {
  const dir = join(DOCKER, folder);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, json: JSON.parse(fill(readFileSync(join(dir, file), 'utf8'))) as unknown }));
}

/**
 * container-stats, loaded by name: while its package is not in the tree, only the checks of its own
 * template fail (its command is unknown), not every deploy test.
 */
const containerStats: CommandRegistration[] = await import('@windsock/container-stats' as string).then(
  (m: { commands: CommandRegistration[] }) => m.commands,
  () => [],
);

/** Every command the `windsock` CLI registers (as bin/windsock.ts does), `up` included. */
export function allCommands(): Array<WindsockCommand | CommandRegistration> {
  const services = [...logMetrics, ...queueDepth, ...logShipper, ...scaler, ...heartbeat, ...containerStats];
  const up = new Set(['queue-depth', 'log-metrics', 'log-shipper', 'scaler', 'worker-agent', 'container-stats']);
  return [...services, ...upCommands(services.filter((c) => up.has(c.name)))];
}

/** The config sections of every command: what the one schema is built from. */
export function allSections(): ConfigSection[] {
  return allCommands().flatMap((c) => (c.configSection ? [c.configSection] : []));
}

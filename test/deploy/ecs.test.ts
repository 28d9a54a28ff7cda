/**
 * docker/ecs/*.json: every task definition registers against moto's ECS through the SDK, and every
 * Windsock container's environment (plain and secret) loads through the config loader with the
 * whole schema: an unknown or misspelt WINDSOCK_* variable, or a bad value, fails here.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ECSClient, RegisterTaskDefinitionCommand, type RegisterTaskDefinitionCommandInput } from '@aws-sdk/client-ecs';
import { ConfigError, loadConfig } from '@windsock/core';
import { awsEnv } from '../helpers/stack.ts';
import { allCommands, allSections, PLACEHOLDERS, templates } from './helpers.ts';

interface Container {
  name: string;
  image: string;
  command?: string[];
  essential?: boolean;
  stopTimeout?: number;
  linuxParameters?: { initProcessEnabled?: boolean };
  environment?: { name: string; value: string }[];
  secrets?: { name: string; valueFrom: string }[];
  dependsOn?: { containerName: string; condition: string }[];
}
type TaskDef = Omit<RegisterTaskDefinitionCommandInput, 'containerDefinitions'> & { containerDefinitions: Container[] };

/** What a secret resolves to at run time, for the schema check (shape only, never a real value). */
const SECRET_VALUES: Record<string, string> = {
  AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: 'postgresql+psycopg2://airflow:pw@metadb:5432/airflow',
  AIRFLOW__CELERY__BROKER_URL: 'redis://broker:6379/0',
  WINDSOCK_HTTP__TOKEN: 'a-token-of-at-least-16-chars',
};

const defs = templates('ecs') as { file: string; json: TaskDef }[];
let ecs: ECSClient;

before(async () => {
  const env = await awsEnv();
  ecs = new ECSClient({
    region: env.AWS_REGION,
    endpoint: env.AWS_ENDPOINT_URL,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
});

/** The environment a container's process sees (secrets by name, with a value of the right shape). */
function containerEnv(c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.environment ?? []) env[e.name] = e.value;
  for (const s of c.secrets ?? []) {
    const v = SECRET_VALUES[s.name];
    assert.ok(v, `${c.name}: secret ${s.name} has no test value; add one to SECRET_VALUES`);
    env[s.name] = v;
  }
  return env;
}

function windsockContainers(def: TaskDef): Container[] {
  return def.containerDefinitions.filter((c) => c.image === PLACEHOLDERS.WINDSOCK_IMAGE);
}

test('the templates are the three deployments the README describes', () => {
  assert.deepEqual(
    defs.map((d) => d.file),
    ['cluster.json', 'container-stats.json', 'worker.json'],
  );
});

for (const { file, json } of defs) {
  test(`${file} registers against moto's ECS`, async () => {
    const out = await ecs.send(
      new RegisterTaskDefinitionCommand(json as unknown as RegisterTaskDefinitionCommandInput),
    );
    const td = out.taskDefinition;
    assert.ok(td?.taskDefinitionArn?.includes(`task-definition/${json.family}:`), JSON.stringify(td));
    assert.deepEqual(
      td?.containerDefinitions?.map((c) => c.name),
      json.containerDefinitions.map((c) => c.name),
    );
  });

  test(`${file}: every Windsock container's environment is valid config for its command`, () => {
    const names = new Set(allCommands().map((c) => c.name));
    const sections = allSections();
    const containers = windsockContainers(json);
    assert.ok(containers.length > 0);
    for (const c of containers) {
      const command = c.command?.join(' ') ?? '';
      assert.ok(names.has(command), `${file} ${c.name}: command "${command}" is not a windsock command`);
      const env = containerEnv(c);
      try {
        loadConfig({ sections, env });
      } catch (err) {
        assert.fail(`${file} ${c.name}: ${(err as Error).message}`);
      }
      assert.ok(c.linuxParameters?.initProcessEnabled, `${file} ${c.name}: initProcessEnabled (signals reach node)`);
      const grace = Number(env.WINDSOCK_SHUTDOWN_GRACE_SECONDS ?? 25);
      assert.ok((c.stopTimeout ?? 30) > grace, `${file} ${c.name}: stopTimeout above shutdownGraceSeconds`);
    }
  });
}

test('worker.json: the Airflow worker keeps dumb-init from signalling its whole group, and stops before its sidecars', () => {
  const def = defs.find((d) => d.file === 'worker.json')?.json as TaskDef;
  const worker = def.containerDefinitions.find((c) => c.name === 'airflow-worker') as Container;
  assert.equal(worker.environment?.find((e) => e.name === 'DUMB_INIT_SETSID')?.value, '0');
  assert.ok(worker.linuxParameters?.initProcessEnabled);
  assert.ok((worker.stopTimeout ?? 0) >= 60, 'a warm shutdown has time to finish tasks');
  // ECS stops containers in reverse dependency order: the worker first, then the sidecars that drain its logs.
  assert.deepEqual(worker.dependsOn?.map((d) => d.containerName).sort(), ['log-metrics', 'log-shipper']);
  const agent = def.containerDefinitions.find((c) => c.name === 'worker-agent') as Container;
  assert.equal(agent.essential, false, 'the agent exits once its worker has left; that must not stop the task');
});

test('an unknown or misspelt WINDSOCK_* variable in a template fails the check', () => {
  const sections = allSections();
  const def = defs.find((d) => d.file === 'worker.json')?.json as TaskDef;
  const c = windsockContainers(def).find((x) => x.name === 'log-metrics') as Container;
  const env = containerEnv(c);
  const inputs = env.WINDSOCK_LOG_METRICS__INPUTS as string;
  delete env.WINDSOCK_LOG_METRICS__INPUTS;
  env.WINDSOCK_LOG_METRICS__INPUT = inputs;
  assert.throws(
    () => loadConfig({ sections, env }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match((e as Error).message, /unknown environment variable WINDSOCK_LOG_METRICS__INPUT\b/);
      return true;
    },
  );
  assert.throws(
    () => loadConfig({ sections, env: { ...containerEnv(c), WINDSOCK_METRICS__SINKS: 'cloudwach' } }),
    /metrics\.sinks/,
  );
});

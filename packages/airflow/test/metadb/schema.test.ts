import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { createDatabase } from '../../../../test/helpers/stack.ts';
import {
  AIRFLOW_SCHEMA_VERSIONS,
  type AirflowSchemaVersion,
  airflowSchemaSql,
  DEFAULT_LOG_FILENAME_TEMPLATE,
  detectAirflowSchemaVersion,
  loadAirflowSchema,
  type MetadbClient,
  NotAnAirflowMetadbError,
  PRE_2_3_LOG_TEMPLATE,
} from '../../src/index.ts';
import { introspectSchema, normalizeTable, type SchemaDescription } from './introspect.ts';

function description(version: AirflowSchemaVersion): SchemaDescription {
  const url = new URL(`../../fixtures/schema/airflow-${version}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as SchemaDescription;
}

async function assertMatchesDescription(client: MetadbClient, version: AirflowSchemaVersion): Promise<void> {
  const expected = description(version);
  const actual = await introspectSchema(client);
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected.tables).sort(), 'the set of tables');
  for (const [name, table] of Object.entries(expected.tables)) {
    const got = normalizeTable(actual[name]!);
    const want = normalizeTable(table);
    assert.deepEqual(got.columns, want.columns, `${name}: columns (name, type, nullable, default)`);
    assert.deepEqual(got.indexes, want.indexes, `${name}: indexes (name, columns, unique, partial predicate)`);
    assert.deepEqual(got.foreignKeys, want.foreignKeys, `${name}: foreign keys`);
  }
}

async function assertDefaultRows(client: MetadbClient, version: AirflowSchemaVersion): Promise<void> {
  const pools = await client.query('SELECT pool, slots, description, include_deferred FROM slot_pool');
  assert.deepEqual(pools.rows, [
    { pool: 'default_pool', slots: 128, description: 'Default pool', include_deferred: false },
  ]);
  const templates = await client.query<{ id: number; filename: string; elasticsearch_id: string }>(
    'SELECT id, filename, elasticsearch_id FROM log_template ORDER BY id',
  );
  assert.deepEqual(
    templates.rows.map((r) => [r.id, r.filename, r.elasticsearch_id]),
    [
      [1, PRE_2_3_LOG_TEMPLATE[version].filename, PRE_2_3_LOG_TEMPLATE[version].elasticsearchId],
      [2, DEFAULT_LOG_FILENAME_TEMPLATE[version], '{dag_id}-{task_id}-{run_id}-{map_index}-{try_number}'],
    ],
  );
}

describe('Airflow schema on the real PostgreSQL', () => {
  for (const version of AIRFLOW_SCHEMA_VERSIONS) {
    describe(`Airflow ${version}`, () => {
      let db: Awaited<ReturnType<typeof createDatabase>>;
      let client: pg.Client;
      before(async () => {
        db = await createDatabase('ws_af_schema');
        client = new pg.Client({ connectionString: db.url });
        await client.connect();
        await loadAirflowSchema(client, version);
      });
      after(async () => {
        await client?.end();
        await db?.drop();
      });

      test('matches the checked-in description column for column, index for index', async () => {
        await assertMatchesDescription(client, version);
      });

      test('has the rows db migrate inserts: default_pool with 128 slots and two log templates', async () => {
        await assertDefaultRows(client, version);
      });

      test('is detected as its own version', async () => {
        assert.equal(await detectAirflowSchemaVersion(client), version);
      });

      test('a dag_run row has no queue index to lean on: task_instance has no index covering queue', async () => {
        const { rows } = await client.query<{ indexdef: string }>(
          "SELECT indexdef FROM pg_indexes WHERE tablename = 'task_instance'",
        );
        assert.ok(rows.length >= 7);
        assert.ok(rows.every((r) => !/\bqueue\b/.test(r.indexdef)));
      });
    });
  }

  test('an empty database is reported as not an Airflow metadb, with what to check', async () => {
    const db = await createDatabase('ws_af_empty');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await assert.rejects(detectAirflowSchemaVersion(client), (err: Error) => {
        assert.ok(err instanceof NotAnAirflowMetadbError);
        assert.match(err.message, /sql_alchemy_schema/);
        return true;
      });
    } finally {
      await client.end();
      await db.drop();
    }
  });

  test('an unknown version is refused with the accepted ones named', () => {
    assert.throws(() => airflowSchemaSql('2.9' as AirflowSchemaVersion), /expected '2.10' or '3'/);
  });
});

describe('Airflow schema on the embedded PostgreSQL (PGlite)', () => {
  for (const version of AIRFLOW_SCHEMA_VERSIONS) {
    test(`Airflow ${version} loads and matches the same description`, async () => {
      const db = await PGlite.create();
      try {
        await loadAirflowSchema(db, version);
        await assertMatchesDescription(db, version);
        await assertDefaultRows(db, version);
        assert.equal(await detectAirflowSchemaVersion(db), version);
      } finally {
        await db.close();
      }
    });
  }
});

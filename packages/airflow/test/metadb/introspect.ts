/**
 * Reads back what a database really has (information_schema, pg_indexes, pg_constraint) in the shape
 * of the checked-in schema descriptions, so a test can compare them column for column.
 */
import type { MetadbClient } from '../../src/index.ts';

export interface ColumnDescription {
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
}

export interface IndexDescription {
  name: string;
  columns: string[];
  unique: boolean;
  primary?: true;
  where?: string;
}

export interface ForeignKeyDescription {
  name: string;
  columns: string[];
  references: { table: string; columns: string[] };
  onDelete: string;
}

export interface TableDescription {
  columns: ColumnDescription[];
  indexes: IndexDescription[];
  foreignKeys: ForeignKeyDescription[];
}

export interface SchemaDescription {
  airflowVersion: string;
  tables: Record<string, TableDescription>;
}

const splitList = (s: string) => s.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));

/** Everything the public schema holds, as a {@link SchemaDescription}'s `tables`. */
export async function introspectSchema(client: MetadbClient): Promise<Record<string, TableDescription>> {
  const tables: Record<string, TableDescription> = {};
  const table = (name: string) => {
    tables[name] ??= { columns: [], indexes: [], foreignKeys: [] };
    return tables[name];
  };

  const columns = await client.query<{
    table_name: string;
    column_name: string;
    data_type: string;
    character_maximum_length: number | null;
    is_nullable: string;
    column_default: string | null;
  }>(`SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, column_default
      FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`);
  for (const c of columns.rows) {
    const type = c.character_maximum_length === null ? c.data_type : `${c.data_type}(${c.character_maximum_length})`;
    table(c.table_name).columns.push({
      name: c.column_name,
      type,
      nullable: c.is_nullable === 'YES',
      default: c.column_default,
    });
  }

  const primary = await client.query<{ constraint_name: string }>(
    `SELECT constraint_name FROM information_schema.table_constraints
     WHERE table_schema = 'public' AND constraint_type = 'PRIMARY KEY'`,
  );
  const primaryNames = new Set(primary.rows.map((r) => r.constraint_name));

  const indexes = await client.query<{ tablename: string; indexname: string; indexdef: string }>(
    `SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY tablename, indexname`,
  );
  for (const i of indexes.rows) {
    const m = /^CREATE (UNIQUE )?INDEX \S+ ON \S+ USING btree \(([^)]*)\)(?: WHERE (.*))?$/.exec(i.indexdef);
    if (!m) throw new Error(`cannot read index definition: ${i.indexdef}`);
    const description: IndexDescription = { name: i.indexname, columns: splitList(m[2]!), unique: Boolean(m[1]) };
    if (primaryNames.has(i.indexname)) description.primary = true;
    if (m[3]) description.where = m[3];
    table(i.tablename).indexes.push(description);
  }

  const fks = await client.query<{ table_name: string; conname: string; def: string }>(
    `SELECT c.conrelid::regclass::text AS table_name, c.conname, pg_get_constraintdef(c.oid) AS def
     FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
     WHERE n.nspname = 'public' AND c.contype = 'f' ORDER BY 1, 2`,
  );
  for (const f of fks.rows) {
    const m =
      /^FOREIGN KEY \(([^)]*)\) REFERENCES ([\w.]+)\(([^)]*)\)(?: ON DELETE (CASCADE|SET NULL|RESTRICT|SET DEFAULT))?/.exec(
        f.def,
      );
    if (!m) throw new Error(`cannot read foreign key definition: ${f.def}`);
    table(f.table_name).foreignKeys.push({
      name: f.conname,
      columns: splitList(m[1]!),
      references: { table: m[2]!.replace(/^public\./, ''), columns: splitList(m[3]!) },
      onDelete: m[4] ?? 'NO ACTION',
    });
  }
  return tables;
}

/** The same table with columns, indexes and FKs sorted by name, so order never makes a difference. */
export function normalizeTable(t: TableDescription): TableDescription {
  const byName = <T extends { name: string }>(a: T, b: T) => a.name.localeCompare(b.name);
  return {
    columns: [...t.columns].sort(byName),
    indexes: [...t.indexes].sort(byName),
    foreignKeys: [...t.foreignKeys].sort(byName),
  };
}

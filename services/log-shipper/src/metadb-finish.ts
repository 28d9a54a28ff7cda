import {
  type AirflowSchemaVersion,
  DEFAULT_LOG_FILENAME_TEMPLATE,
  detectAirflowSchemaVersion,
  logTemplateForDagRun,
  type MetadbClient,
  type ParsedLogPath,
  parseLogFilename,
  type TaskAttemptIdentity,
  TemplateError,
  taskAttemptState,
} from '@windsock/airflow';
import { errorMessage, type Logger } from '@windsock/core';
import pg from 'pg';
import type { FinishSignal } from './finish.ts';

/** Settings of a {@link MetadbFinishSignal}. */
export interface MetadbFinishSignalOptions {
  /** A read-only PostgreSQL URL of Airflow's metadb. */
  databaseUrl: string;
  /** `auto` detects it from the schema. */
  version: 'auto' | '2' | '3';
  /** `[logging] log_filename_template` when it is not the version's default. */
  logFilenameTemplate?: string;
  logger: Logger;
  /** Lookups in flight at once (also the connection pool's size). */
  maxConcurrentQueries?: number;
  /** Per-query bound, so a slow metadb delays a finish instead of piling up queries. */
  statementTimeoutMs?: number;
  /** A client to use instead of a pool of its own (tests); not closed by close(). */
  client?: MetadbClient;
}

const RUN_CACHE_SIZE = 10_000;
const UNPARSED_CACHE_SIZE = 50_000;

/**
 * Whether a task attempt has ended, read from Airflow's metadb: the log path is parsed back into its
 * task instance with the templates Airflow names logs with (the configured one, the version's default,
 * and every dag_run's own `log_template` row met so far), checked against the run's template, then
 * `taskAttemptState` answers. A path no template explains (e.g. the pre-2.3 `{{ ts }}` layout, which
 * has no run_id) is answered "cannot tell", and the quiet period or an end marker decides instead.
 *
 * `@windsock/airflow` looks attempts up one at a time, so lookups run with bounded concurrency.
 */
export class MetadbFinishSignal implements FinishSignal {
  private readonly pool: pg.Pool | undefined;
  private readonly client: MetadbClient;
  private version: AirflowSchemaVersion | undefined;
  private readonly templates: string[] = [];
  private readonly runTemplates = new Map<string, string | null>();
  private readonly unparsed = new Set<string>();
  private readonly concurrency: number;
  private warnedVersion = false;

  constructor(private readonly o: MetadbFinishSignalOptions) {
    this.concurrency = Math.max(1, o.maxConcurrentQueries ?? 2);
    if (o.client) {
      this.client = o.client;
    } else {
      const timeout = o.statementTimeoutMs ?? 5000;
      this.pool = new pg.Pool({
        connectionString: o.databaseUrl,
        max: this.concurrency,
        idleTimeoutMillis: 60_000,
        connectionTimeoutMillis: timeout,
        statement_timeout: timeout,
        query_timeout: timeout + 2000,
        application_name: 'windsock-log-shipper',
        keepAlive: true,
      });
      this.pool.on('error', (err) => o.logger.debug({ err: errorMessage(err) }, 'idle metadb connection closed'));
      this.client = this.pool;
    }
    if (o.logFilenameTemplate) this.templates.push(o.logFilenameTemplate);
    if (o.version === '2' || o.version === '3') this.setVersion(o.version === '2' ? '2.10' : '3');
  }

  /** For each relative path: whether its attempt can write no more lines (undefined: cannot tell). */
  async attemptsFinished(relativePaths: readonly string[]): Promise<Map<string, boolean | undefined>> {
    const out = new Map<string, boolean | undefined>();
    const version = await this.schemaVersion();
    if (!version) return out;
    let next = 0;
    const worker = async () => {
      while (next < relativePaths.length) {
        const rel = relativePaths[next++]!;
        out.set(rel, await this.attemptFinished(version, rel));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, relativePaths.length) }, worker));
    return out;
  }

  /** The attempt's identity for a relative log path, checked against its dag_run's template; undefined when unknown. */
  async identify(rel: string): Promise<TaskAttemptIdentity | undefined> {
    const version = await this.schemaVersion();
    return version ? this.identity(rel) : undefined;
  }

  /** Closes the connection pool. */
  async close(): Promise<void> {
    await this.pool?.end().catch(() => undefined);
  }

  private async attemptFinished(version: AirflowSchemaVersion, rel: string): Promise<boolean | undefined> {
    if (this.unparsed.has(rel)) return undefined;
    try {
      const id = await this.identity(rel);
      if (!id) return undefined;
      const state = await taskAttemptState(this.client, version, id);
      return state ? state.attemptFinished : undefined;
    } catch (err) {
      this.o.logger.debug({ path: rel, err: errorMessage(err) }, 'metadb finish lookup failed');
      return undefined;
    }
  }

  private async identity(rel: string): Promise<TaskAttemptIdentity | undefined> {
    for (const template of [...this.templates]) {
      const parsed = safeParse(template, rel);
      const id = parsed && complete(parsed);
      if (!id) continue;
      // The run's own log_template row is what Airflow names (and reads) its logs with.
      const runTemplate = await this.runTemplate(id.dagId, id.runId);
      if (runTemplate === null || runTemplate === template) return id;
      this.learn(runTemplate);
      const again = safeParse(runTemplate, rel);
      const checked = again && complete(again);
      if (checked) return checked;
      // A 3.x worker names files with its configured template; trust that parse when the run's differs.
      return id;
    }
    if (this.unparsed.size >= UNPARSED_CACHE_SIZE) this.unparsed.clear();
    this.unparsed.add(rel);
    return undefined;
  }

  private async runTemplate(dagId: string, runId: string): Promise<string | null> {
    const key = `${dagId}\u0000${runId}`;
    const cached = this.runTemplates.get(key);
    if (cached !== undefined) return cached;
    const row = await logTemplateForDagRun(this.client, dagId, runId);
    // A run not in the metadb yet is asked again next time; a known one keeps its template for good.
    if (!row) return null;
    if (this.runTemplates.size >= RUN_CACHE_SIZE) this.runTemplates.clear();
    this.runTemplates.set(key, row.filename);
    return row.filename;
  }

  private learn(template: string): void {
    if (!this.templates.includes(template)) {
      this.templates.push(template);
      this.unparsed.clear();
    }
  }

  private async schemaVersion(): Promise<AirflowSchemaVersion | undefined> {
    if (this.version) return this.version;
    try {
      this.setVersion(await detectAirflowSchemaVersion(this.client));
    } catch (err) {
      if (!this.warnedVersion)
        this.o.logger.warn(
          { err: errorMessage(err) },
          'finishOnMetadbState: cannot read the metadb schema; end markers and the quiet period still finish logs',
        );
      this.warnedVersion = true;
    }
    return this.version;
  }

  private setVersion(version: AirflowSchemaVersion): void {
    this.version = version;
    this.learn(DEFAULT_LOG_FILENAME_TEMPLATE[version]);
  }
}

function safeParse(template: string, rel: string): ParsedLogPath | null {
  try {
    return parseLogFilename(template, rel);
  } catch (err) {
    if (err instanceof TemplateError) return null;
    throw err;
  }
}

function complete(p: ParsedLogPath): TaskAttemptIdentity | undefined {
  if (p.dagId === undefined || p.taskId === undefined || p.runId === undefined || p.tryNumber === undefined) {
    return undefined;
  }
  return { dagId: p.dagId, taskId: p.taskId, runId: p.runId, mapIndex: p.mapIndex, tryNumber: p.tryNumber };
}

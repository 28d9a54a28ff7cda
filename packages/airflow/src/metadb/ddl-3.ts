/**
 * Airflow 3.x DDL (the 3.0 layout) for the tables Windsock reads, as `airflow db migrate` creates them
 * on PostgreSQL. Written from the 3.x ORM models (airflow-core/src/airflow/models) and checked against
 * a real 3.0 pg_dump. Referenced tables are included with their real columns so FKs hold: trigger,
 * log_template, dag_version -> dag -> dag_bundle, backfill.
 *
 * 3.1 differs only in ways Windsock does not read: task_instance.dag_version_id becomes NOT NULL with
 * ON DELETE RESTRICT (migrations 0071/0072_3_1_0) and dag_run gains a triggering-user column (0074_3_1_0).
 */
export const AIRFLOW_3_DDL = `
CREATE TABLE log_template (
  id               serial       NOT NULL,
  filename         text         NOT NULL,
  elasticsearch_id text         NOT NULL,
  created_at       timestamptz  NOT NULL,
  CONSTRAINT log_template_pkey PRIMARY KEY (id)
);

CREATE TABLE trigger (
  id           serial         NOT NULL,
  classpath    varchar(1000)  NOT NULL,
  kwargs       text           NOT NULL,
  created_date timestamptz    NOT NULL,
  triggerer_id integer,
  CONSTRAINT trigger_pkey PRIMARY KEY (id)
);

CREATE TABLE slot_pool (
  id               serial       NOT NULL,
  pool             varchar(256),
  slots            integer,
  description      text,
  include_deferred boolean      NOT NULL,
  CONSTRAINT slot_pool_pkey PRIMARY KEY (id),
  CONSTRAINT slot_pool_pool_uq UNIQUE (pool)
);

CREATE TABLE job (
  id               serial        NOT NULL,
  dag_id           varchar(250),
  state            varchar(20),
  job_type         varchar(30),
  start_date       timestamptz,
  end_date         timestamptz,
  latest_heartbeat timestamptz,
  executor_class   varchar(500),
  hostname         varchar(500),
  unixname         varchar(1000),
  CONSTRAINT job_pkey PRIMARY KEY (id)
);
CREATE INDEX job_type_heart ON job (job_type, latest_heartbeat);
CREATE INDEX idx_job_state_heartbeat ON job (state, latest_heartbeat);
CREATE INDEX idx_job_dag_id ON job (dag_id);

CREATE TABLE dag_bundle (
  name           varchar(250) NOT NULL,
  active         boolean,
  version        varchar(200),
  last_refreshed timestamptz,
  CONSTRAINT dag_bundle_pkey PRIMARY KEY (name)
);

CREATE TABLE dag (
  dag_id                          varchar(250)  NOT NULL,
  is_paused                       boolean,
  is_stale                        boolean,
  last_parsed_time                timestamptz,
  last_expired                    timestamptz,
  fileloc                         varchar(2000),
  relative_fileloc                varchar(2000),
  bundle_name                     varchar(250),
  bundle_version                  varchar(200),
  owners                          varchar(2000),
  dag_display_name                varchar(2000),
  description                     text,
  timetable_summary               text,
  timetable_description           varchar(1000),
  asset_expression                json,
  max_active_tasks                integer       NOT NULL,
  max_active_runs                 integer,
  max_consecutive_failed_dag_runs integer       NOT NULL,
  has_task_concurrency_limits     boolean       NOT NULL,
  has_import_errors               boolean       DEFAULT false,
  next_dagrun                     timestamptz,
  next_dagrun_data_interval_start timestamptz,
  next_dagrun_data_interval_end   timestamptz,
  next_dagrun_create_after        timestamptz,
  CONSTRAINT dag_pkey PRIMARY KEY (dag_id),
  CONSTRAINT dag_bundle_name_fkey FOREIGN KEY (bundle_name) REFERENCES dag_bundle (name)
);
CREATE INDEX idx_next_dagrun_create_after ON dag (next_dagrun_create_after);

CREATE TABLE dag_version (
  id             uuid          NOT NULL,
  version_number integer       NOT NULL,
  dag_id         varchar(250)  NOT NULL,
  bundle_name    varchar(250),
  bundle_version varchar(250),
  created_at     timestamptz   NOT NULL,
  last_updated   timestamptz   NOT NULL,
  CONSTRAINT dag_version_pkey PRIMARY KEY (id),
  CONSTRAINT dag_id_v_name_v_number_unique_constraint UNIQUE (dag_id, version_number),
  CONSTRAINT dag_version_dag_id_fkey FOREIGN KEY (dag_id) REFERENCES dag (dag_id) ON DELETE CASCADE
);

CREATE TABLE backfill (
  id                 serial        NOT NULL,
  dag_id             varchar(250)  NOT NULL,
  from_date          timestamptz   NOT NULL,
  to_date            timestamptz   NOT NULL,
  dag_run_conf       json          NOT NULL,
  is_paused          boolean,
  reprocess_behavior varchar(250)  NOT NULL,
  max_active_runs    integer       NOT NULL,
  created_at         timestamptz   NOT NULL,
  completed_at       timestamptz,
  updated_at         timestamptz   NOT NULL,
  CONSTRAINT backfill_pkey PRIMARY KEY (id)
);

CREATE TABLE dag_run (
  id                       serial        NOT NULL,
  dag_id                   varchar(250)  NOT NULL,
  queued_at                timestamptz,
  logical_date             timestamptz,
  start_date               timestamptz,
  end_date                 timestamptz,
  state                    varchar(50),
  run_id                   varchar(250)  NOT NULL,
  creating_job_id          integer,
  run_type                 varchar(50)   NOT NULL,
  triggered_by             varchar(50),
  conf                     jsonb,
  data_interval_start      timestamptz,
  data_interval_end        timestamptz,
  run_after                timestamptz   NOT NULL,
  last_scheduling_decision timestamptz,
  log_template_id          integer,
  updated_at               timestamptz,
  clear_number             integer       NOT NULL DEFAULT 0,
  backfill_id              integer,
  bundle_version           varchar(250),
  scheduled_by_job_id      integer,
  context_carrier          jsonb,
  span_status              varchar(250)  NOT NULL DEFAULT 'not_started',
  created_dag_version_id   uuid,
  CONSTRAINT dag_run_pkey PRIMARY KEY (id),
  CONSTRAINT dag_run_dag_id_logical_date_key UNIQUE (dag_id, logical_date),
  CONSTRAINT dag_run_dag_id_run_id_key UNIQUE (dag_id, run_id),
  CONSTRAINT task_instance_log_template_id_fkey FOREIGN KEY (log_template_id) REFERENCES log_template (id),
  CONSTRAINT dag_run_backfill_id_fkey FOREIGN KEY (backfill_id) REFERENCES backfill (id),
  CONSTRAINT created_dag_version_id_fkey FOREIGN KEY (created_dag_version_id)
    REFERENCES dag_version (id) ON DELETE SET NULL
);
CREATE INDEX dag_id_state ON dag_run (dag_id, state);
CREATE INDEX idx_dag_run_dag_id ON dag_run (dag_id);
CREATE INDEX idx_dag_run_run_after ON dag_run (run_after);
CREATE INDEX idx_dag_run_running_dags ON dag_run (state, dag_id) WHERE state::text = 'running'::text;
CREATE INDEX idx_dag_run_queued_dags ON dag_run (state, dag_id) WHERE state::text = 'queued'::text;

CREATE TABLE task_instance (
  id                   uuid          NOT NULL,
  task_id              varchar(250)  NOT NULL,
  dag_id               varchar(250)  NOT NULL,
  run_id               varchar(250)  NOT NULL,
  map_index            integer       NOT NULL DEFAULT -1,
  start_date           timestamptz,
  end_date             timestamptz,
  duration             double precision,
  state                varchar(20),
  try_number           integer,
  max_tries            integer       DEFAULT -1,
  hostname             varchar(1000),
  unixname             varchar(1000),
  pool                 varchar(256)  NOT NULL,
  pool_slots           integer       NOT NULL,
  queue                varchar(256),
  priority_weight      integer,
  operator             varchar(1000),
  custom_operator_name varchar(1000),
  queued_dttm          timestamptz,
  scheduled_dttm       timestamptz,
  queued_by_job_id     integer,
  last_heartbeat_at    timestamptz,
  pid                  integer,
  executor             varchar(1000),
  executor_config      bytea,
  updated_at           timestamptz,
  rendered_map_index   varchar(250),
  context_carrier      jsonb,
  span_status          varchar(250)  NOT NULL DEFAULT 'not_started',
  external_executor_id varchar(250),
  trigger_id           integer,
  trigger_timeout      timestamptz,
  next_method          varchar(1000),
  next_kwargs          jsonb,
  task_display_name    varchar(2000),
  dag_version_id       uuid,
  CONSTRAINT task_instance_pkey PRIMARY KEY (id),
  CONSTRAINT task_instance_composite_key UNIQUE (dag_id, task_id, run_id, map_index),
  CONSTRAINT task_instance_dag_run_fkey FOREIGN KEY (dag_id, run_id)
    REFERENCES dag_run (dag_id, run_id) ON DELETE CASCADE,
  CONSTRAINT task_instance_trigger_id_fkey FOREIGN KEY (trigger_id) REFERENCES trigger (id) ON DELETE CASCADE,
  CONSTRAINT task_instance_dag_version_id_fkey FOREIGN KEY (dag_version_id)
    REFERENCES dag_version (id) ON DELETE CASCADE
);
CREATE INDEX ti_dag_state ON task_instance (dag_id, state);
CREATE INDEX ti_dag_run ON task_instance (dag_id, run_id);
CREATE INDEX ti_state ON task_instance (state);
CREATE INDEX ti_state_lkp ON task_instance (dag_id, task_id, run_id, state);
CREATE INDEX ti_pool ON task_instance (pool, state, priority_weight);
CREATE INDEX ti_trigger_id ON task_instance (trigger_id);
CREATE INDEX ti_heartbeat ON task_instance (last_heartbeat_at);
`;

/**
 * Airflow 2.10 DDL for the tables Windsock reads, as `airflow db migrate` creates them on PostgreSQL
 * (a fresh database is built by `Base.metadata.create_all`, then stamped). Written from the 2.10 ORM
 * models and checked against a real 2.10 pg_dump: names, types, nullability, server defaults, keys,
 * index names. Only the tables that the read tables reference are included (trigger, log_template).
 * `id serial` reproduces SQLAlchemy's Integer primary key: `<table>_id_seq` owned by the column.
 */
export const AIRFLOW_2_10_DDL = `
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

CREATE TABLE dag (
  dag_id                          varchar(250)  NOT NULL,
  root_dag_id                     varchar(250),
  is_paused                       boolean,
  is_subdag                       boolean,
  is_active                       boolean,
  last_parsed_time                timestamptz,
  last_pickled                    timestamptz,
  last_expired                    timestamptz,
  scheduler_lock                  boolean,
  pickle_id                       integer,
  fileloc                         varchar(2000),
  processor_subdir                varchar(2000),
  owners                          varchar(2000),
  dag_display_name                varchar(2000),
  description                     text,
  default_view                    varchar(25),
  schedule_interval               text,
  timetable_description           varchar(1000),
  dataset_expression              json,
  max_active_tasks                integer       NOT NULL,
  max_active_runs                 integer,
  max_consecutive_failed_dag_runs integer       NOT NULL,
  has_task_concurrency_limits     boolean       NOT NULL,
  has_import_errors               boolean       DEFAULT false,
  next_dagrun                     timestamptz,
  next_dagrun_data_interval_start timestamptz,
  next_dagrun_data_interval_end   timestamptz,
  next_dagrun_create_after        timestamptz,
  CONSTRAINT dag_pkey PRIMARY KEY (dag_id)
);
CREATE INDEX idx_root_dag_id ON dag (root_dag_id);
CREATE INDEX idx_next_dagrun_create_after ON dag (next_dagrun_create_after);

CREATE TABLE dag_run (
  id                       serial        NOT NULL,
  dag_id                   varchar(250)  NOT NULL,
  queued_at                timestamptz,
  execution_date           timestamptz   NOT NULL,
  start_date               timestamptz,
  end_date                 timestamptz,
  state                    varchar(50),
  run_id                   varchar(250)  NOT NULL,
  creating_job_id          integer,
  external_trigger         boolean,
  run_type                 varchar(50)   NOT NULL,
  conf                     bytea,
  data_interval_start      timestamptz,
  data_interval_end        timestamptz,
  last_scheduling_decision timestamptz,
  dag_hash                 varchar(32),
  log_template_id          integer,
  updated_at               timestamptz,
  clear_number             integer       NOT NULL DEFAULT 0,
  CONSTRAINT dag_run_pkey PRIMARY KEY (id),
  CONSTRAINT dag_run_dag_id_execution_date_key UNIQUE (dag_id, execution_date),
  CONSTRAINT dag_run_dag_id_run_id_key UNIQUE (dag_id, run_id),
  -- Airflow names this dag_run FK "task_instance_..." (a historical quirk kept by every migration).
  CONSTRAINT task_instance_log_template_id_fkey FOREIGN KEY (log_template_id) REFERENCES log_template (id)
);
CREATE INDEX dag_id_state ON dag_run (dag_id, state);
CREATE INDEX idx_dag_run_dag_id ON dag_run (dag_id);
CREATE INDEX idx_dag_run_running_dags ON dag_run (state, dag_id) WHERE state::text = 'running'::text;
CREATE INDEX idx_dag_run_queued_dags ON dag_run (state, dag_id) WHERE state::text = 'queued'::text;

CREATE TABLE task_instance (
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
  job_id               integer,
  pool                 varchar(256)  NOT NULL,
  pool_slots           integer       NOT NULL,
  queue                varchar(256),
  priority_weight      integer,
  operator             varchar(1000),
  custom_operator_name varchar(1000),
  queued_dttm          timestamptz,
  queued_by_job_id     integer,
  pid                  integer,
  executor             varchar(1000),
  executor_config      bytea,
  updated_at           timestamptz,
  rendered_map_index   varchar(250),
  external_executor_id varchar(250),
  trigger_id           integer,
  trigger_timeout      timestamp without time zone,
  next_method          varchar(1000),
  next_kwargs          json,
  task_display_name    varchar(2000),
  CONSTRAINT task_instance_pkey PRIMARY KEY (dag_id, task_id, run_id, map_index),
  CONSTRAINT task_instance_dag_run_fkey FOREIGN KEY (dag_id, run_id)
    REFERENCES dag_run (dag_id, run_id) ON DELETE CASCADE,
  CONSTRAINT task_instance_trigger_id_fkey FOREIGN KEY (trigger_id) REFERENCES trigger (id) ON DELETE CASCADE
);
CREATE INDEX ti_dag_state ON task_instance (dag_id, state);
CREATE INDEX ti_dag_run ON task_instance (dag_id, run_id);
CREATE INDEX ti_state ON task_instance (state);
CREATE INDEX ti_state_lkp ON task_instance (dag_id, task_id, run_id, state);
CREATE INDEX ti_pool ON task_instance (pool, state, priority_weight);
CREATE INDEX ti_job_id ON task_instance (job_id);
CREATE INDEX ti_trigger_id ON task_instance (trigger_id);
`;

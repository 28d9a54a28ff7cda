"""windsock_heartbeat_single: the heartbeat's probes in ONE task, for tight intervals.

Every task costs scheduling latency (the seed measured up to 75 s for a four-task DAG under load),
so a one-minute heartbeat cannot be a parallel DAG. This variant runs every probe in sequence in a
single task on the default queue and logs the same ``WINDSOCK_HEARTBEAT_OK`` token; it proves less
(one queue, no parallelism) but finishes within the interval. Works on Airflow 2.7+ and 3.x.
Settings: as ``windsock_heartbeat`` (WINDSOCK_HEARTBEAT_* environment variables);
WINDSOCK_HEARTBEAT_SINGLE_INTERVAL_MINUTES sets this DAG's interval (default 1).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone

import windsock_probes as probes

try:  # Airflow 3.x
    from airflow.sdk import dag, get_current_context, task
except ImportError:  # Airflow 2.7+
    from airflow.decorators import dag, task
    from airflow.operators.python import get_current_context

SETTINGS = probes.settings_from_env()
INTERVAL = timedelta(minutes=int(os.environ.get("WINDSOCK_HEARTBEAT_SINGLE_INTERVAL_MINUTES") or 1))
log = logging.getLogger("airflow.task")


@dag(
    dag_id="windsock_heartbeat_single",
    schedule=INTERVAL,
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=INTERVAL * 0.8,
    is_paused_upon_creation=False,
    default_args={"retries": 0, "execution_timeout": INTERVAL * 0.7, "priority_weight": 10_000, "weight_rule": "absolute"},
    tags=["windsock", "heartbeat"],
    doc_md=__doc__,
)
def windsock_heartbeat_single():
    @task(task_id="probe_all")
    def probe_all():
        context = get_current_context()
        settings = dict(SETTINGS, run_id=context["run_id"])
        results = probes.run_all(settings)
        for result in results:
            log.info(result.line())
        failed = [r for r in results if not r.ok]
        if failed:
            raise RuntimeError("; ".join(r.line() for r in failed))
        ti = context["ti"]
        run = context["dag_run"]
        started = getattr(run, "start_date", None)
        queue = probes.queue_probe_result(getattr(ti, "queue", None) or "default", getattr(ti, "queued_dttm", None) or started, getattr(ti, "start_date", None))
        token = probes.success_token_for(settings["cluster"], context["run_id"], started, [queue])
        log.info(token)
        return token

    probe_all()


windsock_heartbeat_single()

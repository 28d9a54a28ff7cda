"""windsock_heartbeat: proves every part of the Airflow cluster works, end to end, on a schedule.

Parallel probe tasks (metadb, broker, remote log bucket, DNS/TCP endpoints, libraries, DAGs folder,
shared filesystem, disk) plus one real task per Celery worker queue (routed with ``queue=``, so each
worker pool proves it consumes). When all succeed, ``success_token`` logs one line that starts with
``WINDSOCK_HEARTBEAT_OK``; Windsock's log-metrics turns it into ``HeartbeatSuccess``,
``HeartbeatLatencySeconds`` and ``HeartbeatQueuePickupSeconds``, and an alarm on a missing token
(TreatMissingData=breaching) pages on-call. Works on Airflow 2.7+ and 3.x.

Settings (read from the environment at parse time, which is not I/O; probe details may also come
from the Airflow Variable ``windsock_heartbeat`` (JSON) at run time):
  WINDSOCK_HEARTBEAT_QUEUES             worker queues to probe, comma separated (default: default)
  WINDSOCK_HEARTBEAT_INTERVAL_MINUTES   schedule interval (default 5); the run times out before the next
  WINDSOCK_HEARTBEAT_CLUSTER            the cluster name in the token (default WINDSOCK_CLUSTER or airflow)
  WINDSOCK_HEARTBEAT_DNS / _TCP / _LIBRARIES / _SHARED_FS / _DISK_PATH / _MIN_FREE_PERCENT / _S3_ENDPOINT
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import windsock_probes as probes

try:  # Airflow 3.x: the task SDK is the public authoring API
    from airflow.sdk import dag, get_current_context, task
except ImportError:  # Airflow 2.7+
    from airflow.decorators import dag, task
    from airflow.operators.python import get_current_context

SETTINGS = probes.settings_from_env()
INTERVAL = timedelta(minutes=SETTINGS["interval_minutes"])
QUEUES = SETTINGS["queues"]
log = logging.getLogger("airflow.task")

# Ahead of any backlog: a heartbeat that waits behind user tasks measures the backlog, not health.
PRIORITY = {"priority_weight": 10_000, "weight_rule": "absolute"}


def _settings(context) -> dict:
    """Env settings overlaid with the ``windsock_heartbeat`` Variable (read at run time only)."""
    merged = dict(SETTINGS)
    merged["run_id"] = context["run_id"]
    try:
        try:
            from airflow.sdk import Variable

            extra = Variable.get("windsock_heartbeat", default=None, deserialize_json=True)
        except ImportError:
            from airflow.models import Variable

            extra = Variable.get("windsock_heartbeat", default_var=None, deserialize_json=True)
    except Exception as exc:  # a missing or broken Variable must not hide the probes' own result
        log.warning("windsock heartbeat: Variable windsock_heartbeat ignored: %s", exc)
        extra = None
    if isinstance(extra, dict):
        merged.update(extra)
    return merged


def _check(result: probes.ProbeResult) -> dict:
    """Log the probe's line; fail the task (no retries) when the probe failed."""
    log.info(result.line())
    if not result.ok:
        raise RuntimeError(result.line())
    return result.as_dict()


def _queue_task_id(queue: str) -> str:
    return "queue_" + "".join(c if c.isalnum() or c in "-_" else "_" for c in queue)


@dag(
    dag_id="windsock_heartbeat",
    schedule=INTERVAL,
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=INTERVAL * 0.8,
    is_paused_upon_creation=False,
    default_args={"retries": 0, "execution_timeout": INTERVAL * 0.5, **PRIORITY},
    tags=["windsock", "heartbeat"],
    doc_md=__doc__,
)
def windsock_heartbeat():
    @task(task_id="probe_metadb")
    def probe_metadb():
        return _check(probes.probe_metadb(_settings(get_current_context()).get("metadb_url")))

    @task(task_id="probe_broker")
    def probe_broker():
        return _check(probes.probe_broker(_settings(get_current_context()).get("broker_url")))

    @task(task_id="probe_remote_logs")
    def probe_remote_logs():
        s = _settings(get_current_context())
        return _check(probes.probe_remote_logs(s.get("remote_base_log_folder"), s.get("s3_endpoint_url"), s["run_id"]))

    @task(task_id="probe_network")
    def probe_network():
        s = _settings(get_current_context())
        _check(probes.probe_dns(s.get("dns_hostnames", [])))
        return _check(probes.probe_tcp(s.get("tcp_endpoints", [])))

    @task(task_id="probe_libraries")
    def probe_libraries():
        return _check(probes.probe_libraries(_settings(get_current_context()).get("libraries", [])))

    @task(task_id="probe_dags_folder")
    def probe_dags_folder():
        return _check(probes.probe_dags_folder(_settings(get_current_context()).get("dags_folder")))

    @task(task_id="probe_shared_fs")
    def probe_shared_fs():
        return _check(probes.probe_shared_fs(_settings(get_current_context()).get("shared_fs_path")))

    @task(task_id="probe_disk_free")
    def probe_disk_free():
        s = _settings(get_current_context())
        return _check(probes.probe_disk_free(s.get("disk_path", "/"), float(s.get("min_free_percent", 10))))

    @task
    def queue_probe(queue: str):
        """A real task on ``queue``: its worker pool picked it up; report how long that took."""
        context = get_current_context()
        ti = context["ti"]
        started = getattr(ti, "start_date", None) or datetime.now(timezone.utc)
        # Airflow 2 records queued_dttm on the task instance; where it is absent, the run's start.
        queued = getattr(ti, "queued_dttm", None) or getattr(context.get("dag_run"), "start_date", None)
        result = probes.queue_probe_result(queue, queued, started, getattr(ti, "hostname", None))
        log.info("windsock probe queue %s: picked up by %s after %s s", queue, result["hostname"], result["pickup_seconds"])
        return result

    @task(task_id="success_token")
    def success_token(queue_results: list):
        context = get_current_context()
        run = context["dag_run"]
        started = getattr(run, "start_date", None) or getattr(run, "queued_at", None)
        token = probes.success_token_for(SETTINGS["cluster"], context["run_id"], started, queue_results)
        log.info(token)
        return token

    environment = [
        probe_metadb(),
        probe_broker(),
        probe_remote_logs(),
        probe_network(),
        probe_libraries(),
        probe_dags_folder(),
        probe_shared_fs(),
        probe_disk_free(),
    ]
    per_queue = [queue_probe.override(task_id=_queue_task_id(q), queue=q)(q) for q in QUEUES]
    token = success_token(per_queue)
    environment >> token


windsock_heartbeat()

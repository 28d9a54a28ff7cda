"""The heartbeat DAG's per-queue probe and final task, as real Celery tasks (test only).

Airflow cannot be installed here, so the DAG's task bodies run as Celery tasks with the same code
the DAG calls (windsock_probes.queue_probe_result / success_token_for), on a real worker consuming
the real Redis broker. The final task writes its token the way an Airflow 2 task log does, at the
task's log path under the base log folder, so log-metrics reads it as it would on a worker.
"""

import os
import socket
import sys
from datetime import datetime, timezone

from celery import Celery

sys.path.insert(0, os.environ["WINDSOCK_DAGS"])
import windsock_probes as probes  # noqa: E402

app = Celery("windsock_heartbeat", broker=os.environ["BROKER"], backend=os.environ["BROKER"])
app.conf.update(task_acks_late=True, worker_prefetch_multiplier=1, broker_connection_retry_on_startup=True)


@app.task(name="windsock_heartbeat.queue_probe")
def queue_probe(queue, queued_at_iso):
    started = datetime.now(timezone.utc)
    return probes.queue_probe_result(queue, datetime.fromisoformat(queued_at_iso), started, socket.gethostname())


@app.task(name="windsock_heartbeat.success_token")
def success_token(results, cluster, run_id, run_started_iso, log_path):
    token = probes.success_token_for(cluster, run_id, datetime.fromisoformat(run_started_iso), results)
    now = datetime.now(timezone.utc)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "a") as handle:
        handle.write(f"[{stamp}] {{windsock_heartbeat.py:140}} INFO - {token}\n")
    return token

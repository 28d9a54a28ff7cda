"""Windsock heartbeat probes: plain functions the heartbeat DAGs call, importable without Airflow.

Each probe returns a ProbeResult (ok / latency / detail) and never raises: a probe that cannot run
(missing client library, bad setting, refused connection) is a failed probe with a message an
on-call engineer can act on. Only the standard library is imported at module level; psycopg2,
redis and boto3 (all present in Airflow's images) are imported inside the probe that needs them.

Settings come from the environment (Airflow's own variables where they exist) or are passed in by
the DAG, which may read Airflow Variables at run time. Nothing here does I/O at import time.
"""

from __future__ import annotations

import importlib
import os
import socket
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from urllib.parse import unquote, urlsplit

#: The fixed word that starts the success token; log-metrics counts lines that start with it.
TOKEN_PREFIX = "WINDSOCK_HEARTBEAT_OK"
#: Version of the token's field set (v=2: cluster, run_id, latency_seconds, pickup_seconds).
TOKEN_VERSION = "2"

_FIELD_VALUE_FORBIDDEN = set(" \t\r\n")


@dataclass(frozen=True)
class ProbeResult:
    """What one probe found: ``status`` is ``ok``, ``fail`` or ``skip`` (not configured)."""

    name: str
    status: str
    latency_seconds: float
    detail: str

    @property
    def ok(self) -> bool:
        return self.status != "fail"

    def as_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        """One log line: what was probed, the outcome, how long it took, and why."""
        return f"windsock probe {self.name}: {self.status.upper()} in {self.latency_seconds:.3f}s: {self.detail}"


def _run(name: str, fn, *args, **kwargs) -> ProbeResult:
    """Time ``fn``; its return value is the detail, ``_Skip`` skips, any exception fails."""
    start = time.monotonic()
    try:
        detail = fn(*args, **kwargs)
        status = "ok"
    except _Skip as skip:
        status, detail = "skip", str(skip)
    except Exception as exc:  # a probe never raises: the failure is the result
        status, detail = "fail", _describe(exc)
    return ProbeResult(name, status, round(time.monotonic() - start, 6), str(detail))


class _Skip(Exception):
    """Raised inside a probe when the thing it checks is not configured."""


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def redact_url(url: str) -> str:
    """A URL with its password replaced by ``***`` (for messages: never print a secret)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


# --- metadb ------------------------------------------------------------------------------------


def metadb_url_from_env() -> str | None:
    """Airflow's metadb URL (2.x and 3.x variable names), SQLAlchemy driver suffix removed."""
    url = _env("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__SQL_ALCHEMY_CONN")
    return _libpq_url(url) if url else None


def _libpq_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("expected a URL like postgresql://user:PASSWORD@host:5432/airflow")
    base = scheme.split("+", 1)[0]
    if base not in ("postgresql", "postgres"):
        raise ValueError(f"only PostgreSQL metadbs are probed, got scheme {base!r}")
    return f"postgresql://{rest}"


def probe_metadb(url: str | None = None, timeout_seconds: float = 5.0) -> ProbeResult:
    """Connect to the metadb and run ``SELECT 1`` within the timeout."""

    def check() -> str:
        target = _libpq_url(url) if url else metadb_url_from_env()
        if not target:
            raise _Skip("no metadb URL (AIRFLOW__DATABASE__SQL_ALCHEMY_CONN is not set)")
        import psycopg2

        conn = psycopg2.connect(target, connect_timeout=max(1, int(timeout_seconds)))
        try:
            with conn.cursor() as cur:
                cur.execute("SET statement_timeout = %s", (int(timeout_seconds * 1000),))
                cur.execute("SELECT 1")
                cur.fetchone()
        finally:
            conn.close()
        return f"SELECT 1 answered on {redact_url(target)}"

    return _run("metadb", check)


# --- broker ------------------------------------------------------------------------------------


def probe_broker(url: str | None = None, timeout_seconds: float = 5.0) -> ProbeResult:
    """PING the Celery broker (Redis)."""

    def check() -> str:
        target = url or _env("AIRFLOW__CELERY__BROKER_URL")
        if not target:
            raise _Skip("no broker URL (AIRFLOW__CELERY__BROKER_URL is not set)")
        if not target.startswith(("redis://", "rediss://")):
            raise ValueError(f"only Redis brokers are probed, got {redact_url(target)}")
        import redis

        client = redis.Redis.from_url(target, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds)
        try:
            if client.ping() is not True:
                raise RuntimeError("PING did not answer PONG")
        finally:
            client.close()
        return f"PING answered on {redact_url(target)}"

    return _run("broker", check)


# --- remote log bucket -------------------------------------------------------------------------


def probe_remote_logs(
    remote_base: str | None = None,
    endpoint_url: str | None = None,
    run_id: str | None = None,
    timeout_seconds: float = 10.0,
) -> ProbeResult:
    """Write, read back and delete a small object under the remote log folder (S3)."""

    def check() -> str:
        base = remote_base or _env("AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER")
        if not base:
            raise _Skip("no remote log folder (AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER is not set)")
        parts = urlsplit(base)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"expected s3://bucket/prefix, got {base!r}")
        import boto3
        from botocore.config import Config

        bucket = parts.netloc
        prefix = parts.path.strip("/")
        name = f"windsock-heartbeat/{_safe(run_id or 'manual')}-{uuid.uuid4().hex[:12]}.txt"
        key = f"{prefix}/{name}" if prefix else name
        body = f"windsock heartbeat probe {time.time():.3f}\n".encode()
        config = Config(
            connect_timeout=timeout_seconds,
            read_timeout=timeout_seconds,
            retries={"max_attempts": 2},
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        s3 = boto3.client("s3", endpoint_url=endpoint_url or _env("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"), config=config)
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        try:
            got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            if got != body:
                raise RuntimeError(f"read back {len(got)} bytes that differ from the {len(body)} written")
        finally:
            s3.delete_object(Bucket=bucket, Key=key)
        return f"wrote, read and deleted s3://{bucket}/{key} ({len(body)} bytes)"

    return _run("remote_logs", check)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:100]


# --- network -----------------------------------------------------------------------------------


def probe_dns(hostnames: list[str]) -> ProbeResult:
    """Resolve every configured hostname."""

    def check() -> str:
        if not hostnames:
            raise _Skip("no hostnames configured")
        found = []
        for host in hostnames:
            try:
                addrs = {info[4][0] for info in socket.getaddrinfo(host, None)}
            except socket.gaierror as exc:
                raise RuntimeError(f"cannot resolve {host}: {exc.strerror}") from None
            found.append(f"{host}={sorted(addrs)[0]}")
        return "resolved " + ", ".join(found)

    return _run("dns", check)


def probe_tcp(endpoints: list[str], timeout_seconds: float = 3.0) -> ProbeResult:
    """Open (and close) a TCP connection to every configured ``host:port``."""

    def check() -> str:
        if not endpoints:
            raise _Skip("no TCP endpoints configured")
        for endpoint in endpoints:
            host, sep, port = endpoint.rpartition(":")
            if not sep or not port.isdigit():
                raise ValueError(f"expected host:port, got {endpoint!r}")
            try:
                socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_seconds).close()
            except OSError as exc:
                raise RuntimeError(f"cannot connect to {endpoint}: {exc.strerror or exc}") from None
        return "connected to " + ", ".join(endpoints)

    return _run("tcp", check)


# --- the worker's own environment --------------------------------------------------------------


def probe_libraries(modules: list[str]) -> ProbeResult:
    """Import every configured Python module."""

    def check() -> str:
        if not modules:
            raise _Skip("no libraries configured")
        for module in modules:
            try:
                importlib.import_module(module)
            except Exception as exc:
                raise RuntimeError(f"cannot import {module}: {_describe(exc)}") from None
        return "imported " + ", ".join(modules)

    return _run("libraries", check)


def probe_dags_folder(path: str | None = None) -> ProbeResult:
    """List the DAGs folder and read the first bytes of one file in it."""

    def check() -> str:
        folder = path or _env("AIRFLOW__CORE__DAGS_FOLDER")
        if not folder:
            raise _Skip("no DAGs folder (AIRFLOW__CORE__DAGS_FOLDER is not set)")
        names = sorted(os.listdir(folder))
        files = [n for n in names if n.endswith(".py") and os.path.isfile(os.path.join(folder, n))]
        if not files:
            raise RuntimeError(f"{folder} holds no .py file")
        with open(os.path.join(folder, files[0]), "rb") as handle:
            handle.read(4096)
        return f"{len(files)} DAG files readable in {folder}"

    return _run("dags_folder", check)


def probe_shared_fs(path: str | None) -> ProbeResult:
    """Write, fsync, read back and remove a small file on a shared filesystem (optional)."""

    def check() -> str:
        if not path:
            raise _Skip("no shared filesystem configured")
        target = os.path.join(path, f".windsock-heartbeat-{uuid.uuid4().hex[:12]}")
        body = f"{time.time():.3f}\n".encode()
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, body)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            with open(target, "rb") as handle:
                if handle.read() != body:
                    raise RuntimeError(f"{target} read back different bytes")
        finally:
            os.unlink(target)
        return f"{path} writable"

    return _run("shared_fs", check)


def probe_disk_free(path: str, min_free_percent: float = 10.0) -> ProbeResult:
    """Free space on the filesystem holding ``path`` is at least ``min_free_percent``."""

    def check() -> str:
        st = os.statvfs(path)
        total = st.f_blocks * st.f_frsize
        free = st.f_bavail * st.f_frsize
        percent = 100.0 * free / total if total else 0.0
        text = f"{percent:.1f}% free ({free // (1024 * 1024)} MiB) on {path}"
        if percent < min_free_percent:
            raise RuntimeError(f"{text}, below {min_free_percent:g}%")
        return text

    return _run("disk_free", check)


# --- per-queue pickup and the token ------------------------------------------------------------


def pickup_seconds(queued_at, started_at) -> float | None:
    """Seconds from a task instance being queued to a worker starting it (``None`` if unknown)."""
    if queued_at is None or started_at is None:
        return None
    return max(0.0, (started_at - queued_at).total_seconds())


def format_token(cluster: str, run_id: str, latency_seconds: float, pickups: dict[str, float | None]) -> str:
    """The success token, one line that log-metrics parses (``key=value`` fields, no spaces).

    ``pickup_seconds`` lists ``queue:seconds`` pairs separated by commas (a queue without a known
    pickup time is left out).
    """
    fields = {
        "v": TOKEN_VERSION,
        "cluster": cluster,
        "run_id": run_id,
        "latency_seconds": f"{latency_seconds:.3f}",
    }
    pairs = [f"{q}:{s:.3f}" for q, s in sorted(pickups.items()) if s is not None]
    if pairs:
        fields["pickup_seconds"] = ",".join(pairs)
    for key, value in fields.items():
        if not value or any(c in _FIELD_VALUE_FORBIDDEN for c in value):
            raise ValueError(f"token field {key}={value!r} must be non-empty and without whitespace")
    for queue in pickups:
        if any(c in ",: \t" for c in queue):
            raise ValueError(f"queue name {queue!r} cannot be carried in the token")
    return TOKEN_PREFIX + "".join(f" {k}={v}" for k, v in fields.items())


def queue_probe_result(queue: str, queued_at, started_at, hostname: str | None = None) -> dict:
    """What a per-queue probe task returns: its queue, the worker that ran it, and the pickup delay."""
    return {"queue": queue, "hostname": hostname, "pickup_seconds": pickup_seconds(queued_at, started_at)}


def success_token_for(cluster: str, run_id: str, run_started_at, queue_results: list[dict], now=None) -> str:
    """The token the final task logs: latency from the run's start to now, and every queue's pickup."""
    now = now or datetime.now(timezone.utc)
    latency = (now - run_started_at).total_seconds() if run_started_at else 0.0
    pickups = {r["queue"]: r.get("pickup_seconds") for r in queue_results}
    return format_token(cluster, run_id, max(0.0, latency), pickups)


def run_all(settings: dict) -> list[ProbeResult]:
    """Every environment probe, in sequence (the single-task DAG and `python -m windsock_probes`)."""
    return [
        probe_metadb(settings.get("metadb_url")),
        probe_broker(settings.get("broker_url")),
        probe_remote_logs(settings.get("remote_base_log_folder"), settings.get("s3_endpoint_url"), settings.get("run_id")),
        probe_dns(settings.get("dns_hostnames", [])),
        probe_tcp(settings.get("tcp_endpoints", [])),
        probe_libraries(settings.get("libraries", [])),
        probe_dags_folder(settings.get("dags_folder")),
        probe_shared_fs(settings.get("shared_fs_path")),
        probe_disk_free(settings.get("disk_path", "/"), float(settings.get("min_free_percent", 10))),
    ]


def settings_from_env(environ: dict | None = None) -> dict:
    """Probe settings from ``WINDSOCK_HEARTBEAT_*`` variables (lists comma separated)."""
    env = os.environ if environ is None else environ

    def listed(name: str) -> list[str]:
        return [x.strip() for x in env.get(name, "").split(",") if x.strip()]

    return {
        "cluster": env.get("WINDSOCK_HEARTBEAT_CLUSTER") or env.get("WINDSOCK_CLUSTER") or "airflow",
        "queues": listed("WINDSOCK_HEARTBEAT_QUEUES") or [env.get("AIRFLOW__OPERATORS__DEFAULT_QUEUE") or "default"],
        "dns_hostnames": listed("WINDSOCK_HEARTBEAT_DNS"),
        "tcp_endpoints": listed("WINDSOCK_HEARTBEAT_TCP"),
        "libraries": listed("WINDSOCK_HEARTBEAT_LIBRARIES"),
        "shared_fs_path": env.get("WINDSOCK_HEARTBEAT_SHARED_FS") or None,
        "disk_path": env.get("WINDSOCK_HEARTBEAT_DISK_PATH") or "/",
        "min_free_percent": float(env.get("WINDSOCK_HEARTBEAT_MIN_FREE_PERCENT") or 10),
        "s3_endpoint_url": env.get("WINDSOCK_HEARTBEAT_S3_ENDPOINT") or None,
        "interval_minutes": int(env.get("WINDSOCK_HEARTBEAT_INTERVAL_MINUTES") or 5),
    }


if __name__ == "__main__":  # `python3 windsock_probes.py`: every probe once, one line each
    results = run_all(settings_from_env())
    for result in results:
        print(result.line())
    raise SystemExit(0 if all(r.ok for r in results) else 1)

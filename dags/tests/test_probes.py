"""Every probe's pass and fail against the real services of Windsock's test stack.

Run by `npm test` through test/heartbeat/python.test.ts, which passes the stack's addresses:
WINDSOCK_TEST_PG_URL (trust auth), WINDSOCK_TEST_PG_SCRAM_URL (a private PostgreSQL that checks
passwords), WINDSOCK_TEST_REDIS_URL, WINDSOCK_TEST_MOTO_URL. A missing address fails (never skips).
"""

import os
import socket
import subprocess
import sys
import tempfile
import unittest
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import windsock_probes as probes  # noqa: E402


def need(name):
    value = os.environ.get(name)
    if not value:
        raise AssertionError(f"{name} is not set: run through `npm test` (test/heartbeat/python.test.ts)")
    return value


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MetadbProbe(unittest.TestCase):
    def test_reachable(self):
        r = probes.probe_metadb(need("WINDSOCK_TEST_PG_URL"))
        self.assertEqual(r.status, "ok", r.detail)
        self.assertGreater(r.latency_seconds, 0)

    def test_sqlalchemy_form_from_airflow_env(self):
        url = need("WINDSOCK_TEST_PG_URL").replace("postgresql://", "postgresql+psycopg2://", 1)
        old = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
        os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = url
        try:
            self.assertEqual(probes.probe_metadb().status, "ok")
        finally:
            if old is None:
                del os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
            else:
                os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = old

    def test_right_password_passes_wrong_password_fails_without_printing_it(self):
        good = need("WINDSOCK_TEST_PG_SCRAM_URL")
        self.assertEqual(probes.probe_metadb(good).status, "ok")
        parts = urlsplit(good)
        bad = good.replace(f":{parts.password}@", ":wrong-secret-xyz@", 1)
        r = probes.probe_metadb(bad)
        self.assertEqual(r.status, "fail")
        self.assertIn("password authentication failed", r.detail)
        self.assertNotIn("wrong-secret-xyz", r.detail + r.line())

    def test_closed_port_fails(self):
        r = probes.probe_metadb(f"postgresql://postgres@127.0.0.1:{closed_port()}/postgres", timeout_seconds=2)
        self.assertEqual(r.status, "fail")
        self.assertIn("OperationalError", r.detail)

    def test_unconfigured_is_skipped_not_failed(self):
        saved = {k: os.environ.pop(k) for k in list(os.environ) if k.endswith("SQL_ALCHEMY_CONN")}
        try:
            r = probes.probe_metadb()
        finally:
            os.environ.update(saved)
        self.assertEqual(r.status, "skip")
        self.assertTrue(r.ok)

    def test_not_postgres_fails_with_reason(self):
        r = probes.probe_metadb("mysql://u:p@127.0.0.1/airflow")
        self.assertEqual(r.status, "fail")
        self.assertIn("only PostgreSQL", r.detail)


class BrokerProbe(unittest.TestCase):
    def test_reachable(self):
        r = probes.probe_broker(need("WINDSOCK_TEST_REDIS_URL"))
        self.assertEqual(r.status, "ok", r.detail)

    def test_closed_port_fails(self):
        r = probes.probe_broker(f"redis://127.0.0.1:{closed_port()}/0", timeout_seconds=2)
        self.assertEqual(r.status, "fail")
        self.assertIn("ConnectionError", r.detail)

    def test_wrong_password_fails_without_printing_it(self):
        import redis

        url = need("WINDSOCK_TEST_REDIS_SECURED_URL")
        r = probes.probe_broker(url.replace("://:right@", "://:wrong-secret-xyz@"))
        self.assertEqual(r.status, "fail")
        self.assertNotIn("wrong-secret-xyz", r.detail)
        self.assertEqual(probes.probe_broker(url).status, "ok")
        redis.Redis.from_url(url).close()


class RemoteLogsProbe(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import boto3

        os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        cls.endpoint = need("WINDSOCK_TEST_MOTO_URL")
        cls.bucket = f"hb-{uuid.uuid4().hex[:10]}"
        cls.s3 = boto3.client("s3", endpoint_url=cls.endpoint)
        cls.s3.create_bucket(Bucket=cls.bucket)

    def test_write_read_delete_leaves_nothing(self):
        r = probes.probe_remote_logs(f"s3://{self.bucket}/logs", self.endpoint, run_id="scheduled__2026-12-02T10:00:00+00:00")
        self.assertEqual(r.status, "ok", r.detail)
        self.assertIn(f"s3://{self.bucket}/logs/windsock-heartbeat/", r.detail)
        listed = self.s3.list_objects_v2(Bucket=self.bucket)
        self.assertEqual(listed.get("KeyCount", 0), 0)

    def test_missing_bucket_fails(self):
        r = probes.probe_remote_logs(f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/logs", self.endpoint)
        self.assertEqual(r.status, "fail")
        self.assertIn("NoSuchBucket", r.detail)

    def test_bad_url_fails(self):
        r = probes.probe_remote_logs("gs://bucket/logs", self.endpoint)
        self.assertEqual(r.status, "fail")
        self.assertIn("expected s3://", r.detail)


class NetworkProbes(unittest.TestCase):
    def test_dns_resolves_and_fails_on_unresolvable(self):
        self.assertEqual(probes.probe_dns(["localhost"]).status, "ok")
        r = probes.probe_dns(["localhost", "windsock-nowhere.invalid"])
        self.assertEqual(r.status, "fail")
        self.assertIn("cannot resolve windsock-nowhere.invalid", r.detail)

    def test_tcp_open_and_closed_port(self):
        with socket.socket() as srv:
            srv.bind(("127.0.0.1", 0))
            srv.listen(1)
            port = srv.getsockname()[1]
            self.assertEqual(probes.probe_tcp([f"127.0.0.1:{port}"]).status, "ok")
        closed = closed_port()
        r = probes.probe_tcp([f"127.0.0.1:{closed}"], timeout_seconds=2)
        self.assertEqual(r.status, "fail")
        self.assertIn(f"cannot connect to 127.0.0.1:{closed}", r.detail)

    def test_tcp_bad_endpoint(self):
        self.assertEqual(probes.probe_tcp(["no-port-here"]).status, "fail")


class LocalProbes(unittest.TestCase):
    def test_libraries(self):
        self.assertEqual(probes.probe_libraries(["json", "psycopg2"]).status, "ok")
        r = probes.probe_libraries(["json", "windsock_no_such_module"])
        self.assertEqual(r.status, "fail")
        self.assertIn("cannot import windsock_no_such_module", r.detail)

    def test_dags_folder(self):
        here = os.path.join(os.path.dirname(__file__), "..")
        self.assertEqual(probes.probe_dags_folder(here).status, "ok")
        with tempfile.TemporaryDirectory() as empty:
            self.assertEqual(probes.probe_dags_folder(empty).status, "fail")
        self.assertEqual(probes.probe_dags_folder("/nonexistent/dags").status, "fail")

    def test_shared_fs_writable_and_read_only(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(probes.probe_shared_fs(d).status, "ok")
            self.assertEqual(os.listdir(d), [])
        ro = read_only_dir(self)
        r = probes.probe_shared_fs(ro)
        self.assertEqual(r.status, "fail", r.detail)
        self.assertRegex(r.detail, "Read-only file system|Permission denied")

    def test_disk_free_threshold(self):
        st = os.statvfs("/")
        free_percent = 100.0 * st.f_bavail / st.f_blocks
        self.assertEqual(probes.probe_disk_free("/", 0).status, "ok")
        r = probes.probe_disk_free("/", min(100.0, free_percent + 1))
        self.assertEqual(r.status, "fail")
        self.assertIn("below", r.detail)


def read_only_dir(test):
    """A real read-only folder: a tmpfs mounted ro (root ignores permission bits), else sysfs."""
    d = tempfile.mkdtemp(prefix="ws-ro-")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", d], capture_output=True).returncode == 0:
        test.addCleanup(lambda: (subprocess.run(["umount", d]), os.rmdir(d)))
        return d
    os.rmdir(d)
    return "/sys/kernel"


class Token(unittest.TestCase):
    def test_format(self):
        token = probes.format_token(
            "prod-eu", "scheduled__2026-12-02T10:00:00+00:00", 12.3456, {"gpu": None, "etl": 0.25, "default": 1.5}
        )
        self.assertEqual(
            token,
            "WINDSOCK_HEARTBEAT_OK v=2 cluster=prod-eu run_id=scheduled__2026-12-02T10:00:00+00:00"
            " latency_seconds=12.346 pickup_seconds=default:1.500,etl:0.250",
        )

    def test_refuses_whitespace(self):
        with self.assertRaises(ValueError):
            probes.format_token("prod eu", "r", 1, {})
        with self.assertRaises(ValueError):
            probes.format_token("prod", "r", 1, {"a:b": 1})

    def test_pickup(self):
        t = datetime(2026, 12, 2, tzinfo=timezone.utc)
        self.assertEqual(probes.pickup_seconds(t, t + timedelta(seconds=3)), 3.0)
        self.assertIsNone(probes.pickup_seconds(None, t))

    def test_redact_url(self):
        self.assertEqual(probes.redact_url("postgresql://a:s3cret@h:5432/db"), "postgresql://a:***@h:5432/db")
        self.assertEqual(probes.redact_url("redis://h:6379/0"), "redis://h:6379/0")


if __name__ == "__main__":
    unittest.main()

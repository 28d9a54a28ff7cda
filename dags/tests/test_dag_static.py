"""The heartbeat DAG files, checked without Airflow (not installable here): Python's ast only.

What is checked is what makes a heartbeat trustworthy on Airflow 2.7+ and 3.x: portable imports,
``schedule=`` (3.x removed ``schedule_interval``), explicit ``catchup=False`` (defaults differ),
``max_active_runs=1``, a ``dagrun_timeout`` shorter than the interval, retries off, one real task
per configured queue, and no I/O at parse time (nothing but imports, constants, definitions and the
DAG call at module level; the settings come from the environment only).
"""

import ast
import os
import subprocess
import sys
import unittest

DAGS = os.path.join(os.path.dirname(__file__), "..")
FILES = {"windsock_heartbeat": "windsock_heartbeat.py", "windsock_heartbeat_single": "windsock_heartbeat_single.py"}


def parse(name):
    with open(os.path.join(DAGS, name)) as handle:
        return ast.parse(handle.read(), filename=name)


def dag_decorator(tree):
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and getattr(deco.func, "id", None) == "dag":
                    return node, {k.arg: k.value for k in deco.keywords}
    raise AssertionError("no @dag(...) function")


class DagFiles(unittest.TestCase):
    def test_dag_arguments(self):
        for dag_id, name in FILES.items():
            with self.subTest(name):
                _, kw = dag_decorator(parse(name))
                self.assertEqual(ast.literal_eval(kw["dag_id"]), dag_id)
                self.assertIn("schedule", kw)
                self.assertNotIn("schedule_interval", kw)
                self.assertIs(ast.literal_eval(kw["catchup"]), False)
                self.assertEqual(ast.literal_eval(kw["max_active_runs"]), 1)
                self.assertEqual(ast.unparse(kw["schedule"]), "INTERVAL")
                # dagrun_timeout is a fraction (< 1) of the same INTERVAL the schedule uses
                timeout = kw["dagrun_timeout"]
                self.assertIsInstance(timeout, ast.BinOp)
                self.assertEqual(ast.unparse(timeout.left), "INTERVAL")
                self.assertLess(ast.literal_eval(timeout.right), 1)
                default_args = {ast.literal_eval(k): v for k, v in zip(kw["default_args"].keys, kw["default_args"].values) if k is not None}
                self.assertEqual(ast.literal_eval(default_args["retries"]), 0)

    def test_portable_imports(self):
        for name in FILES.values():
            with self.subTest(name):
                tree = parse(name)
                tries = [n for n in tree.body if isinstance(n, ast.Try)]
                self.assertTrue(tries, "the Airflow imports must be a try/except ImportError")
                body = ast.unparse(tries[0].body[0])
                handler = tries[0].handlers[0]
                self.assertEqual(ast.unparse(handler.type), "ImportError")
                self.assertIn("from airflow.sdk import", body)
                fallback = "\n".join(ast.unparse(n) for n in handler.body)
                self.assertIn("from airflow.decorators import dag, task", fallback)
                self.assertIn("get_current_context", fallback)
                for node in ast.walk(tree):  # nothing 3.x removed or 2.x lacks
                    if isinstance(node, ast.ImportFrom):
                        self.assertNotIn(node.module, ("airflow.operators.dummy", "airflow.operators.empty"))

    def test_no_io_at_parse_time(self):
        allowed = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Try)
        for name in FILES.values():
            with self.subTest(name):
                for node in parse(name).body:
                    if isinstance(node, allowed):
                        continue
                    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                        continue  # the docstring
                    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and not node.value.args:
                        continue  # the DAG function call
                    if isinstance(node, (ast.Assign, ast.AnnAssign)):
                        text = ast.unparse(node.value)
                        for bad in ("open(", "Variable", "connect(", "requests", "listdir", "getaddrinfo", "subprocess"):
                            self.assertNotIn(bad, text, f"{name}: top-level {text}")
                        continue
                    self.fail(f"{name}: top-level statement {ast.unparse(node)[:80]}")

    def test_parallel_probes_then_token(self):
        fn, _ = dag_decorator(parse(FILES["windsock_heartbeat"]))
        task_ids = []
        for node in ast.walk(fn):
            if isinstance(node, ast.FunctionDef):
                for deco in node.decorator_list:
                    if isinstance(deco, ast.Call) and getattr(deco.func, "id", None) == "task":
                        task_ids += [ast.literal_eval(k.value) for k in deco.keywords if k.arg == "task_id"]
        self.assertEqual(
            sorted(task_ids),
            sorted(
                [
                    "probe_metadb",
                    "probe_broker",
                    "probe_remote_logs",
                    "probe_network",
                    "probe_libraries",
                    "probe_dags_folder",
                    "probe_shared_fs",
                    "probe_disk_free",
                    "success_token",
                ]
            ),
        )
        source = ast.unparse(fn)
        # the environment probes are a list (parallel, no edges between them) set upstream of the token
        self.assertIn("environment >> token", source)
        self.assertIn("token = success_token(per_queue)", source)
        self.assertNotIn(">> probe_", source)

    def test_one_real_task_per_configured_queue(self):
        """Evaluate the DAG file's module-level settings with a fake Airflow: one queue task each."""
        script = r"""
import sys, types, json
calls = []
class Task:
    def __init__(self, fn, kw): self.fn, self.kw = fn, kw
    def override(self, **kw): return Task(self.fn, {**self.kw, **kw})
    def __call__(self, *a): calls.append({"task_id": self.kw.get("task_id", self.fn.__name__), "queue": self.kw.get("queue"), "args": [x for x in a if isinstance(x, str)]}); return Node()
class Node:
    def __rshift__(self, other): return other
    def __rrshift__(self, other): return self
def task(fn=None, **kw):
    return Task(fn, kw) if fn else (lambda f: Task(f, kw))
def dag(**kw):
    def wrap(fn):
        def run(): calls.append({"dag": kw["dag_id"]}); fn()
        return run
    return wrap
sdk = types.ModuleType("airflow.sdk"); sdk.dag, sdk.task, sdk.get_current_context = dag, task, lambda: {}
sys.modules["airflow"] = types.ModuleType("airflow"); sys.modules["airflow.sdk"] = sdk
sys.path.insert(0, sys.argv[1])
import windsock_heartbeat
print(json.dumps(calls))
"""
        env = dict(os.environ, WINDSOCK_HEARTBEAT_QUEUES="default, gpu,etl.high")
        out = subprocess.run([sys.executable, "-c", script, DAGS], env=env, capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        import json

        calls = json.loads(out.stdout)
        queued = [c for c in calls if c.get("queue")]
        self.assertEqual([(c["task_id"], c["queue"]) for c in queued], [("queue_default", "default"), ("queue_gpu", "gpu"), ("queue_etl_high", "etl.high")])
        self.assertEqual(calls[0], {"dag": "windsock_heartbeat"})


if __name__ == "__main__":
    unittest.main()

"""Metrics of one process, scraped through the real endpoint and parsed with
prometheus_client's parser."""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

from flask import Flask
from flask_socketio import SocketIO
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from specter_spoc import QueueService, Service, boot
from specter_spoc.console import install_metrics
from specter_spoc.console.metrics import arm_boot_timing
from tests.contrib.redis.redis_helpers import wait_until


class Jobs(QueueService):
    def handle_item(self, item: Any) -> None:
        if item == "fail":
            raise ValueError("nope")


class Crashy(Service):
    supervision = "log"


def _scrape(app: Flask) -> List[Tuple[str, Dict[str, str], float]]:
    response = app.test_client().get("/_spoc/metrics")
    assert response.status_code == 200
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(response.get_data(as_text=True))
            for s in family.samples]


def _value(samples: List[Tuple[str, Dict[str, str], float]], name: str, **labels: str) -> float:
    found = [v for n, lab, v in samples if n == name and all(lab.get(k) == w for k, w in labels.items())]
    assert found, f"{name}{labels} not exported"
    return sum(found)


def test_queue_items_are_timed_although_the_workers_ran_before_metrics_were_installed() -> None:
    arm_boot_timing()  # what console_settings_from_config does before create_app's boot()
    app = Flask("metrics_app")
    jobs, crashy = Jobs("jobs", worker_count=2), Crashy("crashy")
    runtime = boot(app, SocketIO(app, async_mode="gevent"), services=[jobs, crashy], install_signals=False)
    try:
        assert jobs.enqueue("first")
        wait_until(lambda: jobs.stats()["processed"] == 1, timeout=5, what="the first item")  # workers ran
        metrics = install_metrics(runtime)
        for item in ("a", "b", "fail"):
            jobs.enqueue(item)
        crashy.spawn(lambda: 1 / 0, label="divide")
        wait_until(lambda: jobs.stats()["processed"] == 3 and jobs.stats()["dead_lettered"] == 1, timeout=5,
                   what="three more items")
        runtime.bus.emit("orders:placed", {})
        samples = _scrape(app)
        assert _value(samples, "spoc_queue_handling_seconds_count", queue="jobs") == 3  # items after install
        assert _value(samples, "spoc_queue_processed_total", queue="jobs") == 3
        assert _value(samples, "spoc_queue_dead_lettered_total", queue="jobs") == 1
        assert _value(samples, "spoc_queue_workers_alive", queue="jobs") == 2
        assert _value(samples, "spoc_service_crashes_total", service="crashy") == 1
        assert _value(samples, "spoc_bus_emits_total", event="orders:placed") == 1
        assert _value(samples, "spoc_services", state="running") == 3  # jobs, crashy, spoc-metrics
        assert 0 < _value(samples, "spoc_boot_seconds") < 10
        assert _value(samples, "spoc_shutdown_seconds_count") == 0
    finally:
        runtime.shutdown()
    after = [(s.name, s.labels, s.value) for family in text_string_to_metric_families(
        generate_latest(metrics.registry).decode()) for s in family.samples]
    assert _value(after, "spoc_shutdown_seconds_count") == 1


def test_requests_refused_while_draining_are_counted() -> None:
    app = Flask("draining_app")
    runtime = boot(app, SocketIO(app, async_mode="gevent"), install_signals=False)
    try:
        metrics = install_metrics(runtime)
        runtime.draining = True  # what shutdown() sets first
        assert app.test_client().get("/anything").status_code == 503
        assert app.test_client().get("/_spoc/metrics").status_code == 503
        runtime.draining = False
        assert _value(_scrape(app), "spoc_http_refused_draining_total") == 2
        assert metrics.running
    finally:
        runtime.shutdown()

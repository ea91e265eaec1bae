"""Prometheus metrics for /metrics, one registry per application."""

import threading
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from .app_objects import app_objects


class AppMetrics:
    def __init__(self, db_getter):
        self.registry = CollectorRegistry(auto_describe=True)
        self.started = time.time()
        self.requests = Counter(
            "lienthong_http_requests", "HTTP requests handled", ["method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "lienthong_http_request_seconds", "Time to handle a request", registry=self.registry
        )
        self.uptime = Gauge("lienthong_uptime_seconds", "Seconds since start", registry=self.registry)
        self.uptime.set_function(lambda: time.time() - self.started)
        self.registry.register(_DatabaseCollector(db_getter))

    def observe_request(self, method, status, seconds):
        self.requests.labels(method=method, status=str(status)).inc()
        self.latency.observe(seconds)

    def render(self):
        return generate_latest(self.registry)


class _DatabaseCollector:
    """Database size and object count, read when scraped."""

    def __init__(self, db_getter):
        self.db_getter = db_getter

    def describe(self):
        return []

    def collect(self):
        db = self.db_getter()
        if db is None:
            return
        size = GaugeMetricFamily("lienthong_zodb_size_bytes", "Size of the object database")
        size.add_metric([], float(db.getSize()))
        yield size
        objects = GaugeMetricFamily("lienthong_zodb_objects", "Objects in the object database")
        objects.add_metric([], float(len(db.storage)))
        yield objects


_metrics_lock = threading.Lock()


def transport_counters(registry):
    """The transport worker's Prometheus counters on the application's /metrics registry
    (made once per application; None without /metrics)."""
    with _metrics_lock:
        objects = app_objects(registry)
        found = objects.transport_metrics
        if found is not None:
            return found
        app_metrics = objects.metrics
        if app_metrics is None:
            return None
        from prometheus_client import Counter

        found = {
            name: Counter(f"lienthong_transport_{name}", text, ["adapter"], registry=app_metrics.registry)
            for name, text in (
                ("delivered", "Messages delivered by an adapter"),
                ("failed", "Failed delivery attempts"),
                ("dead", "Messages moved to the dead letters"),
            )
        }
        objects.transport_metrics = found
        return found

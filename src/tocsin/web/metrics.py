"""Prometheus metrics at ``/metrics`` (prometheus-client, text exposition format).

Two sources:

- **Requests**, measured in this process by :class:`RequestMetricsMiddleware`: the
  latency histogram ``tocsin_http_request_duration_seconds`` labelled by method, route
  *template* (``/api/v1/alerts/{alert_id}``, never the concrete path, so the number of
  series stays bounded) and status class. Under ``tocsin serve --workers N`` the
  processes share it through prometheus-client's multiprocess mode: ``tocsin serve``
  points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before the processes start,
  and a scrape of any process sums all of them.
- **State**, counted in the database at scrape time (:class:`StoreCollector`): alerts by
  level and status, the notification outbox (by status, due backlog, failed delivery
  attempts), detection runs (count, durations and sizes as histograms, signals, alarms)
  and the age of each worker's heartbeat. Every server answers the same figures, whatever
  process did the work; aggregate them with ``max`` across servers, not ``sum``.

Access (docs/deployment.md): a request from the loopback interface that did not come
through a proxy (no ``Forwarded`` or ``X-Forwarded-For`` header), or a root
administrator (an API token, as Prometheus' ``authorization`` setting sends it). The
metrics hold counts only: no user, recipient or address.
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tocsin.alerting import gauges, heartbeat
from tocsin.alerting.clock import SystemClock
from tocsin.monitoring.run_figures import Histogram as RunHistogram
from tocsin.monitoring.run_figures import run_figures
from tocsin.web.deps import Db, resolve_principal, scope_for
from tocsin.web.openapi import PROBLEM_JSON

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: This process's request metrics (written to ``PROMETHEUS_MULTIPROC_DIR`` when set).
_REQUESTS = CollectorRegistry(auto_describe=True)
REQUEST_SECONDS = Histogram(
    "tocsin_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status class.",
    ["method", "route", "status"],
    registry=_REQUESTS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def route_template(scope: Scope) -> str:
    """The template of the route that answered (``/api/v1/alerts/{alert_id}``), or
    ``unmatched``. The route a router records in the scope knows its own template
    without the prefixes of the routers that include it, so the prefix is taken from
    the concrete path: what precedes the route's own part, its parameters filled in."""
    route = scope.get("route")
    own = getattr(route, "path_format", None)
    if not own:
        return "unmatched"
    try:
        concrete = own.format(**scope.get("path_params", {}))
    except (KeyError, IndexError, ValueError):
        return own
    path = scope.get("path", "")
    return path[: len(path) - len(concrete)] + own if path.endswith(concrete) else own


class RequestMetricsMiddleware:
    """Times every HTTP request into :data:`REQUEST_SECONDS` (pure ASGI, no buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            REQUEST_SECONDS.labels(
                scope["method"], route_template(scope), f"{status // 100}xx"
            ).observe(time.perf_counter() - started)


def _histogram(name: str, doc: str, figures: RunHistogram) -> HistogramMetricFamily:
    buckets = [("+Inf" if b == float("inf") else repr(b), c) for b, c in figures.buckets]
    return HistogramMetricFamily(name, doc, buckets=buckets, sum_value=figures.total)


class StoreCollector(Collector):
    """The state of the site, counted in the database at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        now = SystemClock().now()
        with Session(self.engine) as session:
            alerts = gauges.alerts_by_level_and_status(session)
            outbox = gauges.outbox(session, now=now)
            runs = run_figures(session)
            ages = heartbeat.ages(session, now=now)
        family = GaugeMetricFamily(
            "tocsin_alerts", "Alerts by level (1 highest) and status.", labels=["level", "status"]
        )
        for (level, status), count in sorted(alerts.items()):
            family.add_metric([str(level), status], count)
        yield family
        notifications = GaugeMetricFamily(
            "tocsin_notifications",
            "Notifications in the outbox by channel and status (pending: not yet sent).",
            labels=["channel", "status"],
        )
        due = GaugeMetricFamily(
            "tocsin_outbox_due",
            "Pending notifications whose next attempt is due: the delivery backlog.",
            labels=["channel"],
        )
        failures = CounterMetricFamily(
            "tocsin_notification_delivery_failures",
            "Delivery attempts that failed (retried or given up), by channel.",
            labels=["channel"],
        )
        for channel, figures in sorted(outbox.items()):
            for status, count in sorted(figures.by_status.items()):
                notifications.add_metric([channel, status], count)
            due.add_metric([channel], figures.due)
            failures.add_metric([channel], figures.failed_attempts)
        yield from (notifications, due, failures)
        yield CounterMetricFamily(
            "tocsin_detection_runs", "Detection runs recorded.", value=runs.runs
        )
        yield _histogram(
            "tocsin_detection_run_duration_seconds",
            "Wall-clock time of detection runs (runs recorded since revision ops0001).",
            runs.duration,
        )
        yield _histogram(
            "tocsin_detection_run_series", "Series evaluated per detection run.", runs.series
        )
        yield CounterMetricFamily(
            "tocsin_detection_signals", "Signals written by detection runs.", value=runs.signals
        )
        yield CounterMetricFamily(
            "tocsin_detection_alarms", "Alarms among those signals.", value=runs.alarms
        )
        family = GaugeMetricFamily(
            "tocsin_worker_heartbeat_age_seconds",
            "Seconds since each worker's last tick (workers seen in the last day).",
            labels=["worker"],
        )
        for name, age in sorted(ages.items()):
            family.add_metric([name], age)
        yield family


class _ThisProcess(Collector):
    """The request metrics of this process (without multiprocess mode)."""

    def collect(self) -> Iterator[Metric]:
        yield from _REQUESTS.collect()


def exposition(engine: Engine) -> bytes:
    """Every metric in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(StoreCollector(engine))
    return generate_latest(registry)


# -- access -------------------------------------------------------------------------

_FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def _from_loopback(request: Request) -> bool:
    """Whether the client is on this machine and did not come through a proxy."""
    if request.client is None or any(h in request.headers for h in _FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


def require_scraper(request: Request, db: Session) -> None:
    """Let a loopback client (if ``TOCSIN_METRICS_FROM_LOOPBACK``) or a root
    administrator through; 401 without credentials, 403 for any other user."""
    if request.app.state.settings.metrics_from_loopback and _from_loopback(request):
        return
    principal = resolve_principal(request, db)
    if principal is None:
        raise HTTPException(
            401,
            "credentials required: the API token of an administrator of the whole "
            "territory (Authorization: Bearer ...), or a request from the loopback interface",
            headers={"WWW-Authenticate": 'Bearer realm="tocsin"'},
        )
    if not scope_for(principal, db, request).administers_everything():
        raise HTTPException(403, "metrics are for administrators of the whole territory")


router = APIRouter(tags=["Operations"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "every metric, in the Prometheus text exposition format",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
    401: {
        "description": "not from the loopback interface and no credentials",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    },
    403: {
        "description": "the caller is not an administrator of the whole territory",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    },
}


@router.get(
    "/metrics",
    response_class=Response,
    responses=_RESPONSES,
    summary="Prometheus metrics: requests, alerts, outbox, detection runs, workers",
)
def metrics(request: Request, db: Db) -> Response:
    require_scraper(request, db)
    return Response(exposition(request.app.state.engine), media_type=CONTENT_TYPE)

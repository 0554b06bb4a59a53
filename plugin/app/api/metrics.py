"""Prometheus metrics: requests by route and status (this process), and, read from the database at
scrape time so every process reports the same totals, messages by channel, status changes by track and
source, and the outbox depth.

Every label value comes from a fixed set, so no request can add series (SPEC §12): a method outside
HTTP's usual ones counts as `other`, a path no route matches as `unmatched`, a time rule's source as
`time`. With STATUSHUB_METRICS_TOKEN set, a scrape must send `Authorization: Bearer <that token>`.
"""

from __future__ import annotations

import hmac
import time

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select

from plugin.app.errors import error_response
from plugin.engine import held_counts
from plugin.store.db import reading
from plugin.store.schema import Message, OutboxItem, StatusChange

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class DatabaseCollector:
    def __init__(self, app: Flask):
        self.app = app  # the collector belongs to this app's registry, never to the module

    def collect(self):
        engine = self.app.extensions["statushub"].engine
        messages = CounterMetricFamily(
            "statushub_messages", "messages stored, by channel and direction", labels=["channel", "direction"]
        )
        changes = CounterMetricFamily(
            "statushub_status_changes",
            "applied status changes, by track and source",
            labels=["track", "source"],
        )
        outbox = GaugeMetricFamily("statushub_outbox_depth", "outbox items neither sent nor dead-lettered")
        held = GaugeMetricFamily(
            "statushub_held_messages",
            "inbound messages stored and answered, not yet folded into statuses (failed: set aside)",
            labels=["state"],
        )
        try:
            with reading(engine) as conn:
                for channel, direction, n in conn.execute(
                    select(Message.channel, Message.direction, func.count()).group_by(
                        Message.channel, Message.direction
                    )
                ):
                    messages.add_metric([channel, direction], n)
                by_kind: dict[tuple[str, str], int] = {}
                for track, source, n in conn.execute(
                    select(StatusChange.track, StatusChange.source, func.count())
                    .where(StatusChange.applied.is_(True))
                    .group_by(StatusChange.track, StatusChange.source)
                ):
                    key = (track, source.partition(":")[0])  # `time:<rule name>` counts as `time`
                    by_kind[key] = by_kind.get(key, 0) + n
                for labels, n in by_kind.items():
                    changes.add_metric(list(labels), n)
                outbox.add_metric(
                    [],
                    conn.execute(
                        select(func.count())
                        .select_from(OutboxItem)
                        .where(OutboxItem.sent_at.is_(None), OutboxItem.dead_at.is_(None))
                    ).scalar_one(),
                )
                for state, n in held_counts(conn).items():
                    held.add_metric([state], n)
        except Exception:  # a scrape must answer even when the database does not
            return
        yield messages
        yield changes
        yield outbox
        yield held


def init_metrics(app: Flask) -> None:
    registry = CollectorRegistry(auto_describe=False)
    requests = Counter(
        "statushub_http_requests",
        "HTTP requests by route and status",
        ["route", "method", "status"],
        registry=registry,
    )
    latency = Histogram(
        "statushub_http_request_seconds", "request time by route", ["route"], registry=registry
    )
    registry.register(DatabaseCollector(app))
    app.extensions["statushub_metrics"] = registry

    @app.before_request
    def started():
        g.metrics_started = time.perf_counter()

    # Each (route, method, status) looks its two series up once: `labels()` takes a lock and builds
    # a key on every call, on every webhook. The keys come from fixed sets, so this stays small.
    series: dict[tuple[str, str, int], tuple] = {}

    def record(route: str, method: str, status: int, seconds: float | None) -> None:
        key = (route, method if method in METHODS else "other", status)
        found = series.get(key)
        if found is None:
            found = series[key] = (requests.labels(key[0], key[1], str(key[2])), latency.labels(key[0]))
        found[0].inc()
        if seconds is not None:
            found[1].observe(seconds)

    @app.after_request
    def count(response):
        rule = request.url_rule
        started = g.get("metrics_started")
        record(
            rule.rule if rule is not None else "unmatched",
            request.method,
            response.status_code,
            None if started is None else time.perf_counter() - started,
        )
        return response

    app.extensions["statushub_lane"].count = record  # what the webhook lane answers counts too

    token = app.extensions["statushub"].settings.metrics_token

    @app.get("/metrics")
    def metrics():
        if token is not None:
            scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), token.encode()):
                answer, status = error_response(
                    401, "unauthorized", "send Authorization: Bearer <STATUSHUB_METRICS_TOKEN>"
                )
                answer.headers["WWW-Authenticate"] = "Bearer"
                return answer, status
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

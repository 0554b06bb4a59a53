"""The REST API at /api/v1 (SPEC §5), its OpenAPI document and the Prometheus metrics."""

from __future__ import annotations

from flask import Flask, jsonify


def routes() -> list:
    """Every API route's declaration; importing the route modules registers them (once per process)."""
    from plugin.app.api import (  # noqa: F401
        customers,
        events,
        intents,
        messages,
        reports,
        statuses,
        time_rules,
        tokens,
    )
    from plugin.app.api.endpoint import ROUTES

    return ROUTES


def init_app(app: Flask) -> None:
    from plugin.app.api.endpoint import bp
    from plugin.app.api.metrics import init_metrics
    from plugin.app.api.openapi import build_spec

    routes()
    app.register_blueprint(bp)
    init_metrics(app)
    document = build_spec()

    @app.get("/openapi.json")
    def openapi():
        return jsonify(document)

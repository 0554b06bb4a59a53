"""Liveness and readiness for load balancers (SPEC §5)."""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify

from plugin.store.db import ping

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    from plugin.app import hub
    from plugin.app.settings import delivery_reports

    # Whether Twilio is asked for delivery reports is part of being ready: without them sent messages
    # stay `queued` forever, which nobody notices until a customer complains (SPEC §11).
    reports = delivery_reports(hub().settings)
    try:
        ping(hub().engine)
    except Exception:
        return jsonify(
            status="unavailable",
            error={"code": "database_unavailable", "message": "the database does not answer"},
            **reports,
        ), 503
    return jsonify(status="ok", **reports)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

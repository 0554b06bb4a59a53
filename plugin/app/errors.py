"""Errors over HTTP: one JSON shape, `{"error": {"code", "message", "details"}}` (SPEC §5)."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from plugin.domain.errors import StatushubError

log = logging.getLogger("statushub.http")


def error_response(status: int, code: str, message: str, details: dict | None = None):
    return jsonify(error={"code": code, "message": message, "details": details or {}}), status


def init_app(app: Flask) -> None:
    @app.errorhandler(StatushubError)
    def domain_error(exc: StatushubError):
        return error_response(exc.http_status, exc.code, exc.message, exc.details())

    @app.errorhandler(413)
    def too_large(_exc):
        return error_response(413, "body_too_large", "the body is over 1 MiB")

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def database_down(exc):
        # Answer 503 so the provider retries: nothing was acknowledged, nothing is lost.
        log.error("database error", extra={"error": type(exc).__name__})
        return error_response(503, "database_unavailable", "the database is unavailable; retry later")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return error_response(
            exc.code or 500,
            (exc.name or "error").lower().replace(" ", "_"),
            exc.description or exc.name or "error",
        )

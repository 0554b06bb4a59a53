"""The web console at /console/ (SPEC §10): server-rendered pages over the same core and roles as /api/v1."""

from __future__ import annotations

import logging
import secrets

from flask import Blueprint, Flask, render_template, request
from werkzeug.exceptions import HTTPException

from plugin.domain.errors import StatushubError, UnknownCustomer

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
log = logging.getLogger("statushub.console")
MAX_ID = 2**53  # as the API's: larger ids cannot exist, and would overflow the database's integers
# The console's own stylesheet and script only: no inline script, no other origin, no framing. Inline
# style attributes stay allowed (a status's colour is set on its badge as a CSS variable).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)


def init_app(app: Flask) -> None:
    from plugin.app.console import (  # noqa: F401  (each module adds its routes to bp)
        auth,
        views_alerts,
        views_board,
        views_customer,
        views_intents,
        views_reports,
        views_statuses,
    )

    if not app.secret_key:
        configured = app.extensions["statushub"].settings.secret_key
        # Without STATUSHUB_SECRET_KEY every process signs with its own random key: sessions then
        # neither survive a restart nor span gunicorn workers. Production sets the variable.
        app.secret_key = configured or secrets.token_hex(32)
        if not configured:
            log.warning("STATUSHUB_SECRET_KEY is unset: console sessions are per process")
    auth.configure_sessions(app)
    if "console" not in app.blueprints:
        app.register_blueprint(bp)


@bp.after_request
def protective_headers(response):
    """Every console answer: never framed (clickjacking), its policy, and, but for the static files,
    never cached (a shared or back-button cache would show customers' data after sign-out)."""
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.url_value_preprocessor
def bounded_ids(_endpoint: str | None, values: dict | None) -> None:
    for name, value in (values or {}).items():
        if isinstance(value, int) and value > MAX_ID:
            raise UnknownCustomer(f"no customer #{value} in this workspace", field=name)


@bp.errorhandler(StatushubError)
def domain_error(exc: StatushubError):
    """The one place the console turns a domain error into a page: what went wrong and what is valid."""
    return render_template(
        "error.html",
        title="Not allowed" if exc.http_status == 403 else "That did not work",
        message=exc.message,
        choices=exc.choices,
        suggestion=exc.suggestion,
        status=exc.http_status,
    ), exc.http_status


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    titles = {403: "Admins only", 404: "Not found", 400: "Refused"}
    return render_template(
        "error.html",
        title=titles.get(exc.code or 500, exc.name),
        message=exc.description or exc.name,
        choices=[],
        suggestion=None,
        status=exc.code,
    ), exc.code or 500

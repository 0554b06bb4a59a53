"""Console sign-in: an API token becomes a server-side session named by a signed cookie; every form
carries a CSRF token. Signing out ends the session on the server, so a copied cookie stops working;
failed sign-ins are logged and limited per client address (SPEC §10, §12)."""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from functools import wraps

from flask import Flask, abort, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import Connection

from plugin.app.console import bp, log
from plugin.domain.clock import utcnow
from plugin.store.db import reading, transaction
from plugin.workspace.context import CommandContext, command_context
from plugin.workspace.signins import (
    end_session,
    record_failed_signin,
    session_owner,
    signin_limited,
    start_session,
)
from plugin.workspace.workspaces import authenticate_token, require_admin

OPEN_ENDPOINTS = {"console.signin", "console.static"}


class ConsoleSessions(SecureCookieSessionInterface):
    """Flask's signed cookie, marked Secure exactly when the request came over https. Only the
    console has sessions: every other route (webhooks, the API) gets Flask's null session without a
    cookie being read or a serializer built, and nothing is saved for it."""

    def open_session(self, app: Flask, request):
        path = self.get_cookie_path(app)
        if not request.path.startswith(path):
            return None  # Flask then makes its null session, which is never saved
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or bool(app.config.get("SESSION_COOKIE_SECURE"))


def configure_sessions(app: Flask) -> None:
    if app.config.get("SESSION_COOKIE_NAME") in (None, "session"):
        app.config["SESSION_COOKIE_NAME"] = "statushub_console"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_PATH"] = app.config.get("SESSION_COOKIE_PATH") or "/console"
    app.session_interface = ConsoleSessions()


@dataclass(frozen=True)
class Visitor:
    workspace_id: int
    token_id: int
    name: str
    role: str

    @property
    def actor(self) -> str:
        return f"console:{self.name}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def engine():
    from plugin.app import hub

    return hub().engine


FRESH_FOR = 5.0  # seconds after a visitor's change during which their pages read the primary


def read_engine():
    """Where console pages read: the replica (STATUSHUB_READ_DATABASE_URL) when there is one, except
    for a few seconds after this visitor changed something, so they see their own change at once
    however far the replica lags (SPEC §8)."""
    from plugin.app import hub

    if session.get("fresh_until", 0) > time.time():
        return hub().engine
    return hub().replica


@bp.after_request
def remember_own_change(response):
    if request.method == "POST" and response.status_code < 400 and "sid" in session:
        session["fresh_until"] = time.time() + FRESH_FOR
    return response


def command(conn: Connection) -> CommandContext:
    """The signed-in visitor's command context in `conn`'s unit of work, built once per request."""
    me = visitor()
    return command_context(conn, me.workspace_id, me.actor)


@bp.before_request
def guard():
    """Refuses forms without the session's CSRF token, and pages without a live sign-in."""
    if request.method == "POST":
        sent = request.form.get("csrf", "")
        expected = session.get("csrf", "")
        if not sent or not expected or not hmac.compare_digest(sent, expected):
            abort(400, "this form has expired or did not come from the console; reload the page and retry")
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    session_id, workspace_id = session.get("sid"), session.get("workspace_id")
    if not isinstance(session_id, str) or not isinstance(workspace_id, int):
        return redirect(url_for("console.signin", next=request.full_path))
    with reading(engine()) as conn:
        owner = session_owner(conn, workspace_id, session_id, utcnow())
    if owner is None:
        # Signed out (this cookie may be a copy), expired, or its token revoked.
        session.clear()
        return redirect(url_for("console.signin"))
    g.visitor = Visitor(workspace_id, owner.token_id, owner.name, owner.role)
    return None


def visitor() -> Visitor:
    return g.visitor


def safe_back(target: str | None, default: str) -> str:
    """Only ever redirect within the console."""
    if target and target.startswith("/console/") and not target.startswith("//"):
        return target
    return default


def admin_only(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        require_admin(visitor().role)
        return view(*args, **kwargs)

    return wrapper


@bp.app_context_processor
def console_context():
    return {"csrf_token": csrf_token, "visitor": g.get("visitor")}


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    if request.method == "GET":
        return render_template("signin.html", error=None)
    token = request.form.get("token", "").strip()
    client = request.remote_addr or "unknown"
    now = utcnow()
    with transaction(engine()) as conn:
        if signin_limited(conn, client, now):
            log.warning("console sign-in limited", extra={"client": client})
            error = "Too many failed sign-ins from your address: wait a minute, then try again."
            return render_template("signin.html", error=error), 429
        owner = authenticate_token(conn, token) if token and len(token) <= 200 else None
        if owner is None:
            record_failed_signin(conn, client, now)
        else:
            session_id = start_session(conn, owner, now)
    if owner is None:
        # A warning, so it reaches gunicorn's output without any logging set-up; never the token.
        log.warning("console sign-in refused", extra={"client": client, "reason": "unknown or revoked token"})
        error = "That token is unknown or revoked. Ask an admin for one (statushub token create)."
        return render_template("signin.html", error=error), 401
    session.clear()
    session.update(sid=session_id, workspace_id=owner.workspace_id, csrf=secrets.token_urlsafe(32))
    log.info("console sign-in", extra={"token_name": owner.name, "role": owner.role, "client": client})
    return redirect(safe_back(request.args.get("next"), url_for("console.board")))


@bp.post("/signout")
def signout():
    with transaction(engine()) as conn:
        end_session(conn, visitor().workspace_id, session["sid"])
    session.clear()
    return redirect(url_for("console.signin"))

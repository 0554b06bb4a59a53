"""Console sign-in: an API token becomes a signed session cookie; every form carries a CSRF token."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from functools import wraps

from flask import Flask, abort, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import Connection, select

from plugin.app.console import bp, log
from plugin.store.db import reading
from plugin.store.schema import ApiToken
from plugin.workspace.context import CommandContext, command_context
from plugin.workspace.workspaces import authenticate_token, require_admin

OPEN_ENDPOINTS = {"console.signin", "console.static"}


class ConsoleSessions(SecureCookieSessionInterface):
    """Flask's signed cookie, marked Secure exactly when the request came over https."""

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
    token_id = session.get("token_id")
    if token_id is None:
        return redirect(url_for("console.signin", next=request.full_path))
    with reading(engine()) as conn:
        live = conn.execute(
            select(ApiToken.role).where(
                ApiToken.id == token_id,
                ApiToken.workspace_id == session.get("workspace_id"),
                ApiToken.revoked_at.is_(None),
            )
        ).first()
    if live is None:
        # A revoked token signs its console sessions out too.
        session.clear()
        return redirect(url_for("console.signin"))
    g.visitor = Visitor(session["workspace_id"], token_id, session["name"], live.role)
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
    error = None
    if request.method == "POST":
        token = request.form.get("token", "").strip()
        owner = None
        if token:
            with reading(engine()) as conn:
                owner = authenticate_token(conn, token)
        if owner is None:
            error = "That token is unknown or revoked. Ask an admin for one (statushub token create)."
            log.info("console sign-in refused")
        else:
            session.clear()
            session.update(
                token_id=owner.token_id,
                workspace_id=owner.workspace_id,
                name=owner.name,
                csrf=secrets.token_urlsafe(32),
            )
            log.info("console sign-in", extra={"token_name": owner.name, "role": owner.role})
            return redirect(safe_back(request.args.get("next"), url_for("console.board")))
    return render_template("signin.html", error=error), 401 if error else 200


@bp.post("/signout")
def signout():
    session.clear()
    return redirect(url_for("console.signin"))

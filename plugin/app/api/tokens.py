"""Admin-only workspace administration over the API: tokens, Slack admins, settings."""

from __future__ import annotations

import zoneinfo

from sqlalchemy import delete, select, update

from plugin.app.api import admin_schemas as s
from plugin.app.api.endpoint import Call, route
from plugin.app.api.schemas import Ok
from plugin.domain.clock import aware, utcnow
from plugin.domain.errors import NotFound, StatushubError
from plugin.store.schema import ApiToken, SlackAdmin, Workspace
from plugin.workspace.credentials import FIELDS as CREDENTIALS
from plugin.workspace.credentials import change_credentials, credentials_shown
from plugin.workspace.twilio_senders import senders
from plugin.workspace.workspaces import add_admin, create_token, revoke_token

TAGS = ("admin",)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _token(row) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "role": row.role,
        "created_at": aware(row.created_at).isoformat(),
        "revoked": row.revoked_at is not None,
    }


@route(
    "/tokens",
    "GET",
    summary="The workspace's API tokens (never the secrets)",
    role="admin",
    response=s.TokenList,
    tags=TAGS,
)
def list_tokens(call: Call):
    rows = call.conn.execute(
        select(ApiToken).where(ApiToken.workspace_id == call.owner.workspace_id).order_by(ApiToken.id)
    ).all()
    return {"items": [_token(r) for r in rows]}


@route(
    "/tokens",
    "POST",
    summary="Create a token; the answer shows it once",
    role="admin",
    status=201,
    body=s.TokenCreate,
    response=s.TokenCreated,
    write=True,
    idempotent=True,
    secrets=("token",),
    tags=TAGS,
)
def create(call: Call):
    token_id, token = create_token(
        call.conn, call.owner.workspace_id, call.body["role"], call.body.get("name"), utcnow()
    )
    row = call.conn.execute(select(ApiToken).where(ApiToken.id == token_id)).one()
    return _token(row) | {"token": token}


@route(
    "/tokens/<name>",
    "DELETE",
    summary="Revoke a token at once",
    role="admin",
    response=Ok,
    write=True,
    tags=TAGS,
)
def revoke(call: Call, name: str):
    found = call.conn.execute(
        select(ApiToken.id).where(ApiToken.workspace_id == call.owner.workspace_id, ApiToken.name == name)
    ).first()
    if found is None:
        raise NotFound(f"no token named {name!r}", field="name")
    revoke_token(call.conn, call.owner.workspace_id, name, utcnow())
    return {"ok": True}


@route(
    "/slack-admins",
    "GET",
    summary="Slack users who act as admins",
    role="admin",
    response=s.AdminList,
    tags=TAGS,
)
def list_admins(call: Call):
    rows = call.conn.execute(
        select(SlackAdmin.user_id)
        .where(SlackAdmin.workspace_id == call.owner.workspace_id)
        .order_by(SlackAdmin.user_id)
    ).scalars()
    return {"items": list(rows)}


@route(
    "/slack-admins",
    "POST",
    summary="Make a Slack user an admin",
    role="admin",
    status=201,
    body=s.AdminCreate,
    response=s.AdminList,
    write=True,
    idempotent=True,
    tags=TAGS,
)
def add(call: Call):
    add_admin(call.conn, call.owner.workspace_id, call.body["user_id"])
    return list_admins(call)


@route(
    "/slack-admins/<user_id>",
    "DELETE",
    summary="A Slack user is an agent again",
    role="admin",
    response=s.AdminList,
    write=True,
    tags=TAGS,
)
def remove(call: Call, user_id: str):
    done = call.conn.execute(
        delete(SlackAdmin).where(
            SlackAdmin.workspace_id == call.owner.workspace_id, SlackAdmin.user_id == user_id
        )
    ).rowcount
    if not done:
        raise NotFound(f"{user_id!r} is not an admin", field="user_id")
    return list_admins(call)


def _settings(call: Call) -> dict:
    row = call.conn.execute(
        select(Workspace.alert_channel, Workspace.settings).where(Workspace.id == call.owner.workspace_id)
    ).one()
    stored = row.settings or {}
    out = {"alert_channel": row.alert_channel}
    for name in ("time_zone", "business_hours", "sms_auto_reply", "nudge_after_minutes", "followup_days"):
        if name in stored:
            out[name] = stored[name]
    ws = call.owner.workspace_id
    return out | credentials_shown(call.conn, ws) | {"twilio_senders": senders(call.conn, ws)}


@route(
    "/settings",
    "GET",
    summary="Alert channel, business hours and time zone, SMS auto reply, channel credentials (secrets only as set)",
    role="admin",
    response=s.SettingsShown,
    tags=TAGS,
)
def get_settings(call: Call):
    return _settings(call)


@route(
    "/settings",
    "PATCH",
    summary="Change workspace settings and channel credentials (secrets are write-only)",
    role="admin",
    body=s.SettingsPatch,
    response=s.SettingsShown,
    write=True,
    tags=TAGS,
)
def patch_settings(call: Call):
    body = dict(call.body)
    if "time_zone" in body:
        try:
            zoneinfo.ZoneInfo(body["time_zone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise StatushubError(
                f"unknown time zone {body['time_zone']!r} (like America/New_York)", field="time_zone"
            ) from None
    for day, hours in (body.get("business_hours") or {}).items():
        start, _, end = hours.partition("-")
        if day not in DAYS or not (_hhmm(start) and _hhmm(end) and start < end):
            raise StatushubError(
                "business_hours maps mon..sun to HH:MM-HH:MM", field="business_hours", choices=list(DAYS)
            )
    ws = call.owner.workspace_id
    change_credentials(call.conn, ws, {name: body.pop(name) for name in list(body) if name in CREDENTIALS})
    if "alert_channel" in body:
        call.conn.execute(
            update(Workspace)
            .where(Workspace.id == ws)
            .values(alert_channel=body.pop("alert_channel") or None)
        )
    if body:
        stored = dict(
            call.conn.execute(select(Workspace.settings).where(Workspace.id == ws)).scalar_one() or {}
        )
        stored.update(body)
        call.conn.execute(update(Workspace).where(Workspace.id == ws).values(settings=stored))
    return _settings(call)


def _hhmm(text: str) -> bool:
    hh, sep, mm = text.partition(":")
    return (
        bool(sep)
        and hh.isdigit()
        and mm.isdigit()
        and len(hh) == 2
        and len(mm) == 2
        and int(hh) < 24
        and int(mm) < 60
    )

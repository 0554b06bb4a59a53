"""A workspace's channel credentials, changed after creation (a leaked token rotated, a Slack app
reinstalled) and shown back only as "set" (SPEC §11): secrets are write-only."""

from __future__ import annotations

import re

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from plugin.domain.errors import Conflict, StatushubError
from plugin.store.schema import Workspace, table_of

W = table_of(Workspace)
ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
SLACK_TEAM = re.compile(r"[TE][A-Z0-9]{2,31}")
# {field: (column, secret, check, what a valid value looks like)}
FIELDS = {
    "twilio_account_sid": ("twilio_account_sid", False, ACCOUNT_SID, "AC followed by 32 hex digits"),
    "twilio_auth_token": (
        "twilio_auth_token",
        True,
        re.compile(r"\S{8,128}"),
        "8 to 128 characters, no spaces",
    ),
    "webchat_secret": ("webchat_secret", True, re.compile(r"\S{8,128}"), "8 to 128 characters, no spaces"),
    "slack_team": ("slack_team_id", False, SLACK_TEAM, "a Slack team id like T012AB3CD"),
    "slack_bot_token": ("slack_bot_token", True, re.compile(r"xoxb-\S{1,250}"), "a bot token starting xoxb-"),
}
SECRETS = tuple(name for name, (_, secret, _, _) in FIELDS.items() if secret)


def change_credentials(conn: Connection, workspace_id: int, changes: dict[str, str | None]) -> list[str]:
    """Sets (or, with None or "", clears) the named credentials; returns the names changed. Every value
    is checked before anything is written, so a mistake changes nothing."""
    values: dict[str, str | None] = {}
    for name, value in changes.items():
        if name not in FIELDS:
            raise StatushubError(f"unknown credential {name!r}", field=name, choices=sorted(FIELDS))
        column, _, check, looks = FIELDS[name]
        value = (value or "").strip() or None
        if value is not None and not check.fullmatch(value):
            raise StatushubError(f"{name} must be {looks}", field=name)
        values[column] = value
    if not values:
        return []
    try:
        with conn.begin_nested():
            conn.execute(update(W).where(W.c.id == workspace_id).values(**values))
    except IntegrityError:
        raise Conflict("another workspace is installed in that Slack team", field="slack_team") from None
    return list(changes)


def credentials_shown(conn: Connection, workspace_id: int) -> dict:
    """What may be shown of the credentials: identifiers as they are, secrets only as set or not."""
    row = conn.execute(
        select(*(W.c[column] for column, _, _, _ in FIELDS.values())).where(W.c.id == workspace_id)
    ).one()
    shown: dict = {}
    for (name, (_, secret, _, _)), value in zip(FIELDS.items(), row, strict=True):
        if secret:
            shown[f"{name}_set"] = value is not None
        else:
            shown[name] = value
    return shown

"""Workspaces (one business each), their API tokens and their Slack admins (SPEC §2, §5, §6)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from plugin.domain.errors import Conflict, NotAllowed, StatushubError, UnknownWorkspace
from plugin.domain.templates import DEFAULT_TEMPLATE, TEMPLATES, tracks_for
from plugin.store.schema import (
    ApiToken,
    OutcomeMapping,
    SlackAdmin,
    Status,
    Track,
    TwilioSender,
    Workspace,
    WorkspacePack,
)

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
ROLES = ("agent", "admin")
DEFAULT_PACKS = ("sales_en", "sales_es", "sales_th")  # one workspace serves all three languages


@dataclass(frozen=True)
class WorkspaceRow:
    id: int
    slug: str
    name: str
    template: str
    default_region: str
    catalog_version: int


def create_workspace(
    conn: Connection,
    slug: str,
    *,
    name: str | None = None,
    template: str = DEFAULT_TEMPLATE,
    default_region: str = "US",
    twilio_account_sid: str | None = None,
    twilio_auth_token: str | None = None,
    twilio_number: str | None = None,
    webchat_secret: str | None = None,
    slack_team: str | None = None,
    slack_bot_token: str | None = None,
    alert_channel: str | None = None,
    now: datetime,
) -> int:
    """Adds a business with the four built-in tracks, the stage template and its defaults."""
    if not SLUG.match(slug or ""):
        raise StatushubError(
            f"workspace slug {slug!r} must be lowercase letters, digits and dashes", field="slug"
        )
    if template not in TEMPLATES:
        raise StatushubError(f"unknown template {template!r}", choices=sorted(TEMPLATES), field="template")
    region = (default_region or "US").upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise StatushubError(
            f"unknown region {default_region!r} (use a two-letter country code like US)",
            field="default_region",
        )
    number = None
    if twilio_number:
        try:
            parsed = phonenumbers.parse(twilio_number, region)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is None or not phonenumbers.is_possible_number(parsed):
            raise StatushubError(f"{twilio_number!r} is not a phone number", field="twilio_number")
        number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if bool(twilio_account_sid) != bool(twilio_auth_token):
        raise StatushubError(
            "give both --twilio-account-sid and --twilio-auth-token", field="twilio_auth_token"
        )
    try:
        with conn.begin_nested():
            ws = conn.execute(
                insert(Workspace).returning(Workspace.id),
                {
                    "slug": slug,
                    "name": name or slug,
                    "template": template,
                    "default_region": region,
                    "twilio_account_sid": twilio_account_sid,
                    "twilio_auth_token": twilio_auth_token,
                    "twilio_number": number,
                    "webchat_secret": webchat_secret,
                    "slack_team_id": slack_team,
                    "slack_bot_token": slack_bot_token,
                    "alert_channel": alert_channel,
                    "settings": {},
                    "catalog_version": 1,
                    "created_at": now,
                },
            ).scalar_one()
            if number:
                conn.execute(
                    insert(TwilioSender),
                    {"workspace_id": ws, "sender": number, "kind": "number", "created_at": now},
                )
    except IntegrityError:
        raise Conflict(
            f"a workspace already uses slug {slug!r}, that Twilio number or that Slack team", field="slug"
        ) from None
    for t_pos, track in enumerate(tracks_for(template)):
        track_id = conn.execute(
            insert(Track).returning(Track.id),
            {
                "workspace_id": ws,
                "key": track.key,
                "label": track.label,
                "position": t_pos,
                "manual": track.manual,
            },
        ).scalar_one()
        conn.execute(
            insert(Status),
            [
                {
                    "workspace_id": ws,
                    "track_id": track_id,
                    "key": s.key,
                    "label": s.label,
                    "emoji": s.emoji,
                    "color": s.color,
                    "description": s.description,
                    "position": pos,
                    "automation": s.automation,
                    "alert": s.alert,
                    "terminal": s.terminal,
                }
                for pos, s in enumerate(track.statuses)
            ],
        )
    mapping = TEMPLATES[template].outcome_map
    if mapping:
        conn.execute(
            insert(OutcomeMapping),
            [
                {"workspace_id": ws, "outcome": outcome, "track": "stage", "status": status}
                for outcome, status in mapping.items()
            ],
        )
    conn.execute(
        insert(WorkspacePack),
        [{"workspace_id": ws, "pack": pack, "position": i} for i, pack in enumerate(DEFAULT_PACKS)],
    )
    return ws


def get_workspace(conn: Connection, slug: str | None) -> WorkspaceRow:
    """The workspace named by slug; with no slug, the only one there is (SPEC §7)."""
    cols = (
        Workspace.id,
        Workspace.slug,
        Workspace.name,
        Workspace.template,
        Workspace.default_region,
        Workspace.catalog_version,
    )
    if slug:
        row = conn.execute(select(*cols).where(Workspace.slug == slug)).first()
        if row is None:
            known = conn.execute(select(Workspace.slug).order_by(Workspace.slug).limit(20)).scalars().all()
            raise UnknownWorkspace(f"no workspace {slug!r}", choices=list(known), field="workspace")
        return WorkspaceRow(*row)
    rows = conn.execute(select(*cols).order_by(Workspace.id).limit(2)).all()
    if len(rows) == 1:
        return WorkspaceRow(*rows[0])
    if not rows:
        raise UnknownWorkspace(
            "there is no workspace yet: run `statushub workspace create SLUG`", field="workspace"
        )
    known = conn.execute(select(Workspace.slug).order_by(Workspace.slug).limit(20)).scalars().all()
    raise UnknownWorkspace(
        "there are several workspaces: pass --workspace (or set STATUSHUB_WORKSPACE)",
        choices=list(known),
        field="workspace",
    )


def bump_catalog(conn: Connection, workspace_id: int) -> None:
    conn.execute(
        update(Workspace)
        .where(Workspace.id == workspace_id)
        .values(catalog_version=Workspace.catalog_version + 1)
    )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    conn: Connection, workspace_id: int, role: str, name: str | None, now: datetime
) -> tuple[int, str]:
    """A new API token: returned once, only its hash is stored."""
    if role not in ROLES:
        raise StatushubError(f"role must be one of {', '.join(ROLES)}", choices=list(ROLES), field="role")
    token = "shub_" + secrets.token_urlsafe(32)
    if not name:
        count = conn.execute(
            select(func.count()).select_from(ApiToken).where(ApiToken.workspace_id == workspace_id)
        ).scalar_one()
        name = f"{role}-{count + 1}"
    try:
        with conn.begin_nested():
            token_id = conn.execute(
                insert(ApiToken).returning(ApiToken.id),
                {
                    "workspace_id": workspace_id,
                    "name": name,
                    "role": role,
                    "token_hash": hash_token(token),
                    "created_at": now,
                },
            ).scalar_one()
    except IntegrityError:
        raise Conflict(f"a token named {name!r} already exists in this workspace", field="name") from None
    return token_id, token


@dataclass(frozen=True)
class TokenOwner:
    workspace_id: int
    token_id: int
    name: str
    role: str


def authenticate_token(conn: Connection, token: str) -> TokenOwner | None:
    row = conn.execute(
        select(ApiToken.workspace_id, ApiToken.id, ApiToken.name, ApiToken.role).where(
            ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None)
        )
    ).first()
    return TokenOwner(*row) if row else None


def revoke_token(conn: Connection, workspace_id: int, name: str, now: datetime) -> None:
    done = conn.execute(
        update(ApiToken)
        .where(ApiToken.workspace_id == workspace_id, ApiToken.name == name, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    if not done:
        raise StatushubError(f"no active token named {name!r}", field="name")


def add_admin(conn: Connection, workspace_id: int, user_id: str) -> None:
    if not re.match(r"^[UW][A-Z0-9]{2,}$", user_id or ""):
        raise StatushubError(f"{user_id!r} is not a Slack user id (like U012AB3CD)", field="user_id")
    exists = conn.execute(
        select(SlackAdmin.user_id).where(
            SlackAdmin.workspace_id == workspace_id, SlackAdmin.user_id == user_id
        )
    ).first()
    if not exists:
        conn.execute(insert(SlackAdmin), {"workspace_id": workspace_id, "user_id": user_id})


def is_admin(conn: Connection, workspace_id: int, user_id: str) -> bool:
    return (
        conn.execute(
            select(SlackAdmin.user_id).where(
                SlackAdmin.workspace_id == workspace_id, SlackAdmin.user_id == user_id
            )
        ).first()
        is not None
    )


def require_admin(role: str) -> None:
    if role != "admin":
        raise NotAllowed("only admins can change status lists, rules, tokens and settings; ask an admin")


def list_admins(conn: Connection, workspace_id: int) -> list[str]:
    return list(
        conn.execute(
            select(SlackAdmin.user_id)
            .where(SlackAdmin.workspace_id == workspace_id)
            .order_by(SlackAdmin.user_id)
        ).scalars()
    )


def remove_admin(conn: Connection, workspace_id: int, user_id: str) -> None:
    from sqlalchemy import delete

    gone = conn.execute(
        delete(SlackAdmin).where(SlackAdmin.workspace_id == workspace_id, SlackAdmin.user_id == user_id)
    ).rowcount
    if not gone:
        raise StatushubError(f"{user_id!r} is not an admin of this workspace", field="user_id")

"""Console sign-ins kept on the server (SPEC §12): sessions that signing out ends, and failed attempts
that limit a client address for a minute, in the database so every process sees the same."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select

from plugin.store.schema import ApiToken, ConsoleSession, SigninFailure, table_of
from plugin.workspace.workspaces import TokenOwner

S, F, T = table_of(ConsoleSession), table_of(SigninFailure), table_of(ApiToken)
SESSION_LIFETIME = timedelta(days=7)
FAILURES_ALLOWED = 10  # per client address in any minute; further attempts wait for it to pass
FAILURE_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class SessionOwner:
    token_id: int
    name: str
    role: str


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(conn: Connection, owner: TokenOwner, now: datetime) -> str:
    """A new session for the token's owner; returns its id (the cookie's), stored only as a hash.
    The workspace's expired sessions are removed on the way."""
    conn.execute(
        delete(S).where(S.c.workspace_id == owner.workspace_id, S.c.created_at < now - SESSION_LIFETIME)
    )
    session_id = secrets.token_urlsafe(32)
    conn.execute(
        insert(S).values(
            workspace_id=owner.workspace_id,
            id_hash=_hash(session_id),
            token_id=owner.token_id,
            created_at=now,
        )
    )
    return session_id


def session_owner(conn: Connection, workspace_id: int, session_id: str, now: datetime) -> SessionOwner | None:
    """Who the session belongs to; None once it was ended, has expired or its token was revoked."""
    row = conn.execute(
        select(T.c.id, T.c.name, T.c.role)
        .select_from(S.join(T, T.c.id == S.c.token_id))
        .where(
            S.c.workspace_id == workspace_id,
            S.c.id_hash == _hash(session_id),
            S.c.created_at >= now - SESSION_LIFETIME,
            T.c.workspace_id == workspace_id,
            T.c.revoked_at.is_(None),
        )
    ).first()
    return SessionOwner(*row) if row else None


def end_session(conn: Connection, workspace_id: int, session_id: str) -> None:
    conn.execute(delete(S).where(S.c.workspace_id == workspace_id, S.c.id_hash == _hash(session_id)))


def signin_limited(conn: Connection, client: str, now: datetime) -> bool:
    """True when `client` failed FAILURES_ALLOWED sign-ins within the last minute."""
    failures = conn.execute(
        select(func.count()).select_from(F).where(F.c.client == client[:64], F.c.at > now - FAILURE_WINDOW)
    ).scalar_one()
    return failures >= FAILURES_ALLOWED


def record_failed_signin(conn: Connection, client: str, now: datetime) -> None:
    """Counts a failed sign-in for `client`; failures older than the window are forgotten."""
    conn.execute(delete(F).where(F.c.at <= now - FAILURE_WINDOW))
    conn.execute(insert(F).values(client=client[:64], at=now))

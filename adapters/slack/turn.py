"""One Slack request against the store: the workspace, its catalog, the acting user, one transaction,
and the one place domain errors become an ephemeral hint (STYLE §5)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from adapters.slack import blocks
from adapters.slack.grammar import Misunderstood
from plugin.app import hub
from plugin.customers.naming import resolve_customer
from plugin.domain.catalog import Catalog
from plugin.domain.clock import utcnow
from plugin.domain.errors import StatushubError, UnknownWorkspace
from plugin.domain.fold import Classifier
from plugin.store.db import transaction
from plugin.store.idempotency import remember, remembered
from plugin.store.schema import Identity, Workspace
from plugin.workspace.catalog import load_catalog
from plugin.workspace.intents import classifier_for

log = logging.getLogger("statushub.slack")
ID = Identity.__table__


@dataclass
class Turn:
    conn: Connection
    workspace_id: int
    team_id: str
    region: str
    catalog: Catalog
    user_id: str
    now: datetime

    @property
    def actor(self) -> str:
        return f"slack:{self.team_id}/{self.user_id}"

    @property
    def classify(self) -> Classifier:
        return classifier_for(self.conn, self.catalog)

    def find_customer(self, ref: str) -> int:
        return resolve_customer(self.conn, self.workspace_id, ref, self.region)

    def channel_identity(self, channel_id: str) -> str:
        """A channel linked to one customer (Slack Connect) is that customer's identity."""
        return f"slack:{self.team_id}/{channel_id}"

    def linked_customer(self, channel_id: str | None) -> int | None:
        if not channel_id:
            return None
        return self.conn.execute(
            select(ID.c.customer_id).where(
                ID.c.workspace_id == self.workspace_id, ID.c.value == self.channel_identity(channel_id)
            )
        ).scalar()

    def seen(self, scope: str, key: str) -> bool:
        """True when this delivery was handled before; otherwise remembers it in this transaction."""
        if remembered(self.conn, self.workspace_id, scope, key) is not None:
            return True
        remember(self.conn, self.workspace_id, scope, key, 200, "", self.now)
        return False


def open_turn(conn: Connection, team_id: str | None, user_id: str) -> Turn:
    row = conn.execute(
        select(Workspace.id, Workspace.default_region, Workspace.catalog_version).where(
            Workspace.slack_team_id == (team_id or "")
        )
    ).first()
    if row is None:
        raise UnknownWorkspace("this Slack team is not connected to a statushub workspace")
    catalog = load_catalog(conn, row.id, row.catalog_version)
    return Turn(conn, row.id, team_id or "", row.default_region, catalog, user_id, utcnow())


def answer(team_id: str | None, user_id: str, work: Callable[[Turn], list[dict]]) -> list[dict]:
    """Runs `work` in one transaction and returns its blocks; a domain error rolls the transaction back
    and answers a hint instead. Database errors propagate, so Slack gets a 5xx and retries."""
    try:
        with transaction(hub().engine) as conn:
            return work(open_turn(conn, team_id, user_id))
    except Misunderstood as exc:
        return blocks.mistake(exc, exc.understood)
    except StatushubError as exc:
        log.info("slack mistake", extra={"code": exc.code})
        return blocks.mistake(exc)


def fallback_text(found: list[dict]) -> str:
    """The notification text Slack wants beside blocks: the first section's text."""
    for block in found:
        text = block.get("text")
        if isinstance(text, dict):
            return text.get("text", "")[:300]
    return "statushub"

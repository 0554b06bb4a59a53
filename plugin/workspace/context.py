"""One command context: what every manual change needs, built once per request by each surface
(Slack, the API, the CLI, the console) — the unit of work's connection, the workspace's catalog, who
acts, the clock and the classifier (STYLE §2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from sqlalchemy import Connection

from plugin.domain.catalog import Catalog
from plugin.domain.clock import utcnow
from plugin.domain.fold import Classifier
from plugin.workspace.catalog import load_catalog
from plugin.workspace.intents import classifier_for


@dataclass
class CommandContext:
    conn: Connection
    catalog: Catalog
    actor: str
    now: datetime = field(default_factory=utcnow)
    region: str = "US"  # how phone numbers without a country code are read

    @property
    def workspace_id(self) -> int:
        return self.catalog.workspace_id

    @cached_property
    def classify(self) -> Classifier:
        """The workspace's classifier, built on first use (a manual change may replay messages)."""
        return classifier_for(self.conn, self.catalog)


def command_context(
    conn: Connection,
    workspace_id: int,
    actor: str,
    *,
    now: datetime | None = None,
    region: str = "US",
    catalog_version: int | None = None,
) -> CommandContext:
    """The context of one command in `conn`'s unit of work."""
    catalog = load_catalog(conn, workspace_id, catalog_version)
    return CommandContext(conn, catalog, actor, now or utcnow(), region)

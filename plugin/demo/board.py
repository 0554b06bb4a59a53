"""The status board: customers per status on every track, and the hot leads, highest priority first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from plugin.customers.queries import statuses_of
from plugin.customers.read_model import priority_queue
from plugin.customers.reports import customers_per_status
from plugin.domain.clock import aware
from plugin.workspace.catalog import load_catalog


@dataclass(frozen=True)
class Lead:
    id: int
    name: str
    reply: str
    waiting_since: datetime | None


@dataclass(frozen=True)
class Board:
    counts: dict[str, list[tuple[str, str, int]]]  # track → [(key, badge, customers)] in track order
    hot_leads: list[Lead]


def status_board(
    conn: Connection, workspace_id: int, lead_status: str = "hot_lead", limit: int = 10
) -> Board:
    catalog = load_catalog(conn, workspace_id)
    per_status = customers_per_status(conn, catalog)
    counts = {
        key: [(s.key, s.badge, per_status.get(s.id, 0)) for s in track.statuses if not s.archived]
        for key, track in catalog.tracks.items()
    }
    lead = catalog.status("stage", lead_status)
    leads: list[Lead] = []
    if lead is not None:
        rows = priority_queue(conn, catalog, lead, limit=limit)
        replies = statuses_of(conn, catalog, [r.id for r in rows])
        leads = [
            Lead(
                r.id,
                r.name,
                catalog.tracks["reply"].status(replies[r.id]["reply"]).badge,  # type: ignore[union-attr]
                aware(r.waiting_since) if r.waiting_since else None,
            )
            for r in rows
        ]
    return Board(counts, leads)


def board_lines(board: Board) -> list[str]:
    lines = []
    for track, statuses in board.counts.items():
        lines.append(f"{track}:")
        lines += [f"  {badge:<24} {count:>4}" for _, badge, count in statuses]
    lines.append("hot leads, highest priority first:")
    if not board.hot_leads:
        lines.append("  (none)")
    for lead in board.hot_leads:
        since = (
            f"waiting since {lead.waiting_since:%Y-%m-%d %H:%M} UTC" if lead.waiting_since else "not waiting"
        )
        lines.append(f"  #{lead.id:<5} {lead.name:<22} {lead.reply:<16} {since}")
    return lines

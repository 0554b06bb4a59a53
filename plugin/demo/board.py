"""The status board: customers per status on every track, and the hot leads, highest priority first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from plugin.domain.clock import aware
from plugin.store.schema import Customer, CustomerStatus
from plugin.workspace.catalog import load_catalog

C, CS = Customer.__table__, CustomerStatus.__table__


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
    per_status = {
        status_id: count
        for status_id, count in conn.execute(
            select(CS.c.status_id, func.count())
            .where(CS.c.workspace_id == workspace_id)
            .group_by(CS.c.status_id)
        )
    }
    counts = {
        key: [(s.key, s.badge, per_status.get(s.id, 0)) for s in track.statuses if not s.archived]
        for key, track in catalog.tracks.items()
    }
    lead = catalog.status("stage", lead_status)
    leads: list[Lead] = []
    if lead is not None:
        stage, reply = catalog.tracks["stage"], catalog.tracks["reply"]
        on_reply = CS.alias("on_reply")
        rows = conn.execute(
            select(C.c.id, C.c.name, C.c.waiting_since, on_reply.c.status_id)
            .join(CS, (CS.c.workspace_id == C.c.workspace_id) & (CS.c.customer_id == C.c.id))
            .join(
                on_reply,
                (on_reply.c.workspace_id == C.c.workspace_id)
                & (on_reply.c.customer_id == C.c.id)
                & (on_reply.c.track_id == reply.id),
            )
            .where(C.c.workspace_id == workspace_id, CS.c.track_id == stage.id, CS.c.status_id == lead.id)
            .order_by(
                C.c.priority_open.desc(),
                C.c.priority_rank.desc(),
                C.c.waiting_since.is_(None),
                C.c.waiting_since,
                C.c.id,
            )
            .limit(limit)
        )
        leads = [
            Lead(
                r.id,
                r.name,
                catalog.by_id[r.status_id].badge,
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

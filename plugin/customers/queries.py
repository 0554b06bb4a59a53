"""Finding customers: the filtered, sorted, cursor-paged list and one customer in full (SPEC §3, §5)."""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, and_, exists, false, func, or_, select, true

from plugin.customers.read_model import linked_warnings as linked_warnings_of
from plugin.customers.read_model import priority_order
from plugin.domain.catalog import Catalog
from plugin.domain.clock import aware
from plugin.domain.errors import StatushubError, UnknownCustomer
from plugin.domain.events import storable
from plugin.store.schema import (
    Customer,
    CustomerLink,
    CustomerStatus,
    Identity,
    Message,
    StatusChange,
    table_of,
)

C, CS, ID, L, M, SC = (
    table_of(Customer),
    table_of(CustomerStatus),
    table_of(Identity),
    table_of(CustomerLink),
    table_of(Message),
    table_of(StatusChange),
)
SORTS = ("priority", "id", "name")
MAX_LIMIT = 200


@dataclass(frozen=True)
class CustomerFilter:
    """What to list. `statuses` pairs on one track are alternatives; pairs on different tracks all hold."""

    statuses: Sequence[tuple[str, str]] = ()
    q: str = ""
    opted_out: bool | None = None
    archived: bool | None = False  # None: both
    sort: str = "id"


@dataclass
class Page:
    items: list[dict]
    next_cursor: str | None
    extra: dict = field(default_factory=dict)


def _bad(message: str, name: str) -> StatushubError:
    return StatushubError(message, field=name)


def _status_ids(catalog: Catalog, pairs: Sequence[tuple[str, str]]) -> dict[str, list[int]]:
    """Status ids grouped by track; archived statuses may be filtered on (customers still hold them)."""
    by_track: dict[str, list[int]] = defaultdict(list)
    for track, key in pairs:
        t = catalog.track(track)
        status = t.status(key)
        if status is None:
            raise StatushubError(
                f"{track} has no status {key!r}", choices=[s.key for s in t.statuses], field="status"
            )
        by_track[track].append(status.id)
    return by_track


def where_clause(catalog: Catalog, flt: CustomerFilter) -> list:
    ws = catalog.workspace_id
    conds = [C.c.workspace_id == ws]
    for track, ids in _status_ids(catalog, flt.statuses).items():
        if track == "stage" and flt.sort == "priority":
            # priority_open/priority_rank mirror the stage status: the engine writes them with every
            # status change and status_lists recomputes them on reorder or a terminal edit; stage
            # positions are unique, so the rank names the status. Filtering on them alone lets the
            # priority index serve the page in order and stop after `limit` rows (bench/queries.py:
            # with the customer_statuses semi-join instead, PostgreSQL misjudges the correlation
            # and plans a parallel scan that is slow to start).
            stage = [catalog.by_id[i] for i in ids]
            conds.append(C.c.priority_rank.in_(sorted({s.position for s in stage})))
            opens = {not s.terminal for s in stage}
            if len(opens) == 1:
                conds.append(C.c.priority_open == (true() if opens.pop() else false()))
            continue
        conds.append(
            exists().where(
                CS.c.workspace_id == ws,
                CS.c.customer_id == C.c.id,
                CS.c.track_id == catalog.tracks[track].id,
                CS.c.status_id.in_(ids),
            )
        )
    if flt.q.strip():
        needle = "%" + _like_escape(flt.q.strip().lower()) + "%"
        conds.append(
            or_(
                func.lower(C.c.name).like(needle, escape="\\"),
                exists().where(
                    ID.c.workspace_id == ws,
                    ID.c.customer_id == C.c.id,
                    func.lower(ID.c.value).like(needle, escape="\\"),
                ),
            )
        )
    if flt.opted_out is not None:
        conds.append(C.c.opted_out == (true() if flt.opted_out else false()))
    if flt.archived is True:
        conds.append(C.c.archived_at.is_not(None))
    elif flt.archived is False:
        conds.append(C.c.archived_at.is_(None))
    return conds


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def fixed_priority(catalog: Catalog, flt: CustomerFilter) -> bool:
    """True when the filter pins one stage status: open and rank are then the same on every row, and
    leaving them out of ORDER BY lets PostgreSQL read the priority index in order and stop at the page."""
    stage = {key for track, key in flt.statuses if track == "stage"}
    return flt.sort == "priority" and len(stage) == 1


def _order(sort: str, fixed: bool = False) -> list:
    if sort == "priority" and fixed:
        return [C.c.waiting_since.asc().nulls_last(), C.c.id.asc()]
    if sort == "priority":
        return list(priority_order())
    if sort == "name":
        return [C.c.name.asc(), C.c.id.asc()]
    return [C.c.id.asc()]


def _after(sort: str, key: list, fixed: bool = False):
    """Rows strictly after the cursor's sort key, in the same order `_order` lists them."""
    if sort == "id":
        return C.c.id > int(key[0])
    if sort == "name":
        name, cid = str(key[0]), int(key[1])
        return or_(C.c.name > name, and_(C.c.name == name, C.c.id > cid))
    is_open, rank, waiting, cid = bool(key[0]), int(key[1]), key[2], int(key[3])
    if not -(2**31) <= rank < 2**31:  # priority_rank is a 32-bit column: PostgreSQL refuses more
        raise ValueError(rank)
    if waiting is None:
        later_wait = and_(C.c.waiting_since.is_(None), C.c.id > cid)
    else:
        w = datetime.fromisoformat(waiting)
        later_wait = or_(
            C.c.waiting_since > w,
            C.c.waiting_since.is_(None),
            and_(C.c.waiting_since == w, C.c.id > cid),
        )
    if fixed:
        return later_wait
    open_col = C.c.priority_open == (true() if is_open else false())
    lower_open = C.c.priority_open == false() if is_open else false()
    return or_(
        lower_open,
        and_(open_col, C.c.priority_rank < rank),
        and_(open_col, C.c.priority_rank == rank, later_wait),
    )


def encode_cursor(sort: str, row) -> str:
    if sort == "priority":
        waiting = aware(row.waiting_since).isoformat() if row.waiting_since else None
        key = [bool(row.priority_open), row.priority_rank, waiting, row.id]
    elif sort == "name":
        key = [row.name, row.id]
    else:
        key = [row.id]
    raw = json.dumps({"s": sort, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> list:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        key = data["k"]
        if data["s"] != sort or not isinstance(key, list):
            raise ValueError(sort)
        expected = {"priority": 4, "name": 2, "id": 1}[sort]
        if len(key) != expected:
            raise ValueError(len(key))
        _after(sort, key)  # validates the values' types
        if not all(_storable(v) for v in key):
            raise ValueError(key)
        return key
    except (ValueError, KeyError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise _bad("cursor is not one this list handed out (or the sort changed)", "cursor") from None


def _storable(value) -> bool:
    """A forged cursor's value the database can compare: an integer of 64 bits, a finite number, text
    without NUL or lone surrogates (SPEC §12)."""
    if isinstance(value, (int, float)):
        return -(2**63) <= value < 2**63
    return not isinstance(value, str) or storable(value) == value


def list_customers(
    conn: Connection, catalog: Catalog, flt: CustomerFilter, *, limit: int = 50, cursor: str | None = None
) -> Page:
    """One page of customers; `next_cursor` continues after the last row's sort key, so rows inserted
    between fetches never cause a row already present to be repeated or skipped."""
    if flt.sort not in SORTS:
        raise StatushubError(f"sort must be one of {', '.join(SORTS)}", choices=list(SORTS), field="sort")
    if not 1 <= limit <= MAX_LIMIT:
        raise _bad(f"limit must be 1 to {MAX_LIMIT}", "limit")
    conds = where_clause(catalog, flt)
    if cursor:
        conds.append(_after(flt.sort, decode_cursor(cursor, flt.sort), fixed_priority(catalog, flt)))
    rows = conn.execute(
        select(
            C.c.id,
            C.c.name,
            C.c.opted_out,
            C.c.archived_at,
            C.c.waiting_since,
            C.c.last_inbound_at,
            C.c.last_outbound_at,
            C.c.priority_open,
            C.c.priority_rank,
            C.c.created_at,
        )
        .where(*conds)
        .order_by(*_order(flt.sort, fixed_priority(catalog, flt)))
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = summaries(conn, catalog, rows)
    return Page(items, encode_cursor(flt.sort, rows[-1]) if more and rows else None)


def _iso(value: datetime | None) -> str | None:
    return aware(value).isoformat() if value is not None else None


def statuses_of(conn: Connection, catalog: Catalog, ids: Sequence[int]) -> dict[int, dict[str, str]]:
    track_of = {t.id: t.key for t in catalog.tracks.values()}
    out: dict[int, dict[str, str]] = {i: {} for i in ids}
    if not ids:
        return out
    for row in conn.execute(
        select(CS.c.customer_id, CS.c.track_id, CS.c.status_id).where(
            CS.c.workspace_id == catalog.workspace_id, CS.c.customer_id.in_(list(ids))
        )
    ):
        status = catalog.by_id.get(row.status_id)
        if status is not None and row.track_id in track_of:
            out[row.customer_id][track_of[row.track_id]] = status.key
    for statuses in out.values():
        for t in catalog.tracks.values():
            statuses.setdefault(t.key, t.first.key)
    return out


def identities_of(conn: Connection, workspace_id: int, ids: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for row in conn.execute(
            select(ID.c.customer_id, ID.c.value)
            .where(ID.c.workspace_id == workspace_id, ID.c.customer_id.in_(list(ids)))
            .order_by(ID.c.id)
        ):
            out[row.customer_id].append(row.value)
    return out


def summaries(conn: Connection, catalog: Catalog, rows) -> list[dict]:
    ids = [r.id for r in rows]
    statuses = statuses_of(conn, catalog, ids)
    identities = identities_of(conn, catalog.workspace_id, ids)
    return [
        {
            "id": r.id,
            "name": r.name,
            "identities": identities[r.id],
            "statuses": statuses[r.id],
            "opted_out": bool(r.opted_out),
            "archived": r.archived_at is not None,
            "waiting_since": _iso(r.waiting_since),
            "last_inbound_at": _iso(r.last_inbound_at),
            "last_outbound_at": _iso(r.last_outbound_at),
            "created_at": _iso(r.created_at),
        }
        for r in rows
    ]


def customer_row(conn: Connection, workspace_id: int, customer_id: int):
    """The customer's row in this workspace; another workspace's id is simply unknown here."""
    row = conn.execute(select(C).where(C.c.workspace_id == workspace_id, C.c.id == customer_id)).first()
    if row is None:
        raise UnknownCustomer(f"no customer #{customer_id}", field="customer")
    return row


def history(conn: Connection, workspace_id: int, customer_id: int, limit: int | None = None) -> list[dict]:
    """The audit entries, oldest first (the log is append-only; `id` is its order of recording)."""
    query = (
        select(SC)
        .where(SC.c.workspace_id == workspace_id, SC.c.customer_id == customer_id)
        .order_by(SC.c.id.desc())
    )
    if limit:
        query = query.limit(limit)
    return [entry_dict(r) for r in reversed(conn.execute(query).all())]


def entry_dict(r) -> dict:
    """An audit entry as every surface shows it: a stored row (with its id and recording time) or an
    Entry the engine has just appended (neither yet)."""
    out = {"id": r.id} if hasattr(r, "id") else {}
    out |= {
        "track": r.track,
        "from": r.from_status,
        "to": r.to_status,
        "source": r.source,
        "actor": r.actor,
        "note": r.note,
        "applied": bool(r.applied),
        "reason": r.reason,
        "message_id": r.message_id,
        "confidence": r.confidence,
        "at": _iso(r.at),
    }
    if hasattr(r, "recorded_at"):
        out["recorded_at"] = _iso(r.recorded_at)
    return out


def why(conn: Connection, workspace_id: int, customer_id: int, statuses: dict[str, str]) -> dict:
    """For each current status, the audit entry that put the customer there (None: where everyone starts)."""
    out: dict[str, dict | None] = {}
    for track, key in statuses.items():
        row = conn.execute(
            select(SC)
            .where(
                SC.c.workspace_id == workspace_id,
                SC.c.customer_id == customer_id,
                SC.c.track == track,
                SC.c.applied == true(),
            )
            .order_by(SC.c.id.desc())
            .limit(1)
        ).first()
        out[track] = entry_dict(row) if row is not None and row.to_status == key else None
    return out


def linked_ids(conn: Connection, workspace_id: int, customer_id: int) -> list[tuple[int, str]]:
    rows = conn.execute(
        select(L.c.other_id, L.c.note).where(L.c.workspace_id == workspace_id, L.c.customer_id == customer_id)
    ).all()
    return [(r.other_id, r.note) for r in rows]


def linked_warnings(conn: Connection, catalog: Catalog, customer_id: int) -> tuple[list[dict], list[str]]:
    """Links and the warnings they raise: a linked customer on an `attention` status with `alert`."""
    links = linked_ids(conn, catalog.workspace_id, customer_id)
    ids = [i for i, _ in links]
    names = (
        dict(
            conn.execute(
                select(C.c.id, C.c.name).where(C.c.workspace_id == catalog.workspace_id, C.c.id.in_(ids))
            ).all()
        )
        if ids
        else {}
    )
    warned = linked_warnings_of(conn, catalog, customer_id)
    alerting = {w.customer_id for w in warned}
    out = [
        {"id": other, "name": names.get(other, ""), "note": note, "warning": other in alerting}
        for other, note in links
    ]
    return out, [w.text for w in warned]


def customer_detail(conn: Connection, catalog: Catalog, customer_id: int, *, history_limit: int = 50) -> dict:
    """One customer as every surface shows it: badges, identities, links and warnings, history and why."""
    ws = catalog.workspace_id
    row = customer_row(conn, ws, customer_id)
    summary = summaries(conn, catalog, [row])[0]
    badges = {}
    for track, key in summary["statuses"].items():
        status = catalog.status(track, key)
        badges[track] = status.as_dict() | {"badge": status.badge} if status else {"key": key}
    links, warnings = linked_warnings(conn, catalog, customer_id)
    count = conn.execute(
        select(func.count()).select_from(M).where(M.c.workspace_id == ws, M.c.customer_id == customer_id)
    ).scalar_one()
    return summary | {
        "badges": badges,
        "links": links,
        "warnings": warnings,
        "message_count": count,
        "history": history(conn, ws, customer_id, history_limit),
        "why": why(conn, ws, customer_id, summary["statuses"]),
    }

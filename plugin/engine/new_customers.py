"""Customers created by identity on first contact, once, even under concurrent creation (SPEC §2, §3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from plugin.domain.catalog import Catalog
from plugin.domain.identities import display_name, same_person
from plugin.store.bulk import ByDialect, executemany, insert_returning, one_of
from plugin.store.prepared import Prepared
from plugin.store.schema import Customer, CustomerStatus, Identity, table_of

C, ID, CS = table_of(Customer), table_of(Identity), table_of(CustomerStatus)
_INSERT_CUSTOMER = Prepared(insert(C).returning(C.c.id))
_INSERT_CUSTOMER_ROWS = Prepared(insert(C))
_INSERT_IDENTITY = Prepared(insert(ID))
_INSERT_STATUS = Prepared(insert(CS))
_INSERT_CUSTOMER_ORDERED = insert(C).returning(C.c.id, sort_by_parameter_order=True)
_CUSTOMERS_OF = ByDialect(
    lambda dialect: select(ID.c.value, ID.c.customer_id).where(
        ID.c.workspace_id == bindparam("w"), one_of(ID.c.value, "values", dialect)
    )
)


def new_customer_name(identity: str, name: str | None) -> str:
    """What a customer made for a message is called: the name the channel gave, else the identity's
    display form, at most 200 characters."""
    return (name or display_name(identity))[:200]


def ensure_customers(
    conn: Connection,
    catalog: Catalog,
    wanted: Sequence[tuple[str, str | None]],
    now: datetime,
    *,
    created: set[int] | None = None,
    since: Mapping[str, datetime] | None = None,
) -> dict[str, int]:
    """Customer ids for identities, creating a customer (on the first status of every track) for each
    identity not seen before. Safe under concurrent creation: the identity's unique constraint decides.
    `created`, if given, receives the ids of the customers this call created (their state is known).
    `since` gives an identity's first statuses their start: the provider time of the message that
    created the customer (SPEC §3), so a time rule on a first status counts from then; default `now`."""
    created = created if created is not None else set()
    ws = catalog.workspace_id
    values = list({identity for identity, _ in wanted})
    found = dict(_CUSTOMERS_OF(conn).execute(conn, {"w": ws, "values": values}).all())
    # Sorted, so two writers creating the same new identities take their index locks in one order.
    missing = sorted(identity for identity in values if identity not in found)
    if not missing:
        return found
    missing = _join_same_person(conn, ws, missing, found)
    if not missing:
        return found
    names = {identity: name for identity, name in wanted if name}
    try:
        # The batch path: every new customer in three executemany statements.
        with conn.begin_nested():
            made = create_customers(
                conn, catalog, [(new_customer_name(i, names.get(i)), i) for i in missing], now, since=since
            )
        found.update(made)
        created.update(made.values())
        return found
    except IntegrityError:
        pass  # someone created one of them meanwhile: go one by one below
    for identity in missing:
        try:
            with conn.begin_nested():
                found[identity] = create_customer(
                    conn,
                    catalog,
                    new_customer_name(identity, names.get(identity)),
                    [identity],
                    now,
                    entered=(since or {}).get(identity),
                )
                created.add(found[identity])
        except IntegrityError:
            # Another process created it between our look-up and insert: use theirs.
            found[identity] = conn.execute(
                select(ID.c.customer_id).where(ID.c.workspace_id == ws, ID.c.value == identity)
            ).scalar_one()
    return found


def _join_same_person(conn: Connection, ws: int, missing: list[str], found: dict[str, int]) -> list[str]:
    """Attaches each new identity whose person is already a customer under another identity (a
    WhatsApp number writing after an SMS from it, SPEC §11) to that customer; returns the rest."""
    siblings = {identity: same_person(identity) for identity in missing}
    wanted = sorted({other for others in siblings.values() for other in others})
    if not wanted:
        return missing
    known = dict(_CUSTOMERS_OF(conn).execute(conn, {"w": ws, "values": wanted}).all())
    rest = []
    for identity in missing:
        owner = next((known[o] for o in siblings[identity] if o in known), None)
        if owner is None:
            rest.append(identity)
        else:
            found[identity] = attach_identity(conn, ws, owner, identity)
    return rest


def create_customers(
    conn: Connection,
    catalog: Catalog,
    wanted: Sequence[tuple[str, str]],
    now: datetime,
    *,
    since: Mapping[str, datetime] | None = None,
) -> dict[str, int]:
    """New customers, one identity each: (name, identity) → {identity: customer id}; each on its first
    statuses since `since[identity]` (default `now`)."""
    since = since or {}
    ws = catalog.workspace_id
    rank = _first_stage_rank(catalog)
    rows = [
        {
            "workspace_id": ws,
            "name": name[:200],
            "opted_out": False,
            "priority_open": True,
            "priority_rank": rank,
            "created_at": now,
        }
        for name, _ in wanted
    ]
    if conn.dialect.name == "sqlite":
        # SQLite gives each new row the next rowid, in insertion order, under the transaction's write
        # lock: sorted ids are the rows' order. (Asking for parameter order inserts row by row there.)
        ids = sorted(
            cid for (cid,) in insert_returning(conn, _INSERT_CUSTOMER_ROWS, rows, ("id",), _INSERT_CUSTOMER)
        )
    else:
        ids = list(conn.execute(_INSERT_CUSTOMER_ORDERED, rows).scalars().all())
    executemany(
        conn,
        _INSERT_IDENTITY,
        [
            {"workspace_id": ws, "customer_id": cid, "value": identity}
            for cid, (_, identity) in zip(ids, wanted, strict=True)
        ],
    )
    firsts = [(t.id, t.first.id) for t in catalog.tracks.values()]
    executemany(
        conn,
        _INSERT_STATUS,
        [
            {
                "workspace_id": ws,
                "customer_id": cid,
                "track_id": tid,
                "status_id": sid,
                "entered_at": since.get(identity, now),
            }
            for cid, (_, identity) in zip(ids, wanted, strict=True)
            for tid, sid in firsts
        ],
    )
    return {identity: cid for cid, (_, identity) in zip(ids, wanted, strict=True)}


def create_customer(
    conn: Connection,
    catalog: Catalog,
    name: str,
    identities: Sequence[str],
    now: datetime,
    *,
    entered: datetime | None = None,
) -> int:
    """A new customer on the first status of every track, entered at `entered` (default `now`)."""
    ws = catalog.workspace_id
    customer_id = conn.execute(
        insert(C).returning(C.c.id),
        {
            "workspace_id": ws,
            "name": name[:200],
            "opted_out": False,
            "priority_open": True,
            "priority_rank": _first_stage_rank(catalog),
            "created_at": now,
        },
    ).scalar_one()
    if identities:
        conn.execute(
            insert(ID), [{"workspace_id": ws, "customer_id": customer_id, "value": v} for v in identities]
        )
    conn.execute(
        insert(CS),
        [
            {
                "workspace_id": ws,
                "customer_id": customer_id,
                "track_id": t.id,
                "status_id": t.first.id,
                "entered_at": entered or now,
            }
            for t in catalog.tracks.values()
        ],
    )
    return customer_id


def _first_stage_rank(catalog: Catalog) -> int:
    stage = catalog.tracks.get("stage")
    return stage.first.position if stage else 0


_CUSTOMER_OF_IDENTITY = Prepared(
    select(ID.c.customer_id).where(ID.c.workspace_id == bindparam("w"), ID.c.value == bindparam("v"))
)


def customer_of_identity(conn: Connection, workspace_id: int, identity: str) -> int | None:
    """The customer an identity belongs to, if any."""
    row = _CUSTOMER_OF_IDENTITY.first(conn, {"w": workspace_id, "v": identity})
    return row[0] if row else None


def attach_identity(conn: Connection, workspace_id: int, customer_id: int, identity: str) -> int:
    """Makes `identity` one of the customer's (a Slack Connect member speaking for the channel's
    customer, a channel linked to a customer) and returns the customer it belongs to: `customer_id`,
    or the customer it already belonged to, which the caller may refuse. Safe under concurrent
    attachment: the identity's unique constraint decides, in a savepoint of the caller's transaction."""
    known = customer_of_identity(conn, workspace_id, identity)
    if known is not None:
        return known
    try:
        with conn.begin_nested():
            conn.execute(
                insert(ID), {"workspace_id": workspace_id, "customer_id": customer_id, "value": identity}
            )
    except IntegrityError:
        found = customer_of_identity(conn, workspace_id, identity)
        return found if found is not None else customer_id
    return customer_id

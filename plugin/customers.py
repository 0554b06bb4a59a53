"""Customers and their identities: creating them once, naming them as users do (SPEC §2, §6)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from datetime import datetime

import phonenumbers
from sqlalchemy import Connection, bindparam, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from plugin.driver_sql import ByDialect, executemany, insert_returning, one_of
from plugin.errors import AmbiguousCustomer, Conflict, StatushubError, UnknownCustomer
from plugin.schema import Customer, CustomerStatus, Identity
from plugin.statuses import Catalog

C, ID, CS = Customer.__table__, Identity.__table__, CustomerStatus.__table__
IDENTITY_KINDS = ("sms", "webchat", "slack")
_INSERT_CUSTOMER = insert(C).returning(C.c.id)
_INSERT_CUSTOMER_ROWS = insert(C)
_INSERT_IDENTITY = insert(ID)
_INSERT_STATUS = insert(CS)
_INSERT_CUSTOMER_ORDERED = insert(C).returning(C.c.id, sort_by_parameter_order=True)
_CUSTOMERS_OF = ByDialect(
    lambda dialect: select(ID.c.value, ID.c.customer_id).where(
        ID.c.workspace_id == bindparam("w"), one_of(ID.c.value, "values", dialect)
    )
)


def phone_identity(raw: str, region: str = "US") -> str | None:
    """`sms:+15551234567` for a phone number in any common format, or None if it is not one."""
    text = raw.strip()
    if not text or not any(ch.isdigit() for ch in text):
        return None
    if sum(ch.isdigit() for ch in text) < 7 or any(ch.isalpha() for ch in text.replace("ext", "")):
        return None
    try:
        number = phonenumbers.parse(text, region or "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return "sms:" + phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_identity(raw: str, region: str = "US") -> str:
    """A `channel:id` identity in its stored form; phone numbers become E.164."""
    kind, sep, value = raw.partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in IDENTITY_KINDS or not value.strip():
        raise StatushubError(
            f"identity {raw!r} must be channel:id with channel one of {', '.join(IDENTITY_KINDS)}",
            field="identity",
            choices=list(IDENTITY_KINDS),
        )
    if kind == "sms":
        phone = phone_identity(value, region)
        if phone is None:
            raise StatushubError(f"{value!r} is not a phone number", field="identity")
        return phone
    return f"{kind}:{value.strip()}"


# A North American number in E.164 (+1, then ten digits, area code and exchange not starting 0 or 1)
# needs no parsing: phonenumbers.parse took 13 µs of a new customer's 19 (bench/engine.py creates 10,000).
_NANP = re.compile(r"\+1([2-9][0-9]{2})([2-9][0-9]{2})([0-9]{4})")


def display_name(identity: str) -> str:
    """How a customer known only by an identity is named: a phone number in international format."""
    kind, _, value = identity.partition(":")
    if kind != "sms":
        return value
    nanp = _NANP.fullmatch(value)
    if nanp:
        return "+1 {}-{}-{}".format(*nanp.groups())
    try:
        number = phonenumbers.parse(value)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return value


def ensure_customers(
    conn: Connection,
    catalog: Catalog,
    wanted: Sequence[tuple[str, str | None]],
    now: datetime,
    *,
    created: set[int] | None = None,
) -> dict[str, int]:
    """Customer ids for identities, creating a customer (on the first status of every track) for each
    identity not seen before. Safe under concurrent creation: the identity's unique constraint decides.
    `created`, if given, receives the ids of the customers this call created (their state is known)."""
    created = created if created is not None else set()
    ws = catalog.workspace_id
    values = list({identity for identity, _ in wanted})
    found = dict(conn.execute(_CUSTOMERS_OF(conn), {"w": ws, "values": values}).all())
    # Sorted, so two writers creating the same new identities take their index locks in one order.
    missing = sorted(identity for identity in values if identity not in found)
    if not missing:
        return found
    names = {identity: name for identity, name in wanted if name}
    try:
        # The batch path: every new customer in three executemany statements.
        with conn.begin_nested():
            made = create_customers(
                conn, catalog, [(names.get(i) or display_name(i), i) for i in missing], now
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
                    conn, catalog, names.get(identity) or display_name(identity), [identity], now
                )
                created.add(found[identity])
        except IntegrityError:
            # Another process created it between our look-up and insert: use theirs.
            found[identity] = conn.execute(
                select(ID.c.customer_id).where(ID.c.workspace_id == ws, ID.c.value == identity)
            ).scalar_one()
    return found


def create_customers(
    conn: Connection, catalog: Catalog, wanted: Sequence[tuple[str, str]], now: datetime
) -> dict[str, int]:
    """New customers, one identity each: (name, identity) → {identity: customer id}."""
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
        ids = conn.execute(_INSERT_CUSTOMER_ORDERED, rows).scalars().all()
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
            {"workspace_id": ws, "customer_id": cid, "track_id": tid, "status_id": sid, "entered_at": now}
            for cid in ids
            for tid, sid in firsts
        ],
    )
    return {identity: cid for cid, (_, identity) in zip(ids, wanted, strict=True)}


def create_customer(
    conn: Connection, catalog: Catalog, name: str, identities: Sequence[str], now: datetime
) -> int:
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
                "entered_at": now,
            }
            for t in catalog.tracks.values()
        ],
    )
    return customer_id


def _first_stage_rank(catalog: Catalog) -> int:
    stage = catalog.tracks.get("stage")
    return stage.first.position if stage else 0


def add_customer(
    conn: Connection, catalog: Catalog, name: str, identities: Sequence[str], region: str, now: datetime
) -> int:
    """A customer added by hand; refuses identities that already belong to someone."""
    if not name.strip():
        raise StatushubError("a customer needs a name", field="name")
    normalized = [normalize_identity(raw, region) for raw in identities]
    taken = conn.execute(
        select(ID.c.value, ID.c.customer_id).where(
            ID.c.workspace_id == catalog.workspace_id, ID.c.value.in_(normalized)
        )
    ).first()
    if taken:
        raise Conflict(f"{taken.value} already belongs to customer {taken.customer_id}", field="identity")
    return create_customer(conn, catalog, name.strip(), normalized, now)


def resolve_customer(conn: Connection, workspace_id: int, ref: str, region: str = "US") -> int:
    """A customer named by phone number (any common format), identity, id or unique name (SPEC §6)."""
    ref = ref.strip()
    if not ref:
        raise UnknownCustomer("no customer given", field="customer")
    candidates: list[str] = []
    if ref.startswith("<@") and ref.endswith(">"):
        user = ref[2:-1].split("|")[0]
        candidates.append(user)
    if ":" in ref and ref.split(":", 1)[0].lower() in IDENTITY_KINDS:
        with contextlib.suppress(StatushubError):
            candidates.append(normalize_identity(ref, region))
    phone = phone_identity(ref, region)
    if phone:
        candidates.append(phone)
    if candidates:
        row = conn.execute(
            select(ID.c.customer_id).where(
                ID.c.workspace_id == workspace_id,
                or_(
                    ID.c.value.in_(candidates),
                    *[ID.c.value.like(f"slack:%/{c}") for c in candidates if ":" not in c],
                ),
            )
        ).first()
        if row:
            return row.customer_id
    stripped = ref.lstrip("#")
    if stripped.isdigit() and len(stripped) < 19:
        row = conn.execute(
            select(C.c.id).where(C.c.workspace_id == workspace_id, C.c.id == int(stripped))
        ).first()
        if row:
            return row.id
    exact = conn.execute(
        select(C.c.id, C.c.name)
        .where(C.c.workspace_id == workspace_id, func.lower(C.c.name) == ref.lower())
        .limit(10)
    ).all()
    if len(exact) == 1:
        return exact[0].id
    if not exact:
        partial = conn.execute(
            select(C.c.id, C.c.name)
            .where(
                C.c.workspace_id == workspace_id,
                func.lower(C.c.name).like("%" + _like_escape(ref.lower()) + "%", escape="\\"),
            )
            .limit(10)
        ).all()
        if len(partial) == 1:
            return partial[0].id
        exact = partial
    if exact:
        raise AmbiguousCustomer(
            f"{len(exact)}{'+' if len(exact) == 10 else ''} customers match {ref!r}: name one by id or phone",
            choices=[f"#{r.id} {r.name}" for r in exact],
            field="customer",
        )
    raise UnknownCustomer(
        f"no customer matches {ref!r} (try a phone number, #id or full name)", field="customer"
    )


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

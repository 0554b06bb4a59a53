"""Customers named as users do (phone number in any format, identity, #id, unique name) and added by
hand (SPEC §2, §6)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, func, or_, select

from plugin.domain.catalog import Catalog
from plugin.domain.errors import AmbiguousCustomer, Conflict, StatushubError, UnknownCustomer
from plugin.domain.identities import IDENTITY_KINDS, normalize_identity, phone_identity, same_person
from plugin.engine import Recorded, create_customer
from plugin.store.prepared import Prepared
from plugin.store.schema import Customer, Identity, table_of

C, ID = table_of(Customer), table_of(Identity)
_NAME = Prepared(select(C.c.name).where(and_(C.c.workspace_id == bindparam("w"), C.c.id == bindparam("c"))))


def customer_name(conn: Connection, workspace_id: int, customer_id: int) -> str | None:
    """The customer's display name; None when there is no such customer in the workspace."""
    row = _NAME.first(conn, {"w": workspace_id, "c": customer_id})
    return row[0] if row else None


def event_answer(conn: Connection, workspace_id: int, recorded: Sequence[Recorded]) -> str:
    """The answer to an event that stored a message (web chat, `POST /api/v1/events`, SPEC §5): its
    customer with their statuses on every track, the message, whether it repeated one, its intents."""
    first = recorded[0]
    return json.dumps(
        {
            "customer": {
                "id": first.customer_id,
                "name": first.name or customer_name(conn, workspace_id, first.customer_id),
                "statuses": first.statuses,
            },
            "message_id": first.message_id,
            "duplicate": first.duplicate,
            "intents": list(first.intents),
        },
        ensure_ascii=False,
    )


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
        candidates += [phone, *same_person(phone)]  # a WhatsApp-only customer has a phone number too
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

"""Chatwoot contacts in the write path (SPEC §11): a message from a contact, a contact's edits, and
the write-backs their customers' status changes queue, each in the caller's transaction.

The adapter translates Chatwoot's payloads into `ContactSeen` and a `MessageEvent`; this module stores
what the hub must remember about the contact (its customer, the phone it gave, its latest
conversation) and never sees a payload."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from plugin.domain.clock import aware
from plugin.domain.events import MessageEvent
from plugin.engine.inbox import receive
from plugin.engine.new_customers import attach_identity, customer_of_identity
from plugin.engine.write_path import Recorded
from plugin.store.idempotency import remember, remembered
from plugin.store.prepared import Prepared
from plugin.store.schema import ChatwootContact, Customer, Identity, table_of

CC, ID = table_of(ChatwootContact), table_of(Identity)


@dataclass(frozen=True, slots=True)
class ContactSeen:
    """A Chatwoot contact as one delivery shows it. `identity` is `chatwoot:<account>/<contact id>`;
    `phone` its `sms:+E164` identity when it has a usable number; `conversation_id` the conversation
    (display id) a message came in, with that message's time."""

    contact_id: int
    identity: str
    name: str | None = None
    phone: str | None = None
    conversation_id: int | None = None
    conversation_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ContactEdit:
    """A `contact_updated`: only what changed is applied, so the echo of the hub's own custom
    attributes (nothing but `custom_attributes` changed) changes nothing."""

    contact: ContactSeen
    name_changed: bool
    phone_changed: bool


_CONTACT = Prepared(
    select(CC.c.customer_id, CC.c.phone, CC.c.conversation_id, CC.c.conversation_at).where(
        CC.c.workspace_id == bindparam("w"), CC.c.contact_id == bindparam("k")
    )
)


_INSERT_CONTACT = {
    "sqlite": Prepared(sqlite.insert(CC).on_conflict_do_nothing().returning(CC.c.contact_id)),
    "postgresql": Prepared(postgresql.insert(CC).on_conflict_do_nothing().returning(CC.c.contact_id)),
}


def receive_from_contact(
    conn: Connection,
    workspace_id: int,
    scope: str,
    key: str | None,
    change: MessageEvent | ContactEdit,
    contact: ContactSeen,
    *,
    now: datetime,
    catalog_version: int | None = None,
    answer: Callable[[Recorded | None], str],
) -> tuple[str, bool]:
    """One Chatwoot delivery, once per delivery id `key` (None: no de-dup by delivery; a message is
    still stored once by its id): a message is received and its contact noted; a contact edit updates
    its customer's name and phone. Returns (answer, repeated), like `receive_once`."""
    if key is not None:
        first = remembered(conn, workspace_id, scope, key)
        if first is not None:
            return first[1], True
    recorded: Recorded | None = None
    if isinstance(change, MessageEvent):
        recorded = receive(conn, workspace_id, [change], now=now, catalog_version=catalog_version)[0]
        if not recorded.duplicate:
            note_contact(conn, workspace_id, recorded.customer_id, contact)
    else:
        edit_contact(conn, workspace_id, change)
    body = answer(recorded)
    if key is not None:
        remember(conn, workspace_id, scope, key, 200, body, now)
    return body, False


def note_contact(conn: Connection, workspace_id: int, customer_id: int, seen: ContactSeen) -> None:
    """Remembers the contact's customer and latest conversation, and adds its phone as the customer's
    `sms:` identity when no other customer has that number."""
    row = _CONTACT.first(conn, {"w": workspace_id, "k": seen.contact_id})
    if row is None:
        mine = None
        if (
            seen.phone is not None
            and attach_identity(conn, workspace_id, customer_id, seen.phone) == customer_id
        ):
            mine = seen.phone
        new = {
            "workspace_id": workspace_id,
            "contact_id": seen.contact_id,
            "customer_id": customer_id,
            "phone": mine,
            "conversation_id": seen.conversation_id,
            "conversation_at": seen.conversation_at,
        }
        if _INSERT_CONTACT[conn.dialect.name].first(conn, new) is not None:
            return
        # A concurrent first message of the same contact stored it meanwhile: bring it up to date.
        row = _CONTACT.first(conn, {"w": workspace_id, "k": seen.contact_id})
        if row is None:
            return
    known_customer, phone, conversation_id, conversation_at = row
    later = (
        seen.conversation_at is None
        or conversation_at is None
        or seen.conversation_at >= aware(conversation_at)
    )
    if seen.conversation_id is not None and seen.conversation_id != conversation_id and later:
        conn.execute(
            update(CC)
            .where(CC.c.workspace_id == workspace_id, CC.c.contact_id == seen.contact_id)
            .values(conversation_id=seen.conversation_id, conversation_at=seen.conversation_at)
        )
    if seen.phone != phone and seen.phone is not None:
        _set_phone(conn, workspace_id, known_customer, seen.contact_id, phone, seen.phone)


def edit_contact(conn: Connection, workspace_id: int, edit: ContactEdit) -> int | None:
    """Applies a contact's new name and phone to its customer; None (nothing changed) for a contact
    the hub has never heard from: a contact edit alone makes no customer."""
    seen = edit.contact
    row = _CONTACT.first(conn, {"w": workspace_id, "k": seen.contact_id})
    customer_id = row[0] if row else customer_of_identity(conn, workspace_id, seen.identity)
    if customer_id is None:
        return None
    if edit.name_changed and seen.name:
        conn.execute(
            update(Customer)
            .where(Customer.workspace_id == workspace_id, Customer.id == customer_id)
            .values(name=seen.name[:200])
        )
    if edit.phone_changed:
        if row is None:
            note_contact(conn, workspace_id, customer_id, seen)
        else:
            _set_phone(conn, workspace_id, customer_id, seen.contact_id, row[1], seen.phone)
    return customer_id


def _set_phone(
    conn: Connection, workspace_id: int, customer_id: int, contact_id: int, old: str | None, new: str | None
) -> None:
    """The contact's phone identity becomes `new`: added when free (another customer's number stays
    theirs), and the one this contact gave before removed from the customer."""
    mine = None
    if new is not None and attach_identity(conn, workspace_id, customer_id, new) == customer_id:
        mine = new
    if old is not None and old != mine:
        conn.execute(
            delete(ID).where(
                ID.c.workspace_id == workspace_id, ID.c.customer_id == customer_id, ID.c.value == old
            )
        )
    conn.execute(
        update(CC).where(CC.c.workspace_id == workspace_id, CC.c.contact_id == contact_id).values(phone=mine)
    )

"""A Chatwoot webhook body in, the core's event out: pure translation, no I/O (STYLE §1, §12).

Shapes from Chatwoot's own source (tests/fixtures/recorded/chatwoot/SOURCES.md): `message_created`
is Message#webhook_data — `message_type` a string (`incoming|outgoing|template`), `private`,
`created_at` ISO 8601, `sender` the Contact (no `type` key) for incoming messages, a User
(`type: "user"`), an AgentBot (`type: "agent_bot"`) or null for outgoing and template ones, whose
customer is `conversation.meta.sender`. `contact_updated` is Contact#webhook_data with
`changed_attributes` (a list of one-key objects). Every other event is acknowledged and ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from plugin.domain.errors import StatushubError
from plugin.domain.events import MessageEvent, storable
from plugin.domain.identities import phone_identity
from plugin.engine import ContactEdit, ContactSeen

CHANNEL = "chatwoot"
# Chatwoot keeps contact numbers in E.164 (Contact validates `phone_number` against /\+[1-9]\d{1,14}\z/):
# such a number needs no parsing, which was most of what reading a delivery cost.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
MAX_ID = 2**63 - 1
BOT_SENDERS = ("agent_bot", "captain_assistant")


@dataclass(frozen=True)
class Delivery:
    """What one delivery asks of the hub: a message, a contact edit, or nothing (`ignored` says why)."""

    event: str
    contact: ContactSeen | None = None
    message: MessageEvent | None = None
    edit: ContactEdit | None = None
    ignored: str | None = None


def parse_delivery(document: dict, workspace_id: int, region: str = "US") -> Delivery:
    """The delivery's meaning; StatushubError names the first field that is not what Chatwoot sends."""
    event = document.get("event")
    if not isinstance(event, str) or not event:
        raise _bad("event", "the event name is required")
    if event == "message_created":
        return _message(document, workspace_id, region)
    if event == "contact_updated":
        return _contact_edit(document, region)
    return Delivery(event, ignored=f"{event[:64]} is not an event statushub acts on")


def _message(doc: dict, workspace_id: int, region: str) -> Delivery:
    kind = doc.get("message_type")
    if not isinstance(kind, str):
        raise _bad("message_type", "incoming, outgoing or template")
    if kind not in ("incoming", "outgoing", "template"):
        return Delivery("message_created", ignored=f"{kind[:32]} messages are not conversation")
    private = doc.get("private", False)
    if not isinstance(private, bool):
        raise _bad("private", "true or false")
    if private:
        return Delivery("message_created", ignored="private notes are for agents, not the conversation")
    message_id = _id(doc.get("id"), "id")
    account = _id(_object(doc.get("account"), "account").get("id"), "account.id")
    conversation = _object(doc.get("conversation"), "conversation")
    conversation_id = _id(conversation.get("id"), "conversation.id")
    at = _time(doc.get("created_at"), "created_at")
    text = doc.get("content")
    if text is not None and not isinstance(text, str):
        raise _bad("content", "the message text is a string or null")
    if kind == "incoming":
        person = _object(doc.get("sender"), "sender")
        where = "sender"
        direction, sender = "inbound", "customer"
    else:
        meta = _object(conversation.get("meta"), "conversation.meta")
        person = _object(meta.get("sender"), "conversation.meta.sender")
        where = "conversation.meta.sender"
        direction, sender = "outbound", _outbound_sender(kind, doc)
    contact = _contact(person, where, account, region, conversation_id, at)
    message = MessageEvent(
        workspace_id=workspace_id,
        channel=CHANNEL,
        identity=contact.identity,
        direction=direction,
        sender=sender,
        text=(text or "")[:100_000],
        provider_id=str(message_id),
        provider_at=at,
        name=contact.name,
    )
    return Delivery("message_created", contact=contact, message=message)


def _outbound_sender(kind: str, doc: dict) -> str:
    """`agent` for a user, `bot` for an agent bot, an AI assistant or a template (SPEC §11). An
    outgoing message without a sender is a WhatsApp Business app echo (`external_echo`), written by a
    person on the phone: an agent."""
    if kind == "template":
        return "bot"
    who = doc.get("sender")
    if who is None:
        return "agent"
    who = _object(who, "sender")
    kind_of = who.get("type")
    if kind_of is not None and not isinstance(kind_of, str):
        raise _bad("sender.type", "user, agent_bot or captain_assistant")
    return "bot" if kind_of in BOT_SENDERS else "agent"


def _contact_edit(doc: dict, region: str) -> Delivery:
    account = _id(_object(doc.get("account"), "account").get("id"), "account.id")
    changed = doc.get("changed_attributes")
    if changed is None:
        changed = []
    if not isinstance(changed, list) or not all(isinstance(item, dict) for item in changed):
        raise _bad("changed_attributes", "a list of objects, one per changed attribute")
    names = {name for item in changed for name in item}
    name_changed, phone_changed = "name" in names, "phone_number" in names
    if not (name_changed or phone_changed):
        # The echo of the hub's own custom attributes, or Chatwoot's last_activity_at after every message.
        return Delivery("contact_updated", ignored="neither the name nor the phone changed")
    contact = _contact(doc, "", account, region, None, None)
    return Delivery(
        "contact_updated", contact=contact, edit=ContactEdit(contact, name_changed, phone_changed)
    )


def _contact(
    person: dict, where: str, account: int, region: str, conversation_id: int | None, at: datetime | None
) -> ContactSeen:
    prefix = f"{where}." if where else ""
    contact_id = _id(person.get("id"), prefix + "id")
    name = person.get("name")
    if name is not None and not isinstance(name, str):
        raise _bad(prefix + "name", "the contact's name is a string or null")
    phone = person.get("phone_number")
    if phone is not None and not isinstance(phone, str):
        raise _bad(prefix + "phone_number", "the contact's phone number is a string or null")
    return ContactSeen(
        contact_id=contact_id,
        identity=f"chatwoot:{account}/{contact_id}",
        name=storable((name or "").strip()[:200]) or None,
        phone=_phone(phone, region),
        conversation_id=conversation_id,
        conversation_at=at,
    )


def _phone(value: str | None, region: str) -> str | None:
    if not value:
        return None
    if _E164.fullmatch(value):
        return "sms:" + value
    return phone_identity(value[:64], region)


def _object(value: object, field: str) -> dict:
    if not isinstance(value, dict):
        raise _bad(field, "an object is required")
    return value


def _id(value: object, field: str) -> int:
    # bool is an int in Python; Chatwoot's ids are positive integers.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise _bad(field, "a positive integer id is required")
    return value


def _time(value: object, field: str) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise _bad(field, "an ISO 8601 time is required")
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if at.tzinfo is None or at.utcoffset() is None:
            raise _bad(field, "the time must carry its offset (Chatwoot sends UTC, ending in Z)")
        return at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _bad(field, f"{value[:40]!r} is not an ISO 8601 time") from None


def _bad(field: str, message: str) -> StatushubError:
    return StatushubError(f"{field}: {message}", field=field)

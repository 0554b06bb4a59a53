"""A workspace's Twilio senders: phone numbers, WhatsApp senders, short codes and Messaging Services,
each owned by one workspace (SPEC §11). Which one a send goes out from is decided here too."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from plugin.domain.errors import Conflict, StatushubError
from plugin.store.schema import TwilioSender, Workspace, table_of

S, W = table_of(TwilioSender), table_of(Workspace)
SHORT_CODE = re.compile(r"[0-9]{5,6}")
MESSAGING_SERVICE = re.compile(r"MG[0-9a-fA-F]{32}")
WHATSAPP = "whatsapp:"
HINT = "an E.164 number (+15551234567), whatsapp:+15551234567, a 5–6 digit short code or a Messaging Service SID (MG…)"


def normalize_sender(raw: str, region: str = "US") -> tuple[str, str]:
    """(stored form, kind) of a Twilio sender as a user writes it; StatushubError naming what is valid."""
    text = (raw or "").strip()
    if SHORT_CODE.fullmatch(text):
        return text, "short_code"
    if MESSAGING_SERVICE.fullmatch(text):
        return "MG" + text[2:].lower(), "messaging_service"
    prefix = ""
    if text.lower().startswith(WHATSAPP):
        prefix, text = WHATSAPP, text[len(WHATSAPP) :].strip()
    if text.startswith("+") or (text[:1].isdigit() and len(re.sub(r"\D", "", text)) >= 7):
        number = _phone(text, region)
        if number is not None:
            return prefix + phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), "number"
    raise StatushubError(f"{raw!r} is not a Twilio sender: give {HINT}", field="twilio_sender")


def _phone(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    """The number `text` names: in E.164 it need only be possible (test and new ranges); written
    locally, valid too (so `1234567` is not taken for +1 123 4567)."""
    try:
        number = phonenumbers.parse(text, region or "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return number if text.startswith("+") or phonenumbers.is_valid_number(number) else None


def add_sender(conn: Connection, workspace_id: int, raw: str, region: str, now: datetime) -> str:
    """Makes `raw` one of the workspace's senders (again: nothing changes); Conflict when another
    workspace owns it. The first phone number becomes the workspace's number."""
    sender, kind = normalize_sender(raw, region)
    owner = conn.execute(select(S.c.workspace_id).where(S.c.sender == sender)).scalar()
    if owner == workspace_id:
        return sender
    if owner is not None:
        raise Conflict(f"{sender} is a sender of another workspace", field="twilio_sender")
    try:
        with conn.begin_nested():
            conn.execute(
                insert(S), {"workspace_id": workspace_id, "sender": sender, "kind": kind, "created_at": now}
            )
    except IntegrityError:
        raise Conflict(f"{sender} is a sender of another workspace", field="twilio_sender") from None
    if kind == "number" and not sender.startswith(WHATSAPP):
        conn.execute(
            update(W).where(W.c.id == workspace_id, W.c.twilio_number.is_(None)).values(twilio_number=sender)
        )
    return sender


def remove_sender(conn: Connection, workspace_id: int, raw: str, region: str) -> str:
    """The workspace stops owning `raw`: its requests answer 401 from now on."""
    sender, _ = normalize_sender(raw, region)
    gone = conn.execute(delete(S).where(S.c.workspace_id == workspace_id, S.c.sender == sender)).rowcount
    if not gone:
        raise StatushubError(
            f"{sender} is not a sender of this workspace",
            field="twilio_sender",
            choices=senders(conn, workspace_id),
        )
    conn.execute(
        update(W).where(W.c.id == workspace_id, W.c.twilio_number == sender).values(twilio_number=None)
    )
    return sender


def senders(conn: Connection, workspace_id: int) -> list[str]:
    """The workspace's senders, oldest first."""
    return list(
        conn.execute(select(S.c.sender).where(S.c.workspace_id == workspace_id).order_by(S.c.id)).scalars()
    )


@dataclass(frozen=True)
class From:
    """Where a send goes out from: a `From` address, or a Messaging Service that picks one."""

    number: str | None = None
    messaging_service: str | None = None


def sending_from(conn: Connection, workspace_id: int, channel: str) -> From | None:
    """The sender a message on `channel` ("sms" or "whatsapp") leaves from: for WhatsApp a WhatsApp
    sender, else a Messaging Service (Twilio picks the pool's WhatsApp sender), else a number with
    the prefix; for SMS a Messaging Service, else a number, else a short code. None without one."""
    rows = conn.execute(
        select(S.c.sender, S.c.kind).where(S.c.workspace_id == workspace_id).order_by(S.c.id)
    ).all()
    whatsapp = [r.sender for r in rows if r.sender.startswith(WHATSAPP)]
    services = [r.sender for r in rows if r.kind == "messaging_service"]
    numbers = [r.sender for r in rows if r.kind == "number" and not r.sender.startswith(WHATSAPP)]
    codes = [r.sender for r in rows if r.kind == "short_code"]
    if channel == "whatsapp":
        if whatsapp:
            return From(number=whatsapp[0])
        if services:
            return From(messaging_service=services[0])
        return From(number=WHATSAPP + numbers[0]) if numbers else None
    if services:
        return From(messaging_service=services[0])
    first = (numbers or codes or [None])[0]
    return From(number=first) if first else None

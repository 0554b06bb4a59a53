"""Twilio's webhook forms in, core shapes out: pure translation, no I/O (STYLE §1).

Parameters: https://www.twilio.com/docs/messaging/guides/webhook-request
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from plugin.domain.errors import StatushubError
from plugin.domain.events import MessageEvent
from plugin.domain.identities import phone_identity

# Twilio flags carrier-level opt-out keywords itself when Advanced Opt-Out is on; HELP changes nothing.
OPT_OUT_TYPES = {"STOP": "out", "START": "in"}
MAX_MEDIA = 10  # Twilio delivers at most 10 media items per message
# Twilio sends numbers in E.164 already: a pattern checks them without phonenumbers' parse on the hot path.
E164 = re.compile(r"\+[1-9][0-9]{6,14}")


@dataclass(frozen=True)
class DeliveryUpdate:
    """One status callback: which message, its new status and, for failures, Twilio's ErrorCode."""

    message_sid: str
    status: str
    error_code: str | None


def e164(raw: str | None, region: str = "US") -> str | None:
    """The E.164 form of a phone number as Twilio sends it (`+15551234567`, `whatsapp:+1...`)."""
    if not raw:
        return None
    _, _, number = raw.rpartition(":")
    if E164.fullmatch(number):
        return number
    identity = phone_identity(number, region)
    return identity.removeprefix("sms:") if identity else None


def parse_inbound(
    form: Mapping[str, str], workspace_id: int, received_at: datetime, region: str = "US"
) -> MessageEvent:
    """An inbound SMS/MMS as a MessageEvent. Twilio sends no timestamp: receipt time stands in (SPEC §3)."""
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    if not sid:
        raise StatushubError("MessageSid is missing", field="MessageSid")
    sender = e164(form.get("From"), region)
    if sender is None:
        raise StatushubError(f"From {form.get('From')!r} is not a phone number", field="From")
    return MessageEvent(
        workspace_id=workspace_id,
        channel="sms",
        identity="sms:" + sender,
        direction="inbound",
        sender="customer",
        text=form.get("Body") or "",
        provider_id=sid,
        provider_at=received_at,
        name=(form.get("ProfileName") or "").strip() or None,
        media=tuple(_media(form)),
        opt=OPT_OUT_TYPES.get((form.get("OptOutType") or "").strip().upper()),
        raw={"NumSegments": form.get("NumSegments"), "MessagingServiceSid": form.get("MessagingServiceSid")},
    )


def _media(form: Mapping[str, str]) -> list[str]:
    try:
        count = min(int(form.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError:
        raise StatushubError("NumMedia must be a number", field="NumMedia") from None
    urls = []
    for i in range(count):
        url = form.get(f"MediaUrl{i}")
        if not url:
            raise StatushubError(f"MediaUrl{i} is missing (NumMedia is {count})", field=f"MediaUrl{i}")
        urls.append(url)
    return urls


def parse_status(form: Mapping[str, str]) -> DeliveryUpdate:
    """A status callback (https://www.twilio.com/docs/messaging/guides/track-outbound-message-status)."""
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    if not sid:
        raise StatushubError("MessageSid is missing", field="MessageSid")
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    if not status:
        raise StatushubError("MessageStatus is missing", field="MessageStatus")
    return DeliveryUpdate(sid, status, (form.get("ErrorCode") or "").strip() or None)

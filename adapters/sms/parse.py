"""Twilio's webhook forms in, core shapes out: pure translation, no I/O (STYLE §1).

Parameters: https://www.twilio.com/docs/messaging/guides/webhook-request
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from plugin.domain.errors import StatushubError
from plugin.domain.events import Media, MessageEvent
from plugin.domain.identities import phone_identity

# Twilio flags carrier-level opt-out keywords itself when Advanced Opt-Out is on; HELP changes nothing.
OPT_OUT_TYPES = {"STOP": "out", "START": "in"}
MAX_MEDIA = 10  # Twilio delivers at most 10 media items per message
# Twilio sends numbers in E.164 already: a pattern checks them without phonenumbers' parse on the hot path.
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
WHATSAPP = "whatsapp:"  # Twilio's address prefix for WhatsApp (https://www.twilio.com/docs/whatsapp/api)
CONTENT_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+")


@dataclass(frozen=True)
class DeliveryUpdate:
    """One status callback: which message, its new status and, for failures, Twilio's ErrorCode."""

    message_sid: str
    status: str
    error_code: str | None
    channel: str = "sms"


def e164(raw: str | None, region: str = "US") -> str | None:
    """The E.164 form of a phone number as Twilio sends it (`+15551234567`, `whatsapp:+1...`)."""
    if not raw:
        return None
    _, _, number = raw.rpartition(":")
    if E164.fullmatch(number):
        return number
    identity = phone_identity(number, region)
    return identity.removeprefix("sms:") if identity else None


def senders_of(address: str | None, service: str | None) -> tuple[str, ...]:
    """The senders a request may belong to, most specific first: the address as sent
    (`whatsapp:+1…`, `+1…`, a short code), the plain number, the Messaging Service SID (SPEC §11)."""
    address = (address or "").strip()
    plain = address.removeprefix(WHATSAPP)
    if plain and not E164.fullmatch(plain) and not plain.isdigit():
        plain = e164(plain) or plain  # Twilio sends E.164; a hand-written test or proxy may not
    found = [address, plain, (service or "").strip()]
    return tuple(dict.fromkeys(x for x in found if x))


def channel_of(address: str | None) -> str:
    """`whatsapp` for a `whatsapp:` address, else `sms`."""
    return "whatsapp" if (address or "").strip().lower().startswith(WHATSAPP) else "sms"


def parse_inbound(
    form: Mapping[str, str], workspace_id: int, received_at: datetime, region: str = "US"
) -> MessageEvent:
    """An inbound SMS/MMS or WhatsApp message as a MessageEvent. Twilio sends no timestamp: receipt time
    stands in (SPEC §3). WhatsApp (`From=whatsapp:+…`) is its own channel and identity, on the same
    customer as the number's SMS identity, and its STOP is not an SMS opt-out (SPEC §11)."""
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    if not sid:
        raise StatushubError("MessageSid is missing", field="MessageSid")
    sender = e164(form.get("From"), region)
    if sender is None:
        raise StatushubError(f"From {form.get('From')!r} is not a phone number", field="From")
    channel = channel_of(form.get("From"))
    sms = channel == "sms"
    return MessageEvent(
        workspace_id=workspace_id,
        channel=channel,
        identity=f"{channel}:{sender}",
        direction="inbound",
        sender="customer",
        text=form.get("Body") or "",
        provider_id=sid,
        provider_at=received_at,
        name=(form.get("ProfileName") or "").strip() or None,
        media=tuple(_media(form)),
        opt=OPT_OUT_TYPES.get((form.get("OptOutType") or "").strip().upper()) if sms else None,
        raw={"NumSegments": form.get("NumSegments"), "MessagingServiceSid": form.get("MessagingServiceSid")},
        opt_keywords=sms,
    )


def _media(form: Mapping[str, str]) -> list[Media]:
    """MediaUrlN with MediaContentTypeN (N from 0; Twilio sends at most 10)."""
    try:
        count = min(int(form.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError:
        raise StatushubError("NumMedia must be a number", field="NumMedia") from None
    urls = []
    for i in range(count):
        url = form.get(f"MediaUrl{i}")
        if not url:
            raise StatushubError(f"MediaUrl{i} is missing (NumMedia is {count})", field=f"MediaUrl{i}")
        content_type = (form.get(f"MediaContentType{i}") or "").strip().lower() or None
        if content_type is not None and not CONTENT_TYPE.fullmatch(content_type):
            raise StatushubError(
                f"MediaContentType{i} {content_type!r} is not a content type", field=f"MediaContentType{i}"
            )
        urls.append(Media(url.strip(), content_type))
    return urls


def parse_status(form: Mapping[str, str]) -> DeliveryUpdate:
    """A status callback (https://www.twilio.com/docs/messaging/guides/track-outbound-message-status)."""
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    if not sid:
        raise StatushubError("MessageSid is missing", field="MessageSid")
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    if not status:
        raise StatushubError("MessageStatus is missing", field="MessageStatus")
    channel = channel_of(form.get("From") or form.get("To"))
    return DeliveryUpdate(sid, status, (form.get("ErrorCode") or "").strip() or None, channel)


# Twilio's own keywords it answers itself (Advanced Opt-Out): an auto-reply would be a second answer.
# https://www.twilio.com/docs/messaging/tutorials/advanced-opt-out
HELP_WORDS = frozenset({"help", "info"})


def is_help(text: str) -> bool:
    """True when the whole body is HELP or INFO (any case, surrounding spaces and punctuation ignored)."""
    if len(text) > 20:
        return False
    return "".join(ch for ch in text.casefold() if ch.isalnum()) in HELP_WORDS and len(text.split()) == 1

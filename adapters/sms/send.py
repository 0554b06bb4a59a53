"""Sending SMS and WhatsApp messages through the Twilio REST API, and recording each as the
conversation's outbound message (SPEC §3, §11).

`send_twilio(app, channel, workspace_id, customer_id, text, sender="agent", content_sid=None)` refuses
an SMS to an opted-out customer and a free-form WhatsApp message outside WhatsApp's 24-hour window
(nothing sent, nothing stored), sends from the workspace's sender for the channel, asks Twilio for
delivery reports whenever the hub has a public URL, and records the message (the reply track moves to
no_reply). Twilio's error 21610 (the recipient unsubscribed) opts the customer out. `init_app`
registers it as the hub's `sms` and `whatsapp` senders.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta

from flask import Flask
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from plugin.automation.outbound import Sent
from plugin.customers.recipients import phone_recipient, record_opt_out
from plugin.domain.clock import utcnow
from plugin.domain.errors import OptedOut, StatushubError
from plugin.domain.events import MessageEvent
from plugin.engine import record_sent
from plugin.workspace.accounts import twilio_account_of
from plugin.workspace.twilio_senders import sending_from

log = logging.getLogger("statushub.sms")
SENDERS = ("agent", "bot")
TIMEOUT = 10  # seconds: an agent waits on this call
# https://www.twilio.com/docs/whatsapp/key-concepts#the-24-hour-window-or-24-hour-customer-service-window
WHATSAPP_WINDOW = timedelta(hours=24)
UNSUBSCRIBED = 21610  # https://www.twilio.com/docs/errors/21610
UNSUBSCRIBED_NOTE = (
    "Twilio error 21610: the recipient has unsubscribed (replied STOP); Twilio refuses SMS to them"
)


class SendFailed(StatushubError):
    code = "send_failed"
    http_status = 502


class OutsideWhatsAppWindow(StatushubError):
    code = "outside_whatsapp_window"
    http_status = 409


def send_twilio(
    app: Flask,
    channel: str,
    workspace_id: int,
    customer_id: int,
    text: str,
    sender: str = "agent",
    *,
    content_sid: str | None = None,
    now: datetime | None = None,
) -> Sent:
    """Sends to the customer on `channel` ("sms" or "whatsapp") and records it; raises OptedOut,
    OutsideWhatsAppWindow, UnknownCustomer, StatushubError (no number, no Twilio account or sender,
    bad input) or SendFailed (Twilio refused)."""
    hub = app.extensions["statushub"]
    if sender not in SENDERS:
        raise StatushubError(
            f"sender must be one of {', '.join(SENDERS)}", field="sender", choices=list(SENDERS)
        )
    if not text.strip() and not content_sid:
        raise StatushubError("the message is empty", field="text")
    now = now or utcnow()
    with hub.reading() as conn:
        account = twilio_account_of(conn, workspace_id)
        recipient = phone_recipient(conn, workspace_id, customer_id, channel)
        origin = sending_from(conn, workspace_id, channel) if account else None
    if account is None:
        raise StatushubError("this workspace has no Twilio account", field="workspace")
    if origin is None:
        raise StatushubError(
            f"this workspace has no Twilio sender for {channel}: statushub workspace edit --add-twilio-sender",
            field="channel",
        )
    if channel == "whatsapp" and not content_sid:
        last = recipient.last_inbound_at
        if last is None or now - last > WHATSAPP_WINDOW:
            raise OutsideWhatsAppWindow(
                "WhatsApp allows free-form messages only within 24 hours of the customer's last message; "
                "send an approved template with content_sid",
                field="content_sid",
            )

    client = Client(account.account, account.secret, http_client=TwilioHttpClient(timeout=TIMEOUT))
    client.api.base_url = hub.settings.twilio_api_url
    prefix = "whatsapp:" if channel == "whatsapp" else ""
    options: dict[str, str] = {"to": prefix + recipient.number}
    if origin.messaging_service:
        options["messaging_service_sid"] = origin.messaging_service
    else:
        options["from_"] = origin.number or ""
    if text.strip():
        options["body"] = text
    if content_sid:
        options["content_sid"] = content_sid
    if hub.settings.public_url:
        options["status_callback"] = f"{hub.settings.public_url}/sms/twilio/status"
    try:
        created = client.messages.create(**options)
    except TwilioRestException as exc:
        log.warning("twilio refused a message", extra={"workspace_id": workspace_id, "code": exc.code})
        if exc.code == UNSUBSCRIBED and channel == "sms":
            with hub.transaction() as conn:
                record_opt_out(
                    conn,
                    workspace_id,
                    customer_id,
                    source="twilio:21610",
                    actor="twilio",
                    note=UNSUBSCRIBED_NOTE,
                )
            raise OptedOut(
                "Twilio says the customer unsubscribed (error 21610): they are now marked opted out; nothing was sent",
                field="customer",
            ) from None
        raise SendFailed(f"Twilio refused the message: {exc.msg}", field="text") from None
    except (TwilioException, OSError) as exc:
        log.warning("twilio unreachable", extra={"workspace_id": workspace_id, "error": type(exc).__name__})
        raise SendFailed("Twilio could not be reached; nothing was sent") from None

    # Our clock, not Twilio's date_created (whole seconds): inbound SMS are timed by our receipt clock,
    # and the reply track must order the two on the same clock.
    stored_text = text if text.strip() else f"(WhatsApp template {content_sid})"
    event = MessageEvent(
        workspace_id, channel, recipient.identity, "outbound", sender, stored_text, created.sid, now
    )
    with hub.transaction() as conn:
        recorded, after = record_sent(conn, event, created.status or "queued", now=now)
    log.info(
        "twilio message sent",
        extra={"workspace_id": workspace_id, "message_id": recorded.message_id, "channel": channel},
    )
    assert recorded.message_id is not None, "a message just sent is new"
    return Sent(
        recorded.message_id,
        created.sid,
        recorded.customer_id,
        recorded.statuses,
        after.status if after is not None else None,
    )


def send_sms(
    app: Flask, workspace_id: int, customer_id: int, text: str, sender: str = "agent", **options
) -> Sent:
    """`send_twilio` on the SMS channel."""
    return send_twilio(app, "sms", workspace_id, customer_id, text, sender, **options)


def init_app(app: Flask) -> None:
    outbound = app.extensions["statushub"].outbound
    outbound.register("sms", functools.partial(send_twilio, app, "sms"))
    outbound.register("whatsapp", functools.partial(send_twilio, app, "whatsapp"))

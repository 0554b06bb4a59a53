"""Sending an SMS through the Twilio REST API, and recording it as the conversation's outbound message.

`send_sms(app, workspace_id, customer_id, text, sender="agent")` refuses an opted-out customer
(OptedOut: nothing sent, nothing stored), sends from the workspace's number, asks Twilio for status
callbacks when the hub has a public URL, and records the message (the reply track moves to
no_reply). `init_app` registers it as the hub's `sms` sender.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime

from flask import Flask
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from plugin.automation.outbound import Sent
from plugin.customers.naming import sms_recipient
from plugin.domain.clock import utcnow
from plugin.domain.errors import StatushubError
from plugin.domain.events import MessageEvent
from plugin.engine import record_sent
from plugin.workspace.accounts import twilio_account_of

log = logging.getLogger("statushub.sms")
SENDERS = ("agent", "bot")
TIMEOUT = 10  # seconds: an agent waits on this call


class SendFailed(StatushubError):
    code = "send_failed"
    http_status = 502


def send_sms(
    app: Flask,
    workspace_id: int,
    customer_id: int,
    text: str,
    sender: str = "agent",
    *,
    now: datetime | None = None,
) -> Sent:
    """Sends `text` to the customer's phone and records it; raises OptedOut, UnknownCustomer,
    StatushubError (no phone, no Twilio account, bad input) or SendFailed (Twilio refused)."""
    hub = app.extensions["statushub"]
    if sender not in SENDERS:
        raise StatushubError(
            f"sender must be one of {', '.join(SENDERS)}", field="sender", choices=list(SENDERS)
        )
    if not text.strip():
        raise StatushubError("the message is empty", field="text")
    with hub.reading() as conn:
        account = twilio_account_of(conn, workspace_id)
        phone = sms_recipient(conn, workspace_id, customer_id)
    if account is None:
        raise StatushubError("this workspace has no Twilio account and number", field="workspace")

    client = Client(account.account, account.secret, http_client=TwilioHttpClient(timeout=TIMEOUT))
    public_url = hub.settings.public_url
    options = {"status_callback": f"{public_url}/sms/twilio/status"} if public_url else {}
    try:
        created = client.messages.create(
            from_=account.number, to=phone.removeprefix("sms:"), body=text, **options
        )
    except TwilioRestException as exc:
        log.warning("twilio refused a message", extra={"workspace_id": workspace_id, "code": exc.code})
        raise SendFailed(f"Twilio refused the message: {exc.msg}", field="text") from None
    except (TwilioException, OSError) as exc:
        log.warning("twilio unreachable", extra={"workspace_id": workspace_id, "error": type(exc).__name__})
        raise SendFailed("Twilio could not be reached; nothing was sent") from None

    now = now or utcnow()
    # Our clock, not Twilio's date_created (whole seconds): inbound SMS are timed by our receipt clock,
    # and the reply track must order the two on the same clock.
    event = MessageEvent(workspace_id, "sms", phone, "outbound", sender, text, created.sid, now)
    with hub.transaction() as conn:
        recorded, after = record_sent(conn, event, created.status or "queued", now=now)
    log.info("sms sent", extra={"workspace_id": workspace_id, "message_id": recorded.message_id})
    assert recorded.message_id is not None, "a message just sent is new"
    return Sent(
        recorded.message_id,
        created.sid,
        recorded.customer_id,
        recorded.statuses,
        after.status if after is not None else None,
    )


def init_app(app: Flask) -> None:
    app.extensions["statushub"].outbound.register("sms", functools.partial(send_sms, app))

"""Sending an SMS through the Twilio REST API, and recording it as the conversation's outbound message.

`send_sms(app_or_engine, workspace_id, customer_id, text, sender="agent")` refuses an opted-out
customer (OptedOut: nothing sent, nothing stored), sends from the workspace's number, asks Twilio for
status callbacks when the hub has a public URL, and records the message through the inbox (the reply
track moves to no_reply).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flask import Flask
from sqlalchemy import Engine, and_, bindparam, select
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from plugin.app.settings import Settings
from plugin.domain.clock import utcnow
from plugin.domain.errors import OptedOut, StatushubError, UnknownCustomer
from plugin.domain.events import MessageEvent
from plugin.engine.delivery_status import record_delivery
from plugin.engine.inbox import receive
from plugin.store.db import reading, transaction
from plugin.store.schema import Customer, Identity, Workspace

log = logging.getLogger("statushub.sms")
C, ID, W = Customer.__table__, Identity.__table__, Workspace.__table__
SENDERS = ("agent", "bot")
TIMEOUT = 10  # seconds: an agent waits on this call

_ACCOUNT = select(W.c.twilio_account_sid, W.c.twilio_auth_token, W.c.twilio_number).where(
    W.c.id == bindparam("w")
)
_CUSTOMER = select(C.c.opted_out).where(and_(C.c.workspace_id == bindparam("w"), C.c.id == bindparam("c")))
_PHONE = (
    select(ID.c.value)
    .where(and_(ID.c.workspace_id == bindparam("w"), ID.c.customer_id == bindparam("c")))
    .where(ID.c.value.like("sms:%"))
    .order_by(ID.c.id)
    .limit(1)
)


class SendFailed(StatushubError):
    code = "send_failed"
    http_status = 502


@dataclass(frozen=True)
class Sent:
    """A sent SMS as stored: its message id, Twilio's sid and the customer's statuses after it."""

    message_id: int
    sid: str
    customer_id: int
    statuses: dict[str, str]
    delivery_status: str | None


def send_sms(
    app_or_engine: Flask | Engine,
    workspace_id: int,
    customer_id: int,
    text: str,
    sender: str = "agent",
    *,
    public_url: str | None = None,
    now: datetime | None = None,
) -> Sent:
    """Sends `text` to the customer's phone and records it; raises OptedOut, UnknownCustomer,
    StatushubError (no phone, no Twilio account, bad input) or SendFailed (Twilio refused)."""
    engine, public_url = _engine_and_url(app_or_engine, public_url)
    if sender not in SENDERS:
        raise StatushubError(
            f"sender must be one of {', '.join(SENDERS)}", field="sender", choices=list(SENDERS)
        )
    if not text.strip():
        raise StatushubError("the message is empty", field="text")
    with reading(engine) as conn:
        account = conn.execute(_ACCOUNT, {"w": workspace_id}).first()
        customer = conn.execute(_CUSTOMER, {"w": workspace_id, "c": customer_id}).first()
        phone = conn.execute(_PHONE, {"w": workspace_id, "c": customer_id}).scalar()
    if customer is None:
        raise UnknownCustomer(f"no customer {customer_id}", field="customer")
    if customer.opted_out:
        raise OptedOut(
            "the customer has opted out of SMS (they sent STOP); nothing was sent", field="customer"
        )
    if phone is None:
        raise StatushubError("the customer has no phone number", field="customer")
    if account is None or not (
        account.twilio_account_sid and account.twilio_auth_token and account.twilio_number
    ):
        raise StatushubError("this workspace has no Twilio account and number", field="workspace")

    client = Client(
        account.twilio_account_sid, account.twilio_auth_token, http_client=TwilioHttpClient(timeout=TIMEOUT)
    )
    options = {"status_callback": f"{public_url}/sms/twilio/status"} if public_url else {}
    try:
        created = client.messages.create(
            from_=account.twilio_number, to=phone.removeprefix("sms:"), body=text, **options
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
    with transaction(engine) as conn:
        recorded = receive(conn, workspace_id, [event], now=now)[0]
        after = record_delivery(conn, workspace_id, "sms", created.sid, created.status or "queued")
    log.info("sms sent", extra={"workspace_id": workspace_id, "message_id": recorded.message_id})
    return Sent(
        recorded.message_id, created.sid, recorded.customer_id, recorded.statuses, after and after.status
    )


def _engine_and_url(app_or_engine: Flask | Engine, public_url: str | None) -> tuple[Engine, str | None]:
    if isinstance(app_or_engine, Engine):
        return app_or_engine, public_url or Settings.from_env().public_url
    found = app_or_engine.extensions["statushub"]
    return found.engine, public_url or found.settings.public_url

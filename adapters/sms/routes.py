"""Twilio's webhooks: inbound messages and status callbacks, each one short write transaction (SPEC §5, STYLE §11).

An unknown `To` number answers 401, not 404: with no workspace there is no auth token to verify the
request with, and a 404 would tell anyone probing which numbers the hub serves. Twilio treats both as
a failed delivery.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from adapters.sms import twiml
from adapters.sms.parse import e164, parse_inbound, parse_status
from adapters.sms.signature import is_signed, signed_url
from plugin.app import hub
from plugin.domain.clock import utcnow
from plugin.domain.errors import StatushubError
from plugin.domain.optout import opt_change
from plugin.engine.delivery_status import record_delivery
from plugin.engine.inbox import receive
from plugin.store import prepared as raw_sql
from plugin.store.db import transaction
from plugin.store.schema import Workspace

log = logging.getLogger("statushub.sms")
bp = Blueprint("sms", __name__)
W = Workspace.__table__

_BY_NUMBER = select(
    W.c.id, W.c.twilio_auth_token, W.c.default_region, W.c.catalog_version, W.c.settings
).where(W.c.twilio_number == bindparam("n"))
_BY_ACCOUNT = (
    select(W.c.id, W.c.twilio_auth_token, W.c.twilio_number)
    .where(W.c.twilio_account_sid == bindparam("a"))
    .order_by(W.c.id)
)


class BadSignature(StatushubError):
    code = "bad_signature"
    http_status = 401


def _refuse(reason: str) -> BadSignature:
    log.warning("twilio webhook refused", extra={"reason": reason, "path": request.path})
    return BadSignature("the request is not signed by Twilio for a number this hub serves")


@bp.post("/sms/twilio/inbound")
def inbound():
    h = hub()
    form = request.form
    number = e164(form.get("To"))
    url = signed_url(request, h.settings)
    now = utcnow()
    with h.engine.connect() as conn:
        # Looked up and verified on the request's one connection before its unit of work begins:
        # SQLite reads it without the write lock, which the other worker then waits for only while the
        # message is applied (on PostgreSQL the read opens the transaction and is part of it).
        ws = raw_sql.first(conn, _BY_NUMBER, {"n": number}) if number else None
        if ws is None:
            raise _refuse("unknown To number")
        ws_id, auth_token, region, catalog_version, settings = ws
        if not is_signed(auth_token, url, form, request.headers):
            raise _refuse("bad signature")
        event = parse_inbound(form, ws_id, now, region)
        # A concurrent duplicate loses on the unique provider id and rolls back; the retry sees the first.
        for attempt in range(2):
            try:
                with conn.begin():
                    recorded = receive(conn, ws_id, [event], now=now, catalog_version=catalog_version)[0]
                break
            except IntegrityError:
                if attempt:
                    raise
    log.info(
        "sms inbound",
        extra={"workspace_id": ws_id, "message_id": recorded.message_id, "duplicate": recorded.duplicate},
    )
    reply = (settings or {}).get("sms_auto_reply")
    # Carriers answer STOP themselves; a reply to it would be a message to an opted-out number.
    if reply and (event.opt == "out" or opt_change(event.text) == "out"):
        reply = None
    return Response(twiml.response(reply), 200, mimetype="text/xml")


@bp.post("/sms/twilio/status")
def status():
    """Records a delivery report. An unknown MessageSid answers 200: Twilio would only retry a report
    that can never match (a message sent outside the hub, or one whose sender rolled back)."""
    h = hub()
    form = request.form
    url = signed_url(request, h.settings)
    with transaction(h.engine) as conn:
        rows = conn.execute(_BY_ACCOUNT, {"a": form.get("AccountSid") or ""}).all()
        ws = _pick(rows, e164(form.get("From")))
        if ws is None:
            raise _refuse("unknown AccountSid")
        if not is_signed(ws.twilio_auth_token, url, form, request.headers):
            raise _refuse("bad signature")
        update = parse_status(form)
        after = record_delivery(conn, ws.id, "sms", update.message_sid, update.status, update.error_code)
    if after is None:
        log.warning(
            "delivery report for an unknown message", extra={"workspace_id": ws.id, "sid": update.message_sid}
        )
    else:
        log.info(
            "sms delivery", extra={"workspace_id": ws.id, "sid": update.message_sid, "status": after.status}
        )
    return Response(twiml.EMPTY, 200, mimetype="text/xml")


def _pick(rows, sender: str | None):
    """The workspace of an account: the one whose number sent the message when the account has several."""
    if len(rows) == 1:
        return rows[0]
    return next((r for r in rows if sender and r.twilio_number == sender), None)

"""Twilio's webhooks: inbound messages and status callbacks, each one short write transaction (SPEC §5, STYLE §11).

An unknown `To` number answers 401, not 404: with no workspace there is no auth token to verify the
request with, and a 404 would tell anyone probing which numbers the hub serves. Twilio treats both as
a failed delivery.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from sqlalchemy.exc import IntegrityError

from adapters.sms import twiml
from adapters.sms.parse import e164, parse_inbound, parse_status
from adapters.sms.signature import is_signed, signed_url
from plugin.app import hub
from plugin.domain.clock import utcnow
from plugin.domain.errors import StatushubError
from plugin.domain.optout import opt_change
from plugin.engine import receive, record_delivery
from plugin.workspace.accounts import sms_account_before_unit_of_work, sms_account_of

log = logging.getLogger("statushub.sms")
bp = Blueprint("sms", __name__)


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
        # Looked up and verified on the request's one connection before its unit of work begins.
        account = sms_account_before_unit_of_work(conn, number) if number else None
        if account is None:
            raise _refuse("unknown To number")
        ws_id = account.workspace_id
        if not is_signed(account.secret, url, form, request.headers):
            raise _refuse("bad signature")
        event = parse_inbound(form, ws_id, now, account.region)
        # A concurrent duplicate loses on the unique provider id and rolls back; the retry sees the first.
        for attempt in range(2):
            try:
                with conn.begin():
                    recorded = receive(
                        conn, ws_id, [event], now=now, catalog_version=account.catalog_version
                    )[0]
                break
            except IntegrityError:
                if attempt:
                    raise
    log.info(
        "sms inbound",
        extra={"workspace_id": ws_id, "message_id": recorded.message_id, "duplicate": recorded.duplicate},
    )
    reply = account.settings.get("sms_auto_reply")
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
    with h.transaction() as conn:
        account = sms_account_of(conn, form.get("AccountSid") or "", e164(form.get("From")))
        if account is None:
            raise _refuse("unknown AccountSid")
        if not is_signed(account.secret, url, form, request.headers):
            raise _refuse("bad signature")
        update = parse_status(form)
        after = record_delivery(
            conn, account.workspace_id, "sms", update.message_sid, update.status, update.error_code
        )
    if after is None:
        log.warning(
            "delivery report for an unknown message",
            extra={"workspace_id": account.workspace_id, "sid": update.message_sid},
        )
    else:
        log.info(
            "sms delivery",
            extra={"workspace_id": account.workspace_id, "sid": update.message_sid, "status": after.status},
        )
    return Response(twiml.EMPTY, 200, mimetype="text/xml")

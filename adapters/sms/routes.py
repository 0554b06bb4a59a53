"""Twilio's webhooks: inbound messages and status callbacks, each one short write transaction (SPEC §5, STYLE §11).

An inbound request belongs to the workspace owning its `To` sender (number, WhatsApp sender, short
code), else its Messaging Service, else its AccountSid when one workspace alone has it (SPEC §11). A
request no workspace owns answers 401, not 404: with no workspace there is no auth token to verify
it with, and a 404 would tell anyone probing which numbers the hub serves. Twilio treats both as a
failed delivery.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request

from adapters.sms import twiml
from adapters.sms.parse import is_help, parse_inbound, parse_status, senders_of
from adapters.sms.send import UNSUBSCRIBED, UNSUBSCRIBED_NOTE
from adapters.sms.signature import is_signed, signed_url
from plugin.app import Hub, hub
from plugin.app.folding import Folder, FoldProcess
from plugin.app.lane import Answer, LaneRequest
from plugin.customers.recipients import record_opt_out
from plugin.domain.clock import utcnow
from plugin.domain.errors import StatushubError
from plugin.domain.optout import opt_change
from plugin.engine import delivered_once, hold_committed, read_ahead, receive, record_delivery
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
    senders = senders_of(form.get("To"), form.get("MessagingServiceSid"))
    url = signed_url(request, h.settings)
    now = utcnow()
    # With a folder, a connection whose insert commits alone on PostgreSQL (held messages); else the
    # request's one connection, which the message is then folded on.
    connect = h.single_statements if h.folder is not None else h.engine.connect
    with connect() as conn:
        # Looked up and verified before any unit of work begins (SQLite: without the writer lock).
        account = sms_account_before_unit_of_work(conn, senders, (form.get("AccountSid") or "").strip())
        if account is None:
            raise _refuse("no workspace owns the To sender, Messaging Service or account")
        ws_id = account.workspace_id
        if not is_signed(account.secret, url, form, request.headers):
            raise _refuse("bad signature")
        event = parse_inbound(form, ws_id, now, account.region)
        reply = account.settings.get("sms_auto_reply")
        if h.folder is not None and not reply:
            # The answer needs no statuses: stored (committed) now, folded into statuses in a moment.
            _hold(conn, h.folder, event, now)
            return Response(twiml.EMPTY, 200, mimetype="text/xml")
        if h.folder is None:
            return _received(conn, event, account.catalog_version, reply, now)
    with h.engine.connect() as conn:  # an auto-reply beside a folder: the lookup's connection autocommits
        return _received(conn, event, account.catalog_version, reply, now)


def _hold(conn, folder: Folder | FoldProcess, event, now) -> None:
    """Stores `event` (committed) for `folder` to fold into statuses in a moment."""
    held = hold_committed(conn, event, now)
    folder.soon(event.workspace_id)
    log.info("sms inbound held", extra={"workspace_id": event.workspace_id, "duplicate": not held})


_HELD = Answer("200 OK", "text/xml; charset=utf-8", twiml.EMPTY.encode())


def lane_inbound(h: Hub, folder: Folder | FoldProcess, request: LaneRequest) -> Answer | None:
    """`inbound`'s usual case, answered by the webhook lane without Flask where messages are held (by
    `folder`): a signed message for a workspace with no auto-reply, held. Anything else is None, and
    `inbound` answers it (a refusal, with its log line; a bad field; an auto-reply)."""
    form = request.form
    url = signed_url(request, h.settings)
    now = utcnow()
    with h.single_statements() as conn:
        senders = senders_of(form.get("To"), form.get("MessagingServiceSid"))
        account = sms_account_before_unit_of_work(conn, senders, (form.get("AccountSid") or "").strip())
        if account is None or account.settings.get("sms_auto_reply"):
            return None
        if not is_signed(account.secret, url, form, request.headers):
            return None
        _hold(conn, folder, parse_inbound(form, account.workspace_id, now, account.region), now)
    return _HELD


def _received(conn, event, catalog_version: int | None, reply: str | None, now) -> Response:
    """An inbound message folded in its request on `conn`: its answer may depend on it (an auto-reply
    is not sent to a customer who is opted out, nor to a keyword)."""
    ws_id = event.workspace_id
    ahead = read_ahead(conn, ws_id, [event], catalog_version)
    recorded = delivered_once(conn, lambda: receive(conn, ws_id, [event], now=now, ahead=ahead)[0])
    log.info(
        "sms inbound",
        extra={"workspace_id": ws_id, "message_id": recorded.message_id, "duplicate": recorded.duplicate},
    )
    # Twilio answers STOP, START and HELP/INFO itself (Advanced Opt-Out): a second answer is noise, and
    # one to an opted-out customer an SMS they refused (SPEC §11).
    sms = event.channel == "sms"
    keyword = event.opt or (sms and opt_change(event.text)) or is_help(event.text)
    if reply and (keyword or (sms and recorded.opted_out)):
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
        account = sms_account_of(
            conn, form.get("AccountSid") or "", senders_of(form.get("From"), form.get("MessagingServiceSid"))
        )
        if account is None:
            raise _refuse("unknown AccountSid")
        if not is_signed(account.secret, url, form, request.headers):
            raise _refuse("bad signature")
        update = parse_status(form)
        after = record_delivery(
            conn, account.workspace_id, update.channel, update.message_sid, update.status, update.error_code
        )
        # Twilio refused a message the hub sent because the customer unsubscribed: with a Messaging
        # Service this arrives here rather than as the REST API's answer (twilio-python #478).
        if after is not None and update.error_code == str(UNSUBSCRIBED) and update.channel == "sms":
            record_opt_out(
                conn,
                account.workspace_id,
                after.customer_id,
                source="twilio:21610",
                actor="twilio",
                note=UNSUBSCRIBED_NOTE,
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

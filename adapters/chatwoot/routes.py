"""`POST /chatwoot/events/<workspace slug>`: Chatwoot's account webhook, one short transaction (SPEC §11).

The cheapest refusal first: size (Flask answers 413 before reading), the timestamp's shape and age,
the workspace's secret (an unknown or unconnected workspace answers 401 like a bad signature: there is
no secret to verify with), the signature over the raw bytes, then the body. Chatwoot gives up after
5 s and never retries an account webhook, so the answer waits on nothing but the database.
"""

from __future__ import annotations

import json
import logging
import time

from flask import Blueprint, Response, request

from adapters.chatwoot import signature
from adapters.chatwoot.parse import Delivery, parse_delivery
from plugin.app import hub
from plugin.automation.chatwoot_sync import SCOPE
from plugin.customers.naming import customer_name
from plugin.domain.clock import utcnow
from plugin.domain.errors import StatushubError
from plugin.domain.json_body import json_object
from plugin.engine import Recorded, delivered_once, receive_from_contact
from plugin.workspace.chatwoot import inbound_account

log = logging.getLogger("statushub.chatwoot")
bp = Blueprint("chatwoot", __name__)
MAX_DELIVERY_ID = 128


class BadSignature(StatushubError):
    code = "bad_signature"
    http_status = 401


def _refuse(reason: str, field: str = "X-Chatwoot-Signature") -> BadSignature:
    log.warning("chatwoot delivery refused", extra={"reason": reason})
    return BadSignature(
        "the delivery is not signed with this workspace's Chatwoot webhook secret (or is too old)",
        field=field,
    )


@bp.post("/chatwoot/events/<slug>")
def events(slug: str):
    h = hub()
    raw = request.get_data(cache=False)  # over 1 MiB: Flask raises 413 here, before anything is read
    stamp = request.headers.get("X-Chatwoot-Timestamp")
    timestamp = signature.parse_timestamp(stamp)
    if timestamp is None or stamp is None:
        raise _refuse("missing or malformed timestamp", "X-Chatwoot-Timestamp")
    if not signature.is_fresh(timestamp, time.time()):
        raise _refuse("stale or future timestamp", "X-Chatwoot-Timestamp")
    key = _delivery_id(request.headers.get("X-Chatwoot-Delivery"))
    now = utcnow()
    with h.engine.connect() as conn:
        # Found and verified on the request's one connection before its unit of work begins, as for SMS.
        account = inbound_account(conn, slug) if len(slug) <= 64 else None
        if account is None:
            raise _refuse("unknown workspace or no Chatwoot connection")
        if not signature.matches(account.secret, stamp, request.headers.get("X-Chatwoot-Signature"), raw):
            raise _refuse("bad signature")
        delivery = parse_delivery(_document(raw), account.workspace_id, account.region)
        if delivery.ignored is not None:
            log.info(
                "chatwoot event ignored",
                extra={"workspace_id": account.workspace_id, "event": delivery.event},
            )
            body = json.dumps({"event": delivery.event, "ignored": delivery.ignored})
            return Response(body, 200, mimetype="application/json")
        change = delivery.message or delivery.edit
        contact = delivery.contact
        assert change is not None and contact is not None

        def answer(recorded: Recorded | None) -> str:
            return _answer(conn, account.workspace_id, delivery, recorded)

        body, repeated = delivered_once(
            conn,
            lambda: receive_from_contact(
                conn,
                account.workspace_id,
                SCOPE,
                key,
                change,
                contact,
                now=now,
                catalog_version=account.catalog_version,
                answer=answer,
            ),
        )
    log.info(
        "chatwoot event",
        extra={"workspace_id": account.workspace_id, "event": delivery.event, "repeated": repeated},
    )
    return Response(body, 200, mimetype="application/json")


def _answer(conn, workspace_id: int, delivery: Delivery, recorded: Recorded | None) -> str:
    if recorded is None:
        return json.dumps({"event": delivery.event, "updated": True})
    return json.dumps(
        {
            "event": delivery.event,
            "customer": {
                "id": recorded.customer_id,
                "name": customer_name(conn, workspace_id, recorded.customer_id),
                "statuses": recorded.statuses,
            },
            "message_id": recorded.message_id,
            "duplicate": recorded.duplicate,
            "intents": list(recorded.intents),
        },
        ensure_ascii=False,
    )


def _delivery_id(value: str | None) -> str | None:
    """Chatwoot's delivery UUID; a delivery without one (Chatwoot before 4.11.2 sends none) is still
    stored once by its message id. A header of another shape is no delivery id of Chatwoot's."""
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > MAX_DELIVERY_ID or not value.isascii() or not value.isprintable():
        raise StatushubError(
            "X-Chatwoot-Delivery must be Chatwoot's delivery id (a UUID)", field="X-Chatwoot-Delivery"
        )
    return value


def _document(raw: bytes) -> dict:
    # No per-object hook: a Chatwoot body has dozens of objects; the strings the hub keeps are made
    # storable where they are read (parse.py, MessageEvent).
    return json_object(raw)

"""`POST /webchat/events`: one signed event in, the customer's statuses out, in one transaction (SPEC §5).

The order of checks is the cheapest refusal first: size (Flask answers 413 before reading), the
signature header's shape and age, the body's encoding and shape, then the workspace's secret. An unknown
workspace answers 401 like a bad signature: there is no secret to verify with.
"""

from __future__ import annotations

import json
import logging
import time

from flask import Blueprint, Response, request
from sqlalchemy import and_, bindparam, select
from sqlalchemy.exc import IntegrityError

from adapters.webchat import signature
from adapters.webchat.schema import load_event, storable_object
from plugin.app import hub
from plugin.domain.clock import utcnow
from plugin.domain.errors import StatushubError
from plugin.domain.events import MessageEvent
from plugin.engine.inbox import receive
from plugin.store.db import reading, transaction
from plugin.store.idempotency import remember, remembered
from plugin.store.schema import Customer, Workspace

log = logging.getLogger("statushub.webchat")
bp = Blueprint("webchat", __name__)
W, C = Workspace.__table__, Customer.__table__
SCOPE = "webchat"

_BY_SLUG = select(W.c.id, W.c.webchat_secret, W.c.catalog_version).where(W.c.slug == bindparam("s"))
_NAME = select(C.c.name).where(and_(C.c.workspace_id == bindparam("w"), C.c.id == bindparam("c")))


class BadSignature(StatushubError):
    code = "bad_signature"
    http_status = 401


def _refuse(reason: str) -> BadSignature:
    log.warning("web chat event refused", extra={"reason": reason})
    return BadSignature(
        "the event is not signed with this workspace's web chat secret (or is too old)",
        field="X-Statushub-Signature",
    )


@bp.post("/webchat/events")
def events():
    h = hub()
    raw = request.get_data(cache=False)  # over 1 MiB: Flask raises 413 here, before anything is read
    parsed = signature.parse_header(request.headers.get("X-Statushub-Signature"))
    if parsed is None:
        raise _refuse("missing or malformed signature header")
    if not signature.is_fresh(parsed, time.time()):
        raise _refuse("stale or future timestamp")
    document = _document(raw)
    slug = document.get("workspace")
    if not isinstance(slug, str) or not slug:
        raise StatushubError("workspace: a workspace slug is required", field="workspace")

    now = utcnow()
    for attempt in range(2):
        try:
            with transaction(h.engine) as conn:
                status, body = _handle(conn, slug, parsed, raw, document, now)
            break
        except IntegrityError:
            # A concurrent duplicate committed first: answer what it answered.
            if attempt:
                raise
            with reading(h.engine) as conn:
                ws = conn.execute(_BY_SLUG, {"s": slug}).first()
                first = remembered(conn, ws.id, SCOPE, document.get("event_id", "")) if ws else None
            if first is not None:
                status, body = first
                break
    return Response(body, status, mimetype="application/json")


def _handle(conn, slug, parsed, raw, document, now) -> tuple[int, str]:
    ws = conn.execute(_BY_SLUG, {"s": slug}).first()
    if ws is None or not ws.webchat_secret:
        raise _refuse("unknown workspace or no web chat secret")
    if not signature.matches(ws.webchat_secret, parsed, raw):
        raise _refuse("bad signature")
    data = load_event(document)
    first = remembered(conn, ws.id, SCOPE, data["event_id"])
    if first is not None:
        log.info("web chat duplicate", extra={"workspace_id": ws.id})
        return first
    visitor = data["visitor"]
    event = MessageEvent(
        workspace_id=ws.id,
        channel="webchat",
        identity="webchat:" + visitor["id"].strip(),
        direction=data["direction"],
        sender=data["sender"],
        text=data["text"],
        provider_id=data["event_id"],
        provider_at=data["timestamp"],
        name=(visitor.get("name") or "").strip() or None,
    )
    recorded = receive(conn, ws.id, [event], now=now, catalog_version=ws.catalog_version)[0]
    name = conn.execute(_NAME, {"w": ws.id, "c": recorded.customer_id}).scalar()
    body = json.dumps(
        {
            "customer": {"id": recorded.customer_id, "name": name, "statuses": recorded.statuses},
            "message_id": recorded.message_id,
            "duplicate": recorded.duplicate,
            "intents": list(recorded.intents),
        },
        ensure_ascii=False,
    )
    remember(conn, ws.id, SCOPE, data["event_id"], 200, body, now)
    log.info(
        "web chat event",
        extra={"workspace_id": ws.id, "message_id": recorded.message_id, "duplicate": recorded.duplicate},
    )
    return 200, body


def _document(raw: bytes) -> dict:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StatushubError("the body is not UTF-8 text", field="body") from None
    try:
        document = json.loads(text, object_pairs_hook=storable_object)
    except json.JSONDecodeError as exc:
        raise StatushubError(
            f"the body is not JSON: {exc.msg} at character {exc.pos}", field="body"
        ) from None
    except (ValueError, RecursionError):
        # Absurdly deep nesting exhausts the parser's stack: still just a bad body.
        raise StatushubError(
            "the body is not JSON this hub can read (nested too deeply)", field="body"
        ) from None
    if not isinstance(document, dict):
        raise StatushubError("the body must be a JSON object", field="body")
    return document

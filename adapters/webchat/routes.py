"""`POST /webchat/events`: one signed event in, the customer's statuses out, in one transaction (SPEC §5).

The order of checks is the cheapest refusal first: size (Flask answers 413 before reading), the
signature header's shape and age, the body's encoding and shape, then the workspace's secret. An unknown
workspace answers 401 like a bad signature: there is no secret to verify with.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, request

from adapters.webchat.parse import parse_event, workspace_slug
from adapters.webchat.schema import storable_object
from plugin.app import Hub, hub
from plugin.app.lane import Answer, LaneRequest
from plugin.customers.naming import event_answer
from plugin.domain import signatures
from plugin.domain.clock import utcnow
from plugin.domain.errors import StatushubError
from plugin.domain.json_body import json_object
from plugin.engine import Recorded, delivered_once, read_ahead, receive_once, remembered_answer
from plugin.workspace.accounts import webchat_account

log = logging.getLogger("statushub.webchat")
bp = Blueprint("webchat", __name__)
SCOPE = "webchat"


class BadSignature(StatushubError):
    code = "bad_signature"
    http_status = 401


def _refuse(reason: str) -> BadSignature:
    log.warning("web chat event refused", extra={"reason": reason})
    return BadSignature(
        "the event is not signed with this workspace's web chat secret (or is too old)",
        field="X-Statushub-Signature",
    )


class _Refused(Exception):
    """A request `_answer` refuses; the route logs it and answers 401 (the lane leaves it to the route)."""

    def __init__(self, reason: str):
        self.reason = reason


@bp.post("/webchat/events")
def events():
    raw = request.get_data(cache=False)  # over 1 MiB: Flask raises 413 here, before anything is read
    try:
        body, workspace_id, repeated = _answer(hub(), raw, request.headers.get("X-Statushub-Signature"))
    except _Refused as refused:
        raise _refuse(refused.reason) from None
    _log(workspace_id, repeated)
    return Response(body, 200, mimetype="application/json")


def lane_events(h: Hub, request: LaneRequest) -> Answer | None:
    """`events`, answered by the webhook lane without Flask. A refusal, a bad body or an error is None:
    `events` answers it from the same body, with its log line."""
    try:
        body, workspace_id, repeated = _answer(
            h, request.get_data(cache=True), request.headers.get("X-Statushub-Signature")
        )
    except _Refused:
        return None
    _log(workspace_id, repeated)
    return Answer("200 OK", "application/json", body.encode())


def _log(workspace_id: int, repeated: bool) -> None:
    log.info("web chat event", extra={"workspace_id": workspace_id, "repeated": repeated})


def _answer(h: Hub, raw: bytes, signature: str | None) -> tuple[str, int, bool]:
    """The event in `raw` verified and received once: (the answer, its workspace, whether it was a
    repeat). Raises _Refused for a request not signed for its workspace, StatushubError for a bad
    body."""
    parsed = signatures.parse_header(signature)
    if parsed is None:
        raise _Refused("missing or malformed signature header")
    if not signatures.is_fresh(parsed, time.time()):
        raise _Refused("stale or future timestamp")
    document = _document(raw)
    slug = workspace_slug(document)
    now = utcnow()
    with h.engine.connect() as conn:
        # The workspace is found and the request verified before its unit of work begins, as for SMS.
        account = webchat_account(conn, slug)
        if account is None or not account.secret:
            raise _Refused("unknown workspace or no web chat secret")
        if not signatures.matches(account.secret, parsed, raw):
            raise _Refused("bad signature")
        event = parse_event(document, account.workspace_id)

        def answer(recorded: list[Recorded]) -> str:
            return event_answer(conn, account.workspace_id, recorded)

        # A repeat is answered from a read, before the writer lock (SQLite; on PostgreSQL the unit of
        # work's unique key catches it).
        body = remembered_answer(conn, account.workspace_id, SCOPE, event.provider_id)
        repeated = body is not None
        if body is None:
            ahead = read_ahead(conn, account.workspace_id, [event], account.catalog_version)

            def receive(unseen: bool) -> tuple[str, bool]:
                return receive_once(
                    conn,
                    account.workspace_id,
                    SCOPE,
                    event.provider_id,
                    [event],
                    now=now,
                    catalog_version=account.catalog_version,
                    answer=answer,
                    ahead=ahead,
                    unseen=unseen,
                )

            # Just read as unseen: the first attempt does not read it again under the writer lock.
            body, repeated = delivered_once(conn, lambda: receive(True), lambda: receive(False))
    return body, account.workspace_id, repeated


def _document(raw: bytes) -> dict:
    return json_object(raw, storable_object)

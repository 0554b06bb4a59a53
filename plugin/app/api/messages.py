"""Sending a message to a customer over the API, through the sender the SMS adapter registered."""

from __future__ import annotations

import hashlib
import json

from flask import Response, request

from plugin.app import hub
from plugin.app.api import schemas as s
from plugin.app.api.endpoint import Call, route
from plugin.customers.queries import customer_row
from plugin.domain.clock import utcnow
from plugin.store.idempotency import remember, remembered


@route(
    "/customers/<int:customer_id>/messages",
    "POST",
    summary="Send an SMS to the customer (never to an opted-out one)",
    status=201,
    body=s.MessageCreate,
    response=s.MessageSent,
    idempotent=False,
    tags=("customers",),
)
def send(call: Call, customer_id: int):
    # Twilio is called outside any open write transaction (a slow provider must not hold the database),
    # so the Idempotency-Key is checked before and remembered just after, in its own transaction.
    ws = call.owner.workspace_id
    customer_row(call.conn, ws, customer_id)
    key = request.headers.get("Idempotency-Key")
    scope = f"api:{call.owner.token_id}"
    if key:
        key = hashlib.sha256(f"{request.method} {request.path} {key}".encode()).hexdigest()
        hit = remembered(call.conn, ws, scope, key)
        if hit is not None:
            return Response(hit[1], status=hit[0], mimetype="application/json")
    sent = hub().outbound("sms")(ws, customer_id, call.body["text"], "agent")
    body = s.MessageSent().dump(
        {
            "customer_id": customer_id,
            "message_id": sent.message_id,
            "provider_id": sent.provider_id,
            "channel": "sms",
        }
    )
    text = json.dumps(body)
    if key:
        with hub().transaction() as conn:
            remember(conn, ws, scope, key, 201, text, utcnow())
    return Response(text, status=201, mimetype="application/json")

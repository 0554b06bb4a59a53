"""A customer's messages over the API: read them (with their media), and send one through the sender
the Twilio adapter registered for its channel (SMS or WhatsApp, SPEC §11)."""

from __future__ import annotations

import hashlib
import json

from flask import Response, request

from plugin.app import hub
from plugin.app.api import schemas as s
from plugin.app.api.endpoint import Call, route
from plugin.customers.queries import customer_row
from plugin.customers.read_model import conversation
from plugin.customers.recipients import reply_channel
from plugin.domain.clock import utcnow
from plugin.domain.errors import StatushubError
from plugin.store.idempotency import remember, remembered

SHOWN = 200


@route(
    "/customers/<int:customer_id>/messages",
    "GET",
    summary="The conversation, oldest first: text, media (url, content type), delivery",
    response=s.MessageList,
    tags=("customers",),
)
def list_(call: Call, customer_id: int):
    ws = call.owner.workspace_id
    customer_row(call.conn, ws, customer_id)
    # The response schema shows what the API promises (received_at is the CLI's).
    return {"items": conversation(call.conn, ws, customer_id, SHOWN)}


@route(
    "/customers/<int:customer_id>/messages",
    "POST",
    summary="Send an SMS or WhatsApp message (never an SMS to an opted-out customer; WhatsApp outside 24 h only as a template)",
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
    body = call.body
    if not body["text"].strip() and not body.get("content_sid"):
        raise StatushubError("text is required (or a content_sid template)", field="text")
    # Where the customer last wrote from, among the channels this hub can send on (SPEC §11).
    outbound = hub().outbound
    channel = body.get("channel") or reply_channel(call.conn, ws, customer_id, outbound.channels) or "sms"
    template = {"content_sid": body["content_sid"]} if body.get("content_sid") else {}
    sent = outbound(channel)(ws, customer_id, body["text"], "agent", **template)
    body = s.MessageSent().dump(
        {
            "customer_id": customer_id,
            "message_id": sent.message_id,
            "provider_id": sent.provider_id,
            "channel": channel,
        }
    )
    text = json.dumps(body)
    if key:
        with hub().transaction() as conn:
            remember(conn, ws, scope, key, 201, text, utcnow())
    return Response(text, status=201, mimetype="application/json")

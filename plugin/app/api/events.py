"""`POST /api/v1/events`: a message from a bot builder that cannot sign (Typebot, Botpress, n8n),
authenticated by an API token, answered as `/webchat/events` answers (SPEC §11)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from plugin.app.api.endpoint import Call, route
from plugin.app.api.schemas import Text
from plugin.customers.naming import event_answer
from plugin.domain.clock import utcnow
from plugin.domain.events import Media as Attachment
from plugin.domain.events import MessageEvent, sender_mismatch
from plugin.domain.identities import ingest_identity, same_person
from plugin.engine import Recorded, attach_identity, customer_of_identity, receive_once
from plugin.store.schema import Workspace

SCOPE = "api-events"


class Media(Schema):
    url = Text(required=True, length=(1, 2000), validate=validate.URL(schemes={"http", "https"}))
    content_type = Text(required=True, length=(1, 128))


class EventIn(Schema):
    class Meta:
        unknown = EXCLUDE

    identity = Text(
        required=True,
        length=(3, 255),
        metadata={"description": "`whatsapp:+E164`, `sms:+E164`, `webchat:<id>` or `<platform>:<id>`"},
    )
    name = Text(load_default=None, allow_none=True, length=(0, 200))
    direction = fields.String(required=True, validate=validate.OneOf(("inbound", "outbound")))
    sender = fields.String(required=True, validate=validate.OneOf(("customer", "agent", "bot")))
    text = Text(required=True, length=(0, 100_000))
    timestamp = fields.AwareDateTime(
        load_default=None, format="iso", metadata={"description": "default: now"}
    )
    event_id = Text(load_default=None, length=(1, 128), metadata={"description": "repeats are answered once"})
    media = fields.List(
        fields.Nested(Media),
        load_default=list,
        validate=validate.Length(max=10),
        metadata={"description": "attachments, kept with the message and shown wherever it is"},
    )

    @validates_schema
    def sender_fits_direction(self, data, **_kwargs):
        problem = sender_mismatch(data.get("direction"), data.get("sender"))
        if problem:
            raise ValidationError(problem, "sender")


class CustomerState(Schema):
    id = fields.Integer()
    name = fields.String()
    statuses = fields.Dict(keys=fields.String(), values=fields.String())


class EventAnswer(Schema):
    customer = fields.Nested(CustomerState)
    message_id = fields.Integer(allow_none=True)
    duplicate = fields.Boolean()
    intents = fields.List(fields.String())


@route(
    "/events",
    "POST",
    summary="Record a message for bots that cannot sign (Typebot, Botpress, n8n); answers like /webchat/events",
    body=EventIn,
    response=EventAnswer,
    write=True,
    idempotent=True,
    tags=("events",),
)
def post_event(call: Call):
    ws = call.owner.workspace_id
    data = call.body
    region = call.conn.execute(select(Workspace.default_region).where(Workspace.id == ws)).scalar() or "US"
    channel, identity = ingest_identity(data["identity"], region)
    now = utcnow()
    at: datetime = data["timestamp"] or now
    _join_phone_channels(call, identity)
    event = MessageEvent(
        workspace_id=ws,
        channel=channel,
        identity=identity,
        direction=data["direction"],
        sender=data["sender"],
        text=data["text"],
        provider_id=data["event_id"] or f"api-{uuid.uuid4()}",
        provider_at=at,
        name=(data["name"] or "").strip() or None,
        media=tuple(Attachment(item["url"], item["content_type"]) for item in data["media"]),
        # STOP and START are SMS keywords: a WhatsApp STOP opts out of nothing (SPEC §11).
        opt_keywords=channel != "whatsapp",
    )

    def answer(recorded: list[Recorded]) -> str:
        return event_answer(call.conn, ws, recorded)

    body, _ = receive_once(
        call.conn, ws, SCOPE, f"{channel}:{event.provider_id}", [event], now=now,
        catalog_version=call.catalog.version, answer=answer,
    )  # fmt: skip
    return json.loads(body)


def _join_phone_channels(call: Call, identity: str) -> None:
    """A new WhatsApp number joins the customer who has it as SMS, and the reverse (SPEC §11)."""
    if customer_of_identity(call.conn, call.owner.workspace_id, identity) is not None:
        return
    for twin in same_person(identity):
        owner = customer_of_identity(call.conn, call.owner.workspace_id, twin)
        if owner is not None:
            attach_identity(call.conn, call.owner.workspace_id, owner, identity)
            return

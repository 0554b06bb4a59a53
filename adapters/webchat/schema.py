"""The web chat event body (SPEC §5) as a marshmallow schema; the first bad field names the error.

The schema is the contract. Most events are the plain shape (strings within their lengths, an RFC 3339
time, no media): `_plain` loads those to the very value the schema would, in a tenth of its time
(bench/FIGURES.md), and hands anything else to the schema, which accepts it or names what is wrong. A
property test holds the two equal on generated bodies.
"""

from __future__ import annotations

import re
from datetime import datetime

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from plugin.domain.errors import StatushubError
from plugin.domain.events import sender_mismatch, storable


class VisitorSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class MediaSchema(Schema):
    """One attachment, in the shape every channel stores (SPEC §11)."""

    class Meta:
        unknown = EXCLUDE

    url = fields.Url(required=True, schemes={"http", "https"}, validate=validate.Length(max=2000))
    content_type = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^[\w.+-]+/[\w.+-]+$")
    )


class EventSchema(Schema):
    """Unknown fields are ignored, so a platform may send more than statushub reads."""

    class Meta:
        unknown = EXCLUDE

    workspace = fields.String(required=True, validate=validate.Length(min=1, max=64))
    event_id = fields.String(required=True, validate=validate.Length(min=1, max=128))
    visitor = fields.Nested(VisitorSchema, required=True)
    direction = fields.String(required=True, validate=validate.OneOf(("inbound", "outbound")))
    sender = fields.String(required=True, validate=validate.OneOf(("customer", "agent", "bot")))
    text = fields.String(required=True, validate=validate.Length(max=100_000))
    timestamp = fields.AwareDateTime(required=True, format="iso")
    media = fields.List(fields.Nested(MediaSchema), load_default=list, validate=validate.Length(max=10))

    @validates_schema
    def sender_fits_direction(self, data, **_kwargs):
        problem = sender_mismatch(data.get("direction"), data.get("sender"))
        if problem:
            raise ValidationError(problem, "sender")


_schema = EventSchema()


def storable_object(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object whose string values are storable (SPEC §12): `json.loads`'s object_pairs_hook, so
    an escaped NUL or lone surrogate in `workspace` or `event_id` is a character, not a server error."""
    return {key: storable(value) if isinstance(value, str) else value for key, value in pairs}


def load_event(document: dict) -> dict:
    """The validated event, or StatushubError naming the first bad field (`visitor.id`)."""
    plain = _plain(document)
    if plain is not None:
        return plain
    try:
        return _schema.load(document)
    except ValidationError as exc:
        field, message = _first(exc.messages)
        raise StatushubError(f"{field}: {message}", field=field) from None


def _first(messages, prefix: str = "") -> tuple[str, str]:
    if isinstance(messages, dict):
        name = next(iter(messages))
        return _first(messages[name], f"{prefix}{name}" if not prefix else f"{prefix}.{name}")
    if isinstance(messages, list) and messages:
        return _first(messages[0], prefix)
    return prefix or "body", str(messages)


# An RFC 3339 time with its offset: `datetime.fromisoformat` (the schema's own parser) reads it aware.
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)")
_DIRECTIONS, _SENDERS = ("inbound", "outbound"), ("customer", "agent", "bot")


def _plain(document: dict) -> dict | None:
    """`_schema.load(document)` for an event of the plain shape; None for any other (the schema decides)."""
    get = document.get
    workspace, event_id, visitor = get("workspace"), get("event_id"), get("visitor")
    direction, sender, text, stamp = get("direction"), get("sender"), get("text"), get("timestamp")
    if not (
        type(workspace) is str
        and 0 < len(workspace) <= 64
        and type(event_id) is str
        and 0 < len(event_id) <= 128
        and type(visitor) is dict
        and direction in _DIRECTIONS
        and sender in _SENDERS
        and type(direction) is str
        and type(sender) is str
        and (direction == "inbound") == (sender == "customer")
        and type(text) is str
        and len(text) <= 100_000
        and type(stamp) is str
        and _RFC3339.fullmatch(stamp)
        and get("media", ()) in ((), [])
    ):
        return None
    visitor_id, name = visitor.get("id"), visitor.get("name")
    if not (
        type(visitor_id) is str
        and 0 < len(visitor_id) <= 200
        and (name is None or type(name) is str and len(name) <= 200)
    ):
        return None
    try:
        timestamp = datetime.fromisoformat(stamp)
    except ValueError:  # a day or hour out of range: the schema names it
        return None
    return {
        "workspace": workspace,
        "event_id": event_id,
        "visitor": {"id": visitor_id, "name": name},
        "direction": direction,
        "sender": sender,
        "text": text,
        "timestamp": timestamp,
        "media": [],
    }

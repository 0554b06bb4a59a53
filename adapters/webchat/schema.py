"""The web chat event body (SPEC §5) as a marshmallow schema; the first bad field names the error."""

from __future__ import annotations

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

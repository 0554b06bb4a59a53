"""Marshmallow 4 schemas of every API request and response; OpenAPI is generated from them."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

MAX_INT = 2**53


def _clean(value: str) -> None:
    # PostgreSQL text cannot hold NUL, and a lone surrogate cannot be encoded: refuse both up front
    # (as a 400 naming the field) instead of failing in the database driver.
    if "\x00" in value:
        raise ValidationError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("must be valid Unicode text") from None


def Text(**kwargs) -> fields.String:  # noqa: N802 (a field factory reads like a field class)
    length = kwargs.pop("length", None)
    checks: list = [_clean]
    extra = kwargs.pop("validate", None)
    if extra is not None:
        checks.append(extra)
    if length:
        checks.append(validate.Length(*length))
    return fields.String(validate=checks, **kwargs)


def Id(**kwargs) -> fields.Integer:  # noqa: N802
    return fields.Integer(strict=True, validate=validate.Range(1, MAX_INT), **kwargs)


# Errors -------------------------------------------------------------------------------------------


class ErrorBody(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict(required=True)


class Error(Schema):
    error = fields.Nested(ErrorBody, required=True)


# Customers ----------------------------------------------------------------------------------------


class CustomerListQuery(Schema):
    track = Text(
        length=(1, 64), metadata={"description": "track of the `status` values given without `track:`"}
    )
    status = fields.List(
        Text(length=(1, 130)),
        metadata={"description": "`track:key` or a key on `track` (default stage); repeat for several"},
    )
    q = Text(length=(0, 200), metadata={"description": "search in names and identities"})
    opted_out = fields.Boolean()
    archived = fields.Boolean(load_default=False)
    sort = fields.String(load_default="id", validate=validate.OneOf(["id", "priority", "name"]))
    cursor = Text(length=(1, 2000))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class CustomerCreate(Schema):
    name = Text(required=True, length=(1, 200))
    phone = Text(length=(1, 40))
    identities = fields.List(Text(length=(1, 255)), load_default=list, validate=validate.Length(max=20))


class CustomerPatch(Schema):
    name = Text(required=True, length=(1, 200))


class Customer(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    identities = fields.List(fields.String(), required=True)
    statuses = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    opted_out = fields.Boolean(required=True)
    archived = fields.Boolean(required=True)
    waiting_since = fields.String(allow_none=True, required=True)
    last_inbound_at = fields.String(allow_none=True, required=True)
    last_outbound_at = fields.String(allow_none=True, required=True)
    created_at = fields.String(allow_none=True, required=True)


class CustomerPage(Schema):
    items = fields.List(fields.Nested(Customer), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class Entry(Schema):
    id = fields.Integer()
    track = fields.String(required=True)
    from_ = fields.String(data_key="from", attribute="from", allow_none=True, required=True)
    to = fields.String(required=True)
    source = fields.String(required=True)
    actor = fields.String(required=True)
    note = fields.String(required=True)
    applied = fields.Boolean(required=True)
    reason = fields.String(required=True)
    message_id = fields.Integer(allow_none=True, required=True)
    confidence = fields.Float(
        allow_none=True, metadata={"description": "the model's confidence, for `model:<intent>` sources"}
    )
    at = fields.String(allow_none=True, required=True)
    recorded_at = fields.String(allow_none=True)


class Link(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    note = fields.String(required=True)
    warning = fields.Boolean(required=True)


class CustomerDetail(Customer):
    badges = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True)
    links = fields.List(fields.Nested(Link), required=True)
    warnings = fields.List(fields.String(), required=True)
    message_count = fields.Integer(required=True)
    history = fields.List(fields.Nested(Entry), required=True)
    why = fields.Dict(keys=fields.String(), values=fields.Nested(Entry, allow_none=True), required=True)


class History(Schema):
    items = fields.List(fields.Nested(Entry), required=True)


class LinkCreate(Schema):
    other_id = Id(required=True)
    note = Text(length=(0, 500), load_default="")


class MergeRequest(Schema):
    other_id = Id(required=True, metadata={"description": "the customer merged into this one (deleted)"})
    picks = fields.Dict(
        keys=Text(length=(1, 64)),
        values=Text(length=(1, 64)),
        load_default=dict,
        metadata={"description": "admins only: {track: status key} to keep instead of the higher status"},
    )


class StatusAssign(Schema):
    status = Text(
        required=True, length=(1, 130), metadata={"description": "key, label, emoji, prefix or track:key"}
    )
    track = Text(length=(1, 64))
    note = Text(length=(0, 2000), load_default="")


class ActivityCreate(Schema):
    outcome = Text(required=True, length=(1, 64))
    via = Text(length=(1, 16), load_default="call")
    note = Text(length=(0, 2000), load_default="")
    explain = Text(length=(0, 2000), load_default="")


class Change(Schema):
    customer_id = fields.Integer(required=True)
    statuses = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    entries = fields.List(fields.Nested(Entry), required=True)
    activity_id = fields.Integer()


class MessageCreate(Schema):
    text = Text(load_default="", length=(0, 1600), metadata={"description": "required unless content_sid"})
    channel = Text(
        validate=validate.OneOf(("sms", "whatsapp")),
        metadata={"description": "default: the channel of the customer's last inbound message (else sms)"},
    )
    content_sid = Text(
        validate=validate.Regexp(r"^HX[0-9a-fA-F]{32}$"),
        metadata={"description": "an approved Twilio Content template (HX…), sent as ContentSid"},
    )


class MediaItem(Schema):
    url = fields.String(required=True)
    content_type = fields.String(allow_none=True, required=True)


class MessageShown(Schema):
    id = fields.Integer(required=True)
    channel = fields.String(required=True)
    direction = fields.String(required=True)
    sender = fields.String(required=True)
    text = fields.String(required=True)
    media = fields.List(fields.Nested(MediaItem), required=True)
    provider_id = fields.String(required=True)
    provider_at = fields.String(required=True)
    delivery_status = fields.String(allow_none=True, required=True)
    error_code = fields.String(allow_none=True, required=True)
    intents = fields.List(fields.String(), required=True)


class MessageList(Schema):
    items = fields.List(fields.Nested(MessageShown), required=True)


class MessageSent(Schema):
    customer_id = fields.Integer(required=True)
    message_id = fields.Integer(allow_none=True, required=True)
    provider_id = fields.String(required=True)
    channel = fields.String(required=True)


class Ok(Schema):
    ok = fields.Boolean(required=True)


class Merged(Schema):
    customer_id = fields.Integer(required=True)
    merged = fields.Integer(required=True)
    statuses = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


# Tracks and statuses --------------------------------------------------------------------------------

AUTOMATION = validate.OneOf(["any", "upgrade_only", "manual_only"])
COLOR = validate.Regexp(r"^#[0-9a-fA-F]{6}$")


class StatusFields(Schema):
    label = Text(length=(1, 64))
    emoji = Text(length=(0, 16))
    color = fields.String(validate=COLOR)
    description = Text(length=(0, 2000))
    automation = fields.String(validate=AUTOMATION)
    alert = fields.Boolean()
    terminal = fields.Boolean()


class StatusCreate(StatusFields):
    key = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_]{1,64}$"))


class Status(Schema):
    track = fields.String()
    key = fields.String(required=True)
    label = fields.String(required=True)
    emoji = fields.String(required=True)
    color = fields.String(required=True)
    description = fields.String(required=True)
    position = fields.Integer(required=True)
    automation = fields.String(required=True)
    alert = fields.Boolean(required=True)
    terminal = fields.Boolean(required=True)
    archived = fields.Boolean(required=True)


class StatusList(Schema):
    items = fields.List(fields.Nested(Status), required=True)


class Track(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    position = fields.Integer(required=True)
    manual = fields.Boolean(required=True)
    statuses = fields.List(fields.Nested(Status), required=True)


class TrackList(Schema):
    items = fields.List(fields.Nested(Track), required=True)


class TrackCreate(Schema):
    key = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_]{1,64}$"))
    label = Text(required=True, length=(1, 64))
    statuses = fields.List(fields.Nested(StatusCreate), required=True, validate=validate.Length(1, 50))


class TrackPatch(Schema):
    label = Text(required=True, length=(1, 64))


class Order(Schema):
    keys = fields.List(Text(length=(1, 64)), required=True, validate=validate.Length(1, 200))


class Deletion(Schema):
    deleted = fields.Boolean(required=True)
    archived = fields.Boolean(required=True)
    customers = fields.Integer(required=True)
    dangling = fields.List(fields.String(), required=True)


# Intents --------------------------------------------------------------------------------------------


class Intent(Schema):
    name = fields.String(required=True)
    assigns = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    overrides = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True), required=True)


class IntentList(Schema):
    packs = fields.List(fields.String(), required=True)
    items = fields.List(fields.Nested(Intent), required=True)


class IntentCorrect(Schema):
    intent = Text(
        required=True,
        length=(1, 64),
        metadata={"description": "an intent of the workspace's packs, or `none`: the message has no intent"},
    )


class IntentCorrection(Schema):
    id = fields.Integer(required=True)
    message_id = fields.Integer(required=True, allow_none=True)
    text = fields.String(required=True)
    intent = fields.String(required=True)
    previous = fields.List(fields.String(), required=True, metadata={"description": "the intents it had"})
    actor = fields.String(required=True)
    at = fields.String(required=True)


class IntentAssign(Schema):
    status = Text(
        required=True,
        allow_none=True,
        length=(1, 130),
        metadata={"description": "track:key, or null to stop assigning on `track`"},
    )
    track = Text(length=(1, 64), load_default="stage")


# Reports --------------------------------------------------------------------------------------------


class Counts(Schema):
    counts = fields.Dict(
        keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer()), required=True
    )


class TransitionsQuery(Schema):
    from_ = Text(data_key="from", length=(1, 130))
    to = Text(length=(1, 130))
    since = fields.AwareDateTime(default_timezone=None)
    until = fields.AwareDateTime(default_timezone=None)


class Transition(Schema):
    track = fields.String(required=True)
    from_ = fields.String(data_key="from", attribute="from", allow_none=True, required=True)
    to = fields.String(required=True)
    count = fields.Integer(required=True)


class Conversion(Schema):
    from_ = fields.String(data_key="from", attribute="from", required=True)
    to = fields.String(required=True)
    entered = fields.Integer(required=True)
    converted = fields.Integer(required=True)
    rate = fields.Float(allow_none=True, required=True)


class Transitions(Schema):
    since = fields.String(allow_none=True, required=True)
    until = fields.String(allow_none=True, required=True)
    transitions = fields.List(fields.Nested(Transition), required=True)
    conversion = fields.Nested(Conversion)


class TimeQuery(Schema):
    track = Text(length=(1, 64))


class Stay(Schema):
    stays = fields.Integer(required=True)
    median_seconds = fields.Float(allow_none=True, required=True)


class TimeInStatus(Schema):
    tracks = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.Nested(Stay)),
        required=True,
    )


class CsvQuery(CustomerListQuery):
    class Meta:
        exclude = ("cursor", "limit")


# Time rules -------------------------------------------------------------------------------------------
class TimeRuleCreate(Schema):
    name = Text(required=True, length=(1, 64), metadata={"description": "lowercase letters, digits, _ and -"})
    when = fields.Dict(
        keys=Text(length=(1, 64)),
        values=Text(length=(1, 64)),
        required=True,
        validate=validate.Length(1, 2),
        metadata={"description": "{track: status key}, one or two tracks, e.g. {stage: greeting}"},
    )
    after = Text(required=True, length=(1, 16), metadata={"description": "<n>m, <n>h or <n>d, n ≥ 1"})
    to = Text(required=True, length=(1, 130), metadata={"description": "track:status, e.g. stage:cold_lead"})


class TimeRule(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    when = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    after = fields.String(required=True)
    to = fields.String(required=True)


class TimeRuleList(Schema):
    items = fields.List(fields.Nested(TimeRule), required=True)

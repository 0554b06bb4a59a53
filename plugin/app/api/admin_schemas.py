"""The API's schemas for tokens, admins and channel settings (split from schemas.py along that seam)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from plugin.app.api.schemas import Text


class TokenCreate(Schema):
    role = fields.String(required=True, validate=validate.OneOf(["agent", "admin"]))
    name = Text(length=(1, 128), validate=validate.Regexp(r"^[\w.@-]+$"))


class Token(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    created_at = fields.String(required=True)
    revoked = fields.Boolean(required=True)


class TokenCreated(Token):
    token = fields.String(required=True, metadata={"description": "shown once; only its hash is stored"})


class TokenList(Schema):
    items = fields.List(fields.Nested(Token), required=True)


class AdminCreate(Schema):
    user_id = fields.String(required=True, validate=validate.Regexp(r"^[UW][A-Z0-9]{2,31}$"))


class AdminList(Schema):
    items = fields.List(fields.String(), required=True)


class Settings(Schema):
    alert_channel = Text(allow_none=True, length=(0, 64))
    time_zone = Text(length=(1, 64))
    business_hours = fields.Dict(keys=Text(length=(3, 3)), values=Text(length=(11, 11)))
    sms_auto_reply = Text(allow_none=True, length=(0, 1600))
    nudge_after_minutes = fields.Integer(validate=validate.Range(1, 10080))
    followup_days = fields.Integer(validate=validate.Range(1, 365))


class SettingsPatch(Settings):
    """Settings and channel credentials; secrets are write-only (null clears one)."""

    twilio_account_sid = Text(allow_none=True, length=(0, 64))
    twilio_auth_token = Text(allow_none=True, length=(0, 128), metadata={"description": "write-only"})
    webchat_secret = Text(allow_none=True, length=(0, 128), metadata={"description": "write-only"})
    slack_team = Text(allow_none=True, length=(0, 32))
    slack_bot_token = Text(allow_none=True, length=(0, 256), metadata={"description": "write-only"})


class SettingsShown(Settings):
    """Settings as shown: identifiers as they are, each secret only as whether it is set."""

    twilio_account_sid = fields.String(allow_none=True, required=True)
    twilio_auth_token_set = fields.Boolean(required=True)
    webchat_secret_set = fields.Boolean(required=True)
    slack_team = fields.String(allow_none=True, required=True)
    slack_bot_token_set = fields.Boolean(required=True)
    twilio_senders = fields.List(fields.String(), required=True)

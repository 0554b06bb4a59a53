"""Marshmallow schemas for the shape of a rule pack file (SPEC §4); statuses are checked in rules.pack."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from rules.patterns import compile_regex, is_regex, phrase_key

SLUG = validate.Regexp(
    r"^[a-z0-9_]+$", error="must be a key of lowercase letters, digits and _, not {input!r}"
)
_TEMPLATE_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_YAML_BOOLEAN_HINT = " (YAML reads unquoted yes/no/on/off as true/false: quote it)"


class _Text(fields.String):
    """A string field whose error explains YAML's booleans, the usual cause of "not a valid string"."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool):
            raise ValidationError("Not a valid string." + _YAML_BOOLEAN_HINT)
        return super()._deserialize(value, attr, data, **kwargs)


class _Pattern(_Text):
    """A phrase or a `/regex/`: a regex must compile, a phrase must keep some text once normalized."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        pattern = super()._deserialize(value, attr, data, **kwargs)
        if is_regex(pattern):
            try:
                compile_regex(pattern)
            except re.error as error:
                raise ValidationError(f"not a valid regular expression: {error}") from None
            except ValueError as error:
                raise ValidationError(str(error)) from None
        elif not phrase_key(pattern):
            raise ValidationError("the phrase is empty")
        return pattern


class _KeyedMap(fields.Field):
    """A mapping whose keys match `key_check` and whose values go through `load_value`."""

    def __init__(self, load_value: Callable[[Any], Any], key_check: re.Pattern[str], key_kind: str, **kwargs):
        super().__init__(**kwargs)
        self._load_value = load_value
        self._key_check = key_check
        self._key_kind = key_kind

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise ValidationError(f"must be a mapping of {self._key_kind} to a value, not {yaml_kind(value)}")
        loaded: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str) or not self._key_check.match(key):
                errors[str(key)] = [f"{key!r} is not a valid {self._key_kind}"]
                continue
            try:
                loaded[key] = self._load_value(item)
            except ValidationError as error:
                errors[key] = error.messages
        if errors:
            raise ValidationError(errors)
        return loaded


def yaml_kind(value: Any) -> str:
    """How YAML wrote `value`, for error messages."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return (
        "a list"
        if isinstance(value, list)
        else "a mapping"
        if isinstance(value, dict)
        else type(value).__name__
    )


def _status_key(value: Any) -> str:
    if not isinstance(value, str) or isinstance(value, bool):
        hint = _YAML_BOOLEAN_HINT if isinstance(value, bool) else ""
        raise ValidationError([f"must be a status key, not {value!r}{hint}"])
    if not re.fullmatch(r"[a-z0-9_]+", value):
        raise ValidationError([f"{value!r} is not a status key (lowercase letters, digits and _)"])
    return value


def _status_keys(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise ValidationError(["must be a non-empty list of status keys"])
    return [_status_key(item) for item in value]


_TRACK_KEY = re.compile(r"^[a-z0-9_]+$")


def _assignment(value: Any) -> dict[str, str]:
    return _KeyedMap(_status_key, _TRACK_KEY, "track")._deserialize(value, None, None)


class _ConditionsSchema(Schema):
    class Meta:
        unknown = RAISE

    channel = fields.List(_Text(validate=SLUG), validate=validate.Length(min=1))
    status = _KeyedMap(_status_keys, _TRACK_KEY, "track")


class _ExamplesSchema(Schema):
    class Meta:
        unknown = RAISE

    match = fields.List(_Text(validate=validate.Length(min=1)), load_default=list)
    no_match = fields.List(_Text(validate=validate.Length(min=1)), load_default=list)


class IntentSchema(Schema):
    class Meta:
        unknown = RAISE

    name = _Text(required=True, validate=SLUG)
    description = _Text(load_default="")
    extends = fields.Boolean(load_default=False, truthy={True}, falsy={False})
    assign = _KeyedMap(_status_key, _TRACK_KEY, "track", load_default=dict)
    assign_by_template = _KeyedMap(_assignment, _TEMPLATE_KEY, "template key", load_default=dict)
    patterns = fields.List(
        _Pattern(), required=True, validate=validate.Length(min=1, error="must not be empty")
    )
    conditions = fields.Nested(_ConditionsSchema, load_default=dict)
    examples = fields.Nested(_ExamplesSchema, load_default=dict)


class PackSchema(Schema):
    class Meta:
        unknown = RAISE

    pack = _Text(required=True, validate=SLUG)
    language = _Text(
        required=True,
        validate=validate.Regexp(
            r"^[a-z]{2,3}(-[a-z0-9]+)*$", error="must be a language tag such as en or pt-br"
        ),
    )
    description = _Text(load_default="")
    ignore = fields.List(_Pattern(), load_default=list)
    intents = fields.List(
        fields.Nested(IntentSchema), required=True, validate=validate.Length(min=1, error="must not be empty")
    )

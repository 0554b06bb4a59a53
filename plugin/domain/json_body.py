"""A request body that must be one JSON object, read with clear refusals (SPEC §12). Pure."""

from __future__ import annotations

import json
from collections.abc import Callable

from plugin.domain.errors import StatushubError


def json_object(raw: bytes, object_pairs_hook: Callable[[list], dict] | None = None) -> dict:
    """The body as a dict; StatushubError (field `body`) for bytes that are not UTF-8, not JSON, nested
    too deeply for the parser, or JSON that is not an object."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StatushubError("the body is not UTF-8 text", field="body") from None
    try:
        document = json.loads(text, object_pairs_hook=object_pairs_hook)
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

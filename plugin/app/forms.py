"""Form bodies parsed within bounds (SPEC §12).

werkzeug caps the parts of a multipart body (`MAX_FORM_PARTS`) but not the fields of a url-encoded
one: 120,000 fields in a 1 MiB Twilio form cost a worker ~2 s of parsing and signature checking before
the signature was found bad. Counting the separators first costs microseconds.
"""

from __future__ import annotations

from urllib.parse import unquote

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict

from plugin.domain.errors import StatushubError

MAX_FORM_PARTS = 1000  # Twilio's and Slack's forms carry a few dozen


class TooManyFields(StatushubError):
    code = "too_many_fields"
    http_status = 413


class FormFields(ImmutableMultiDict):
    """werkzeug's form, whose `get` finds a field without raising: werkzeug's answers a missing one by
    building a BadRequestKeyError, an HTTP exception, and catching it (~1 µs each; a Twilio webhook
    asks for four fields it usually lacks, and ~15 it has, at ~0.3 µs each against ~0.1).
    The values are werkzeug's: a list per name, the first one given."""

    # werkzeug's overloads in one body; `type` is werkzeug's parameter name.
    def get(self, key, default=None, type=None):  # type: ignore[override]  # noqa: A002
        if type is not None:
            return super().get(key, default, type)
        values = dict.get(self, key)
        return values[0] if values else default


class BoundedRequest(Request):
    """Flask's request, refusing a url-encoded body with more than `max_form_parts` fields before
    parsing it; its forms and query strings are `FormFields`."""

    parameter_storage_class = FormFields

    def _load_form_data(self) -> None:
        if "form" in self.__dict__ or self.mimetype != "application/x-www-form-urlencoded":
            super()._load_form_data()
            return
        # The body is read (at most MAX_CONTENT_LENGTH) and cached, and parsed to the pairs werkzeug's
        # FormDataParser gives, without the parser and stream it builds around them. A body that is
        # not UTF-8 is an empty form, as werkzeug's silent parser leaves it.
        body = self.get_data(cache=True)
        limit = self.max_form_parts
        if limit is not None and body.count(b"&") >= limit:
            raise TooManyFields(f"the form has more than {limit} fields", field="body")
        try:
            items = form_pairs(body.decode())
        except ValueError:
            items = []
        self.__dict__["form"] = self.parameter_storage_class(items)
        self.__dict__["files"] = self.parameter_storage_class()


def form_pairs(text: str) -> list[tuple[str, str]]:
    """`parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")`, werkzeug's parse of a
    url-encoded body, in about half its time: a name or value without `+` or `%` is taken as it is
    (a Twilio form's ~20 fields: ~21 µs against ~36–45 through parse_qsl, bench/FIGURES.md)."""
    pairs = []
    for part in text.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "+" in name or "%" in name:
            name = unquote(name.replace("+", " "), "utf-8", "werkzeug.url_quote")
        if "+" in value or "%" in value:
            value = unquote(value.replace("+", " "), "utf-8", "werkzeug.url_quote")
        pairs.append((name, value))
    return pairs

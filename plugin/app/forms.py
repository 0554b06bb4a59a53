"""Form bodies parsed within bounds (SPEC §12).

werkzeug caps the parts of a multipart body (`MAX_FORM_PARTS`) but not the fields of a url-encoded
one: 120,000 fields in a 1 MiB Twilio form cost a worker ~2 s of parsing and signature checking before
the signature was found bad. Counting the separators first costs microseconds.
"""

from __future__ import annotations

from flask import Request

from plugin.domain.errors import StatushubError

MAX_FORM_PARTS = 1000  # Twilio's and Slack's forms carry a few dozen


class TooManyFields(StatushubError):
    code = "too_many_fields"
    http_status = 413


class BoundedRequest(Request):
    """Flask's request, refusing a url-encoded body with more than `max_form_parts` fields before
    parsing it."""

    def _load_form_data(self) -> None:
        # Flask's own Request extends this method the same way; the body is read (at most
        # MAX_CONTENT_LENGTH) and cached, and werkzeug parses the cached copy.
        limit = self.max_form_parts
        if (
            "form" not in self.__dict__
            and limit is not None
            and self.mimetype == "application/x-www-form-urlencoded"
            and self.get_data(cache=True).count(b"&") >= limit
        ):
            raise TooManyFields(f"the form has more than {limit} fields", field="body")
        super()._load_form_data()

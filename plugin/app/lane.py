"""The webhook lane: a message webhook's usual answer, served in front of Flask (SPEC §8, STYLE §11).

A held Twilio message is one look-up, one signature check and one insert. Flask's request context,
URL matching, hooks and response object around them cost about as much again as the insert
(bench/FIGURES.md). So an adapter may register a handler for its route here.

The handler sees a plain werkzeug request and answers only the request it is sure of, the usual
one. For anything else it answers None: a refusal, a bad field, an error, a case it does not take.
Flask then serves the request in full, from the same body, through the same route, so every refusal
and error keeps its one answer and log line. A handler that raises is passed to Flask the same way,
so it must be safe to run twice, as the routes are (a held message is inserted once, a web chat
event received once: a second run finds it and answers as for a repeat).

Requests answered here are counted in `/metrics` like any other.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from io import BytesIO
from typing import TYPE_CHECKING, NamedTuple

from plugin.app.forms import MAX_FORM_PARTS, BoundedRequest

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("statushub.http")


class Answer(NamedTuple):
    """What a handler answers: a status Flask would send with the same two headers."""

    status: str  # "200 OK"
    content_type: str
    body: bytes


Handler = Callable[["LaneRequest"], Answer | None]
# The counter of `/metrics`: (route, method, status code, seconds).
Counter = Callable[[str, str, int, float], None]


class LaneRequest(BoundedRequest):
    """A request outside Flask's context, bounded as the app bounds Flask's."""

    max_form_parts = MAX_FORM_PARTS


class WebhookLane:
    """WSGI middleware in front of Flask: a handler per (method, path); every other request goes to
    Flask untouched."""

    def __init__(self, app: WSGIApplication, max_body: int):
        self.app = app
        self.max_body = max_body
        self.handlers: dict[tuple[str, str], Handler] = {}
        self.count: Counter | None = None

    def add(self, method: str, path: str, handler: Handler) -> None:
        self.handlers[(method, path)] = handler

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        handler = self.handlers.get((method, path))
        if handler is None:
            return self.app(environ, start_response)
        # Only a body of a stated length within bounds is read here: Flask answers the others (413, a
        # chunked body) as it does on every route.
        try:
            length = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            length = -1
        if not 0 <= length <= self.max_body:
            return self.app(environ, start_response)
        started = time.perf_counter()
        request = LaneRequest(environ, populate_request=False)
        request.max_content_length = self.max_body
        try:
            answer = handler(request)
        except Exception:  # noqa: BLE001 - Flask runs the route again and answers as it answers errors
            log.debug("the webhook lane passed a request to Flask", exc_info=True)
            answer = None
        if answer is None:
            try:
                body = request.get_data(cache=True)
            except Exception:  # noqa: BLE001 - a body cut short: Flask finds it so too, and answers 400
                return self.app(environ, start_response)
            environ["wsgi.input"] = BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            return self.app(environ, start_response)
        start_response(
            answer.status,
            [("Content-Type", answer.content_type), ("Content-Length", str(len(answer.body)))],
        )
        if self.count is not None:
            self.count(path, method, int(answer.status[:3]), time.perf_counter() - started)
        return [answer.body]

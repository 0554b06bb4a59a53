"""Twilio's request signature: the URL Twilio called, rebuilt as it saw it, and RequestValidator (STYLE §4).

Behind a TLS proxy the app sees http://internal:8000 while Twilio signed https://public.example; the
signed URL comes from STATUSHUB_PUBLIC_URL, or from the request as werkzeug's ProxyFix leaves it when the
deployment says it is behind N proxies (twilio-python #751, #392, #477): only those N nearest hops of
X-Forwarded-* count; the raw headers, whose leftmost value the client chooses, are never read here.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator, Mapping
from urllib.parse import urlsplit

from twilio.request_validator import (
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    add_port,
    get_signature_algorithm,
    remove_port,
)
from werkzeug.datastructures import Headers, MultiDict
from werkzeug.wrappers import Request

from plugin.app.settings import Settings


def signed_url(request: Request, settings: Settings) -> str:
    """The URL Twilio requested: scheme, host and port from the public URL or the request (after ProxyFix),
    then path and query."""
    query = request.query_string.decode("latin-1")
    tail = request.path + (f"?{query}" if query else "")
    if settings.public_url:
        public = urlsplit(settings.public_url)
        return f"{public.scheme}://{public.netloc}{public.path.rstrip('/')}{tail}"
    # What `request.url` gives, without its IRI round trip on every webhook (bench/FIGURES.md).
    return f"{request.scheme}://{request.host}{request.root_path}{tail}"


def is_signed(auth_token: str | None, url: str, form: Mapping, headers: Mapping | Headers) -> bool:
    """True when X-Twilio-Signature matches; `form` is the MultiDict, so repeated keys count too.

    Twilio signs the URL it called, with or without the scheme's default port (`:443`): its
    `RequestValidator.validate` computes both signatures on every request. The URL as it is rebuilt
    here is tried first and the other form only when that one does not match, with the library's own
    `compute_signature`, so a genuine request costs one HMAC."""
    signature = headers.get("X-Twilio-Signature")
    if not signature or not auth_token:
        return False
    algorithm = get_signature_algorithm(headers.get(SIGNATURE_SETTINGS_HEADER))
    validator = RequestValidator(auth_token)
    params = _Params(form.lists() if isinstance(form, MultiDict) else ((k, [v]) for k, v in form.items()))
    expected = signature.encode()
    for candidate in _as_signed(url):
        try:
            computed = validator.compute_signature(candidate, params, algorithm)
        except ValueError:  # an algorithm this twilio does not know: validate() logs it, answers False
            return validator.validate(url, form, signature, algorithm)
        if hmac.compare_digest(computed.encode(), expected):
            return True
    return False


def _as_signed(url: str) -> Iterator[str]:
    """The URL as given, then with its port the other way (added if absent, removed if present)."""
    yield url
    parsed = urlsplit(url)
    yield remove_port(parsed) if parsed.port else add_port(parsed)


class _Params(dict):
    """The form's values per name, in the shape `compute_signature` reads first (`getall`): a werkzeug
    MultiDict has no `getall`, so the library would raise and catch AttributeError for every field."""

    def getall(self, name: str) -> list[str]:
        return self[name]

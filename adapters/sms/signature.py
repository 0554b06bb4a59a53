"""Twilio's request signature: the URL Twilio called, rebuilt as it saw it, and RequestValidator (STYLE §4).

Behind a TLS proxy the app sees http://internal:8000 while Twilio signed https://public.example; the
signed URL comes from STATUSHUB_PUBLIC_URL, or from the request as werkzeug's ProxyFix leaves it when the
deployment says it is behind N proxies (twilio-python #751, #392, #477): only those N nearest hops of
X-Forwarded-* count; the raw headers, whose leftmost value the client chooses, are never read here.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from twilio.request_validator import SIGNATURE_SETTINGS_HEADER, RequestValidator, get_signature_algorithm
from werkzeug.datastructures import Headers
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
    """True when X-Twilio-Signature matches; `form` is the MultiDict, so repeated keys count too."""
    signature = headers.get("X-Twilio-Signature")
    if not signature or not auth_token:
        return False
    algorithm = get_signature_algorithm(headers.get(SIGNATURE_SETTINGS_HEADER))
    return RequestValidator(auth_token).validate(url, form, signature, algorithm)

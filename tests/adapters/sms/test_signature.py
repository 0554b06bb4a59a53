"""The URL Twilio signed, rebuilt as Twilio saw it, and a pinned known-answer vector (STYLE §4, §8)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import HMAC_SHA256, SIGNATURE_SETTINGS_HEADER, RequestValidator
from werkzeug.datastructures import MultiDict

from adapters.sms.signature import is_signed
from plugin.app import create_app
from plugin.store.schema import Message
from tests.adapters.sms.conftest import inbound_form, rows

# A known answer: token "12345", these parameters, this URL → this signature.
KNOWN_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
KNOWN_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
KNOWN_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="  # computed once, pinned


def test_twilio_signature_known_answer():
    assert RequestValidator("12345").compute_signature(KNOWN_URL, KNOWN_PARAMS) == KNOWN_SIGNATURE
    assert is_signed("12345", KNOWN_URL, KNOWN_PARAMS, {"X-Twilio-Signature": KNOWN_SIGNATURE})
    assert not is_signed("12346", KNOWN_URL, KNOWN_PARAMS, {"X-Twilio-Signature": KNOWN_SIGNATURE})
    assert not is_signed("12345", KNOWN_URL, KNOWN_PARAMS, {})


def test_the_port_twilio_signed_with_or_without_is_accepted_either_way():
    """Twilio may sign the URL with the scheme's default port or without it (twilio-python's validate
    tries both); the hub's rebuilt URL is tried first, the other form only on a mismatch."""
    bare, with_port = (
        "https://hooks.example.com/sms/twilio/inbound",
        "https://hooks.example.com:443/sms/twilio/inbound",
    )
    form = MultiDict([("From", "+14155550101"), ("Body", "hi"), ("MediaUrl0", "a"), ("MediaUrl0", "b")])
    for signed, rebuilt in ((with_port, bare), (bare, with_port), (bare, bare)):
        signature = RequestValidator("tok").compute_signature(signed, form)
        assert is_signed("tok", rebuilt, form, {"X-Twilio-Signature": signature})
    signature = RequestValidator("tok").compute_signature(bare, form)
    assert not is_signed(
        "tok", bare, MultiDict([("From", "+14155550101"), ("Body", "hi")]), {"X-Twilio-Signature": signature}
    )
    assert not is_signed(
        "tok", "https://hooks.example.com/sms/other", form, {"X-Twilio-Signature": signature}
    )


def test_a_sharedkey_sha256_signature_is_checked_with_its_algorithm():
    url, form = "https://hooks.example.com/sms/twilio/inbound", {"Body": "hola", "From": "+5215512345678"}
    sha256 = RequestValidator("shared").compute_signature(url, form, HMAC_SHA256)
    settings = {SIGNATURE_SETTINGS_HEADER: "key=webhooks_sharedkey_x,algorithm=HMAC_SHA256"}
    assert is_signed("shared", url, form, {"X-Twilio-Signature": sha256, **settings})
    assert not is_signed("shared", url, form, {"X-Twilio-Signature": sha256})  # read as SHA-1: no match
    unknown = {SIGNATURE_SETTINGS_HEADER: "key=webhooks_sharedkey_x,algorithm=HMAC_MD5"}
    assert not is_signed("shared", url, form, {"X-Twilio-Signature": sha256, **unknown})


def test_public_url_behind_a_tls_proxy_is_what_twilio_signed(db_url, engine, workspace):
    app = create_app(
        {"TESTING": True, "DATABASE_URL": db_url, "PUBLIC_URL": "https://hooks.example.com:8443"}
    )
    client = app.test_client()
    form = inbound_form("SM1", "hello")
    public = "https://hooks.example.com:8443/sms/twilio/inbound?ws=acme&v=2"
    headers = {"X-Twilio-Signature": RequestValidator("12345").compute_signature(public, form)}
    # The app itself is reached over plain http on an internal host.
    answer = client.post(
        "/sms/twilio/inbound?ws=acme&v=2", data=form, headers=headers, base_url="http://10.0.0.5:8000"
    )
    assert answer.status_code == 200
    # The internal URL, or the public one without the query string, is not what Twilio signed.
    internal = "http://10.0.0.5:8000/sms/twilio/inbound?ws=acme&v=2"
    form2 = inbound_form("SM2", "hello")
    for url in (internal, "https://hooks.example.com:8443/sms/twilio/inbound"):
        headers = {"X-Twilio-Signature": RequestValidator("12345").compute_signature(url, form2)}
        answer = client.post(
            "/sms/twilio/inbound?ws=acme&v=2", data=form2, headers=headers, base_url="http://10.0.0.5:8000"
        )
        assert answer.status_code == 401
    assert rows(engine, Message) == 1


def test_forwarded_headers_count_only_behind_a_declared_proxy(db_url, engine, workspace):
    form = inbound_form("SM1", "hello")
    signature = RequestValidator("12345").compute_signature(
        "https://sms.example.org/sms/twilio/inbound", form
    )
    headers = {
        "X-Twilio-Signature": signature,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "sms.example.org",
    }
    trusting = create_app({"TESTING": True, "DATABASE_URL": db_url, "BEHIND_PROXY": True}).test_client()
    plain = create_app({"TESTING": True, "DATABASE_URL": db_url}).test_client()
    assert plain.post("/sms/twilio/inbound", data=form, headers=headers).status_code == 401
    assert rows(engine, Message) == 0
    assert trusting.post("/sms/twilio/inbound", data=form, headers=headers).status_code == 200
    assert rows(engine, Message) == 1


def test_behind_one_proxy_only_the_nearest_forwarded_host_counts(db_url, engine, workspace):
    """X-Forwarded-Host "evil.example, hub.example": the client wrote the first, our proxy the last."""
    client = create_app({"TESTING": True, "DATABASE_URL": db_url, "BEHIND_PROXY": 1}).test_client()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example, hub.example"}
    form = inbound_form("SM1", "hello")
    evil = RequestValidator("12345").compute_signature("https://evil.example/sms/twilio/inbound", form)
    answer = client.post("/sms/twilio/inbound", data=form, headers={**forwarded, "X-Twilio-Signature": evil})
    assert answer.status_code == 401
    assert rows(engine, Message) == 0
    hub_signature = RequestValidator("12345").compute_signature(
        "https://hub.example/sms/twilio/inbound", form
    )
    answer = client.post(
        "/sms/twilio/inbound", data=form, headers={**forwarded, "X-Twilio-Signature": hub_signature}
    )
    assert answer.status_code == 200
    assert rows(engine, Message) == 1


def test_without_a_declared_proxy_forwarded_host_is_ignored(db_url, engine, workspace):
    client = create_app({"TESTING": True, "DATABASE_URL": db_url}).test_client()
    form = inbound_form("SM1", "hello")
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hub.example"}
    for url, status in (
        ("https://hub.example/sms/twilio/inbound", 401),
        ("http://localhost/sms/twilio/inbound", 200),
    ):
        signature = RequestValidator("12345").compute_signature(url, form)
        answer = client.post(
            "/sms/twilio/inbound", data=form, headers={**forwarded, "X-Twilio-Signature": signature}
        )
        assert answer.status_code == status
    assert rows(engine, Message) == 1


def test_behind_proxy_setting_is_a_number_of_hops():
    from plugin.app.settings import Settings

    assert Settings.from_env({}).behind_proxy == 0
    for value, hops in (("0", 0), ("1", 1), ("true", 1), ("yes", 1), ("2", 2), ("false", 0)):
        assert Settings.from_env({"STATUSHUB_BEHIND_PROXY": value}).behind_proxy == hops
    with pytest.raises(ValueError, match="STATUSHUB_BEHIND_PROXY"):
        Settings.from_env({"STATUSHUB_BEHIND_PROXY": "lots"})


_HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_characters="\x7f"), max_size=80
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    host=_HEADER_TEXT,
    proto=_HEADER_TEXT,
    port=_HEADER_TEXT,
    forwarded_for=_HEADER_TEXT,
)
def test_crafted_forwarded_headers_never_answer_5xx_or_store(
    db_url, engine, workspace, host, proto, port, forwarded_for
):
    """Behind a declared proxy, whatever X-Forwarded-* says, a request signed for another URL is refused (401)
    or malformed (400): never a 5xx, never a stored message (SPEC §12)."""
    client = create_app({"TESTING": True, "DATABASE_URL": db_url, "BEHIND_PROXY": 1}).test_client()
    form = inbound_form("SM1", "hello")
    signature = RequestValidator("12345").compute_signature("https://hub.example/sms/twilio/inbound", form)
    headers = {
        "X-Forwarded-Host": host,
        "X-Forwarded-Proto": proto,
        "X-Forwarded-Port": port,
        "X-Forwarded-For": forwarded_for,
        "X-Twilio-Signature": signature,
    }
    answer = client.post("/sms/twilio/inbound", data=form, headers=headers)
    assert answer.status_code < 500
    if answer.status_code != 200:
        assert rows(engine, Message) == 0

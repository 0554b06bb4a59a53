"""The recorded Twilio payloads are read as Twilio sends them: twilio's own RequestValidator gives the
signatures tests/fixtures/recorded/twilio/SIGNING.md lists for them (known-answer vectors), and the
pure parser makes each one the event the hub stores (SPEC §11)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from twilio.request_validator import RequestValidator

from adapters.sms.parse import channel_of, parse_inbound, parse_status, senders_of
from plugin.domain.events import Media
from tests.adapters.sms.recorded import PUBLIC, SERVICE, TOKEN, form

AT = datetime(2026, 7, 28, 9, 17, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "path", "signature"),
    [
        ("inbound_whatsapp", "/sms/twilio/inbound", "oweY0WbV0SXKf3QYhDwdHhiKibI="),
        ("status_failed_21610", "/sms/twilio/status", "NFERyr7oEl971XQOeRIqgA18woY="),
    ],
)
def test_recorded_payloads_sign_to_the_documented_vectors(name, path, signature):
    assert RequestValidator(TOKEN).compute_signature(PUBLIC + path, form(name)) == signature


def test_whatsapp_is_its_own_channel_and_identity_and_its_stop_no_opt_out():
    event = parse_inbound(form("inbound_whatsapp", Body="STOP"), 1, AT)
    assert (event.channel, event.identity, event.name) == ("whatsapp", "whatsapp:+14155550123", "Maria Lopez")
    assert event.opt is None and event.opt_keywords is False


def test_sms_stop_through_advanced_opt_out_is_flagged():
    event = parse_inbound(form("inbound_opt_out_stop"), 1, AT)
    assert (event.channel, event.opt, event.opt_keywords) == ("sms", "out", True)


def test_mms_media_keep_their_content_types():
    photos = form("inbound_mms_two_media")
    event = parse_inbound(photos, 1, AT)
    assert event.media == (
        Media(photos["MediaUrl0"], "image/jpeg"),
        Media(photos["MediaUrl1"], "image/png"),
    )


def test_the_senders_a_request_may_belong_to_most_specific_first():
    assert senders_of("whatsapp:+14155238886", None) == ("whatsapp:+14155238886", "+14155238886")
    assert senders_of("894546", "") == ("894546",)
    assert senders_of("+15017122661", SERVICE) == ("+15017122661", SERVICE)
    assert senders_of("+1 (501) 712-2661", None) == ("+1 (501) 712-2661", "+15017122661")


def test_status_callbacks_name_their_channel_and_error():
    failed = parse_status(form("status_failed_21610"))
    assert (failed.status, failed.error_code, failed.channel) == ("failed", "21610", "sms")
    assert channel_of("whatsapp:+14155238886") == "whatsapp"

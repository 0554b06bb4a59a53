"""Twilio's recorded webhook forms through the pure parsers: no app, no database (STYLE §8, §12)."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.sms.parse import DeliveryUpdate, e164, parse_inbound, parse_status
from plugin.domain.events import MessageEvent
from tests.adapters.fixtures import fixture

RECEIVED = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def test_a_recorded_inbound_sms_becomes_one_event():
    form = fixture("sms", "inbound_sms")["form"]
    assert e164(form["To"]) == "+3197014204768"  # the number that finds the workspace
    assert parse_inbound(form, 7, RECEIVED, "NL") == MessageEvent(
        workspace_id=7,
        channel="sms",
        identity="sms:+31612345678",
        direction="inbound",
        sender="customer",
        text="St",
        provider_id="SMb711289e438f577f230f5837e9c74a08",
        provider_at=RECEIVED,  # Twilio sends no timestamp: receipt time stands in
        name=None,
        media=(),
        opt=None,
        raw={"NumSegments": "1", "MessagingServiceSid": "MG790b6bd09f119b54ffb7f03b8841b1c9"},
    )


def test_a_recorded_status_callback_becomes_one_delivery_update():
    form = fixture("sms", "status_callback_undelivered")["form"]
    assert parse_status(form) == DeliveryUpdate("SM1342fe1b2c904d1ab04f0fc7a58abca9", "undelivered", "30003")
    assert e164(form["From"]) == "+15017122661"  # picks the workspace when an account has several

"""Twilio inbound messages: signed, stored once, answered with TwiML (SPEC §3, §5)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select, update
from werkzeug.datastructures import MultiDict

from plugin.store.db import transaction
from plugin.store.schema import Customer, Identity, Message, Workspace
from tests.adapters.sms.conftest import (
    CUSTOMER,
    counts,
    inbound_form,
    post_inbound,
    rows,
    signed,
)

pytestmark = pytest.mark.pgbouncer  # the webhook, worker and concurrency tests (SPEC §8)


def statuses_of(client, engine, phone=CUSTOMER):
    from plugin.engine import load_states
    from plugin.workspace.catalog import load_catalog

    with transaction(engine) as conn:
        cid = conn.execute(select(Identity.customer_id).where(Identity.value == "sms:" + phone)).scalar_one()
        catalog = load_catalog(conn, conn.execute(select(Workspace.id)).scalar_one())
        return {t: k for t, (k, _) in load_states(conn, catalog, [cid], lock=False)[cid].statuses.items()}


def test_inbound_sms_is_stored_and_answered_with_empty_twiml(client, engine):
    answer = post_inbound(client, inbound_form("SM1", "hello"))
    assert answer.status_code == 200
    assert answer.mimetype == "text/xml"
    assert answer.data.decode() == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    with engine.connect() as conn:
        msg = conn.execute(select(Message)).one()
    assert (msg.channel, msg.direction, msg.sender, msg.text, msg.provider_id) == (
        "sms",
        "inbound",
        "customer",
        "hello",
        "SM1",
    )
    assert statuses_of(client, engine)["reply"] == "in_progress"


def test_a_configured_auto_reply_is_answered_as_escaped_twiml(client, engine, workspace):
    with transaction(engine) as conn:
        conn.execute(
            update(Workspace)
            .where(Workspace.id == workspace)
            .values(settings={"sms_auto_reply": "Thanks <3 we'll answer soon & fast"})
        )
    answer = post_inbound(client, inbound_form("SM1", "hello"))
    assert answer.data.decode() == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
        "Thanks &lt;3 we'll answer soon &amp; fast</Message></Response>"
    )


def test_duplicate_message_sid_is_stored_once_and_answered_the_same(client, engine):
    form = inbound_form("SM1", "hello")
    first = post_inbound(client, form)
    before = counts(engine)
    again = post_inbound(client, form)
    assert again.status_code == 200 and again.data == first.data
    assert counts(engine) == before
    assert rows(engine, Message) == 1


def test_forged_twilio_signature_stores_nothing(client, engine):
    form = inbound_form("SM1", "hello")
    answer = client.post(
        "/sms/twilio/inbound", data=form, headers=signed("/sms/twilio/inbound", form, token="wrong")
    )
    assert answer.status_code == 401
    assert answer.json["error"]["code"] == "bad_signature"
    assert rows(engine, Message) == 0 and rows(engine, Customer) == 0


def test_missing_signature_stores_nothing(client, engine):
    answer = client.post("/sms/twilio/inbound", data=inbound_form("SM1", "hello"))
    assert answer.status_code == 401
    assert rows(engine, Message) == 0 and rows(engine, Customer) == 0


def test_a_signature_over_other_parameters_stores_nothing(client, engine):
    form = inbound_form("SM1", "hello")
    headers = signed("/sms/twilio/inbound", form)
    answer = client.post("/sms/twilio/inbound", data={**form, "Body": "I want a refund"}, headers=headers)
    assert answer.status_code == 401
    assert rows(engine, Message) == 0


def test_unknown_to_number_is_refused_and_stores_nothing(client, engine):
    # On an account no workspace has: with the workspace's own AccountSid the request would be its
    # (SPEC §11: the account decides when no workspace owns the sender).
    form = inbound_form("SM1", "hello", To="+15559990000", AccountSid="AC" + "9" * 32)
    answer = post_inbound(client, form)
    assert answer.status_code == 401
    assert answer.json["error"]["code"] == "bad_signature"
    assert rows(engine, Message) == 0 and rows(engine, Customer) == 0


def test_to_number_in_another_format_finds_the_workspace(client, engine):
    answer = post_inbound(client, inbound_form("SM1", "hello", To="+1 (555) 000-1111"))
    assert answer.status_code == 200
    assert rows(engine, Message) == 1


def test_missing_message_sid_answers_400_naming_it(client, engine):
    form = inbound_form("SM1", "hello")
    del form["MessageSid"], form["SmsSid"], form["SmsMessageSid"]
    answer = post_inbound(client, form)
    assert answer.status_code == 400
    assert answer.json["error"]["details"]["field"] == "MessageSid"
    assert rows(engine, Message) == 0 and rows(engine, Customer) == 0


def test_from_that_is_not_a_phone_number_answers_400(client, engine):
    answer = post_inbound(client, inbound_form("SM1", "hello", sender="not-a-number"))
    assert answer.status_code == 400
    assert answer.json["error"]["details"]["field"] == "From"
    assert rows(engine, Customer) == 0


def test_media_parameters_are_recorded(client, engine):
    form = inbound_form(
        "MM1",
        "here is the photo",
        NumMedia="2",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME0",
        MediaContentType0="image/jpeg",
        MediaUrl1="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        MediaContentType1="image/png",
    )
    assert post_inbound(client, form).status_code == 200
    with engine.connect() as conn:
        media = conn.execute(select(Message.media)).scalar_one()
    assert media == [
        {"url": form["MediaUrl0"], "content_type": "image/jpeg"},
        {"url": form["MediaUrl1"], "content_type": "image/png"},
    ]


def test_media_count_without_its_url_answers_400(client, engine):
    answer = post_inbound(client, inbound_form("MM1", "", NumMedia="1"))
    assert answer.status_code == 400
    assert answer.json["error"]["details"]["field"] == "MediaUrl0"
    assert rows(engine, Message) == 0


def test_repeated_form_keys_are_signed_too(client, engine):
    form = MultiDict(list(inbound_form("SM1", "hello").items()) + [("Tag", "b"), ("Tag", "a")])
    headers = signed("/sms/twilio/inbound", form)
    assert client.post("/sms/twilio/inbound", data=form, headers=headers).status_code == 200
    # Dropping one of the repeated values breaks the signature.
    fewer = MultiDict(list(inbound_form("SM2", "hello").items()) + [("Tag", "b"), ("Tag", "a")])
    headers = signed("/sms/twilio/inbound", fewer)
    fewer.setlist("Tag", ["b"])
    assert client.post("/sms/twilio/inbound", data=fewer, headers=headers).status_code == 401
    assert rows(engine, Message) == 1


def test_profile_name_names_a_new_customer(client, engine):
    post_inbound(client, inbound_form("SM1", "hello", ProfileName="Dana Scully"))
    with engine.connect() as conn:
        assert conn.execute(select(Customer.name)).scalar_one() == "Dana Scully"


def test_body_over_one_mebibyte_answers_413_and_stores_nothing(client, engine):
    form = inbound_form("SM1", "x" * (2 * 1024 * 1024))
    answer = post_inbound(client, form)
    assert answer.status_code == 413
    assert answer.json["error"]["code"] == "body_too_large"
    assert rows(engine, Message) == 0 and rows(engine, Customer) == 0


def test_a_nul_in_the_body_is_stored_as_a_replacement_character(client, engine):
    answer = post_inbound(client, inbound_form("SMnul", "price\x00 of the table?", ProfileName="Ada\x00"))
    assert answer.status_code == 200, answer.data
    with engine.connect() as conn:
        assert conn.execute(select(Message.text)).scalar_one() == "price\ufffd of the table?"
        assert conn.execute(select(Customer.name)).scalar_one() == "Ada\ufffd"


def test_a_form_of_120000_fields_is_refused_before_it_is_parsed(client, engine):
    body = "&".join(f"{n:x}=" for n in range(120_000)) + "&To=%2B15550001111&MessageSid=SMflood"
    assert len(body) < 1024 * 1024  # under the size limit: the field count is what is refused
    started = time.perf_counter()
    answer = client.post(
        "/sms/twilio/inbound",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": "bogus"},
    )
    assert answer.status_code == 413 and answer.json["error"]["code"] == "too_many_fields"
    assert time.perf_counter() - started < 1.0  # was 1.6-2 s of parsing and signature checking
    assert counts(engine) == (0, 0)

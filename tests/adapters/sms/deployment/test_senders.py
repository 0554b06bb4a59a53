"""Many Twilio senders per workspace (SPEC §11, issue 16): a second number, a short code and a
Messaging Service are answered once added with `workspace edit` and refused once removed, each
request checked with the owning workspace's auth token (twilio's RequestValidator signs them here)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from plugin.domain.clock import utcnow
from plugin.store.db import transaction
from plugin.store.schema import Customer, Message, TwilioSender
from tests.adapters.sms.recorded import (
    ACCOUNT,
    NUMBER,
    OTHER_TOKEN,
    SECOND_NUMBER,
    SERVICE,
    SHORT_CODE,
    form,
    inbound,
)


def stored(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(Message)).scalar_one(),
            conn.execute(select(func.count()).select_from(Customer)).scalar_one(),
        )


# (the sender added, the recorded request reaching it). The Messaging Service request's To is a number
# no workspace owns here, so the service decides.
SENDERS = [
    pytest.param(SECOND_NUMBER, form("inbound_mms_two_media", To=SECOND_NUMBER), id="second-number"),
    pytest.param(SHORT_CODE, form("inbound_sms_short_code"), id="short-code"),
    pytest.param(SERVICE, form("inbound_sms_messaging_service", To="+15017120000"), id="messaging-service"),
]


@pytest.mark.parametrize(("sender", "request_form"), SENDERS)
def test_a_sender_is_answered_after_it_is_added_and_refused_after_it_is_removed(
    client, engine, cli, sender, request_form
):
    # Two workspaces share the Twilio account, so the account cannot decide: Twilio's 11200 before.
    assert inbound(client, request_form).status_code == 401
    assert stored(engine) == (0, 0)

    added = cli("workspace", "edit", "shop", "--add-twilio-sender", sender)
    assert f"now answers Twilio sender {sender}" in added.stdout
    answer = inbound(client, request_form)
    assert answer.status_code == 200 and answer.mimetype == "text/xml"
    assert stored(engine) == (1, 1)

    cli("workspace", "edit", "shop", "--remove-twilio-sender", sender)
    again = form(
        "inbound_sms_short_code", MessageSid="SMremoved0", SmsSid="SMremoved0", SmsMessageSid="SMremoved0"
    )
    for key in ("To", "MessagingServiceSid"):
        if key in request_form:
            again[key] = request_form[key]
        elif key in again:
            del again[key]
    assert inbound(client, again).status_code == 401
    assert stored(engine) == (1, 1)


def test_the_owning_workspaces_token_checks_the_signature(client, engine, cli, deployment):
    cli("workspace", "edit", "other", "--add-twilio-sender", SHORT_CODE)
    # Signed with shop's token, for a sender `other` owns: not Twilio for that workspace.
    assert inbound(client, form("inbound_sms_short_code")).status_code == 401
    assert inbound(client, form("inbound_sms_short_code"), token=OTHER_TOKEN).status_code == 200
    with engine.connect() as conn:
        assert conn.execute(select(Message.workspace_id)).scalar_one() == deployment["other"]


def test_the_account_alone_decides_when_one_workspace_has_it(client, engine, cli, deployment):
    cli("workspace", "edit", "other", "--twilio-account-sid", "AC" + "0" * 32)
    # Now only shop has the account: a number it never registered on it still reaches it.
    answer = inbound(client, form("inbound_mms_two_media", To="+15017129999"))
    assert answer.status_code == 200
    with engine.connect() as conn:
        assert conn.execute(select(Message.workspace_id)).scalar_one() == deployment["shop"]


def test_a_sender_belongs_to_one_workspace(cli, engine):
    refused = cli("workspace", "edit", "other", "--add-twilio-sender", NUMBER, ok=False)
    assert "another workspace" in refused.stderr and refused.stderr.count("\n") == 1
    # And the database says so too, whoever writes.
    with pytest.raises(IntegrityError), transaction(engine) as conn:
        other = conn.execute(
            select(TwilioSender.workspace_id).where(TwilioSender.sender == NUMBER)
        ).scalar_one()
        conn.execute(
            insert(TwilioSender),
            {"workspace_id": other + 1, "sender": NUMBER, "kind": "number", "created_at": utcnow()},
        )


@pytest.mark.parametrize(
    "bad",
    ["1234", "1234567", "MG123", "whatsapp:hello", "sender", "+1 555", "SM" + "a" * 32],
)
def test_a_malformed_sender_is_refused_naming_what_is_valid(cli, engine, bad):
    before = stored(engine)
    refused = cli("workspace", "edit", "shop", "--add-twilio-sender", bad, ok=False)
    assert "is not a Twilio sender" in refused.stderr and "short code" in refused.stderr
    with engine.connect() as conn:
        assert conn.execute(select(TwilioSender.sender)).scalars().all() == [NUMBER]
    assert stored(engine) == before


def test_removing_a_sender_the_workspace_does_not_own_is_an_error(cli):
    refused = cli("workspace", "edit", "other", "--remove-twilio-sender", NUMBER, ok=False)
    assert "is not a sender of this workspace" in refused.stderr


def test_senders_are_normalized_and_listed(cli):
    shown = cli(
        "workspace",
        "edit",
        "shop",
        "--add-twilio-sender",
        "whatsapp:+1 (415) 523-8886",
        "--add-twilio-sender",
        SERVICE.upper().replace("MG", "MG", 1),
        "--json",
    )

    document = json.loads(shown.stdout)
    assert document["twilio_senders"] == [NUMBER, "whatsapp:+14155238886", SERVICE]
    listed = json.loads(cli("workspace", "list", "--json").stdout)
    assert [w["twilio_senders"] for w in listed] == [[], [NUMBER, "whatsapp:+14155238886", SERVICE]]
    assert ACCOUNT not in shown.stderr

"""Merging customers, and sending a message through the API (Twilio's REST API faked)."""

from __future__ import annotations

import responses
from sqlalchemy import func, select, update

from plugin.domain.events import MessageEvent
from plugin.engine.inbox import receive
from plugin.store.db import transaction
from plugin.store.schema import Activity, Customer, Identity, Message, StatusChange
from tests.api.conftest import add
from tests.conftest import at

ACCOUNT = "AC" + "1" * 32
MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json"


def _inbound(engine, workspace, identity: str, text: str, minute: int, pid: str) -> int:
    with transaction(engine) as conn:
        event = MessageEvent(
            workspace,
            "webchat" if identity.startswith("webchat") else "sms",
            identity,
            "inbound",
            "customer",
            text,
            pid,
            at(minute),
        )
        return receive(conn, workspace, [event], now=at(minute))[0].customer_id


def test_merge_moves_identities_messages_history_and_is_audited(client, tokens, engine, workspace):
    phone = _inbound(engine, workspace, "sms:+15551230001", "hello", 1, "SM1")
    chat = _inbound(engine, workspace, "webchat:visitor-9", "hi again", 2, "W1")
    h = tokens["agent"]
    assert (
        client.post(f"/api/v1/customers/{chat}/statuses", json={"status": "hot"}, headers=h).status_code
        == 200
    )
    client.post(f"/api/v1/customers/{chat}/activities", json={"outcome": "vm"}, headers=h)
    r = client.post(f"/api/v1/customers/{phone}/merge", json={"other_id": chat}, headers=tokens["admin"])
    assert r.status_code == 200, r.json
    assert r.json["statuses"]["stage"] == "hot_lead"  # the higher stage wins
    assert r.json["statuses"]["outcome"] == "left_voicemail"
    shown = client.get(f"/api/v1/customers/{phone}", headers=h).json
    assert sorted(shown["identities"]) == ["sms:+15551230001", "webchat:visitor-9"]
    assert shown["message_count"] == 2
    notes = [e for e in shown["history"] if e["note"] == f"merged #{chat} into #{phone}"]
    assert notes and all(e["source"] == "manual" and e["actor"] == "ops-admin" for e in notes)
    assert any(
        e["to"] == "hot_lead" and e["note"] == "" for e in shown["history"]
    )  # the other's history moved
    with engine.connect() as conn:
        assert (
            conn.execute(select(func.count()).select_from(Customer).where(Customer.id == chat)).scalar_one()
            == 0
        )
        assert (
            conn.execute(
                select(func.count()).select_from(Activity).where(Activity.customer_id == phone)
            ).scalar_one()
            == 1
        )
        assert set(conn.execute(select(Message.customer_id)).scalars()) == {phone}
    assert client.get(f"/api/v1/customers/{chat}", headers=h).status_code == 404


def test_merging_is_an_admin_action_and_an_agent_changes_nothing(client, tokens, engine, workspace):
    a, b = add(engine, workspace, "A"), add(engine, workspace, "B")
    h = tokens["agent"]
    for body in ({"other_id": b}, {"other_id": b, "picks": {"stage": "cold_lead"}}):
        refused = client.post(f"/api/v1/customers/{a}/merge", json=body, headers=h)
        assert refused.status_code == 403 and refused.json["error"]["code"] == "not_allowed"
    assert client.get(f"/api/v1/customers/{b}", headers=h).status_code == 200
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Customer)).scalar_one() == 2


def test_merge_picks_are_validated(client, tokens, engine, workspace):
    a, b = add(engine, workspace, "A"), add(engine, workspace, "B")
    h = tokens["admin"]
    client.post(f"/api/v1/customers/{b}/statuses", json={"status": "hot"}, headers=h)
    body = {"other_id": b, "picks": {"stage": "cold_lead"}}
    bad = client.post(
        f"/api/v1/customers/{a}/merge",
        json={"other_id": b, "picks": {"reply": "new"}},
        headers=tokens["admin"],
    )
    assert bad.status_code == 403
    assert client.post(f"/api/v1/customers/{a}/merge", json={"other_id": a}, headers=h).status_code == 400
    done = client.post(f"/api/v1/customers/{a}/merge", json=body, headers=tokens["admin"])
    assert done.status_code == 200 and done.json["statuses"]["stage"] == "cold_lead"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Identity)).scalar_one() == 0
        assert (
            conn.execute(
                select(func.count()).select_from(StatusChange).where(StatusChange.customer_id == b)
            ).scalar_one()
            == 0
        )


@responses.activate
def test_sending_a_message_goes_through_twilio_and_moves_reply(client, tokens, engine, workspace):
    cid = add(engine, workspace, "Ann", "+15551230001")
    responses.post(
        MESSAGES_URL,
        status=201,
        json={
            "sid": "SMapi1",
            "account_sid": ACCOUNT,
            "from": "+15550001111",
            "to": "+15551230001",
            "body": "",
            "status": "queued",
            "direction": "outbound-api",
            "date_created": "Mon, 04 May 2026 09:30:00 +0000",
            "error_code": None,
            "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/SMapi1.json",
        },
    )
    headers = tokens["agent"] | {"Idempotency-Key": "send-1"}
    first = client.post(
        f"/api/v1/customers/{cid}/messages", json={"text": "Your order shipped"}, headers=headers
    )
    again = client.post(
        f"/api/v1/customers/{cid}/messages", json={"text": "Your order shipped"}, headers=headers
    )
    assert first.status_code == again.status_code == 201, first.json
    assert first.json == again.json and first.json["provider_id"] == "SMapi1"
    assert len(responses.calls) == 1
    assert (
        client.get(f"/api/v1/customers/{cid}", headers=tokens["agent"]).json["statuses"]["reply"]
        == "no_reply"
    )


def test_sending_to_an_opted_out_customer_is_refused_without_calling_twilio(
    client, tokens, engine, workspace
):
    cid = add(engine, workspace, "Ann", "+15551230001")
    with transaction(engine) as conn:
        conn.execute(update(Customer).where(Customer.id == cid).values(opted_out=True))
    with responses.RequestsMock() as fake:
        r = client.post(f"/api/v1/customers/{cid}/messages", json={"text": "hi"}, headers=tokens["agent"])
        assert r.status_code == 409 and r.json["error"]["code"] == "opted_out"
        assert len(fake.calls) == 0
    empty = client.post(f"/api/v1/customers/{cid}/messages", json={"text": ""}, headers=tokens["agent"])
    assert empty.status_code == 400 and empty.json["error"]["details"]["field"] == "text"

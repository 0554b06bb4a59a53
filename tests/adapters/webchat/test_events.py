"""Web chat events: signed JSON in, the customer's statuses out, at once (SPEC §3, §5)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from plugin.domain.clock import aware
from plugin.domain.signatures import header, matches, parse_header, sign
from plugin.store.schema import Customer, Delivery, Message, StatusChange
from tests.adapters.webchat.conftest import SECRET, event_body, post_event, post_raw

pytestmark = pytest.mark.pgbouncer  # the webhook, worker and concurrency tests (SPEC §8)


def rows(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def nothing_stored(engine) -> bool:
    return all(rows(engine, t) == 0 for t in (Message, Customer, StatusChange, Delivery))


def test_webchat_signature_known_answer():
    raw = b'{"workspace":"acme","event_id":"e1"}'
    expected = "59f7887c68214d8e9d4ffa346bec7d7a675a8122d368bc6d1f9a746b377e118e"
    assert sign("whsec_test", 1767225600, raw) == expected
    parsed = parse_header(f"t=1767225600,v1={expected}")
    assert matches("whsec_test", parsed, raw)
    assert not matches("whsec_test", parsed, raw + b" ")
    assert header("whsec_test", 1767225600, raw) == f"t=1767225600,v1={expected}"


def test_event_answers_customer_statuses_and_intents(client, engine):
    answer = post_event(client, event_body("e1", "how much is the blue one?"))
    assert answer.status_code == 200
    body = answer.json
    assert body["customer"]["name"] == "Ada Lovelace"
    assert body["customer"]["statuses"]["reply"] == "in_progress"
    assert set(body["customer"]["statuses"]) == {"stage", "reply", "outcome", "attention"}
    assert body["duplicate"] is False and isinstance(body["message_id"], int)
    assert "ask_price" in body["intents"]
    with engine.connect() as conn:
        msg = conn.execute(select(Message)).one()
    assert (msg.channel, msg.provider_id, msg.text) == ("webchat", "e1", "how much is the blue one?")


def test_the_answer_names_the_customer_as_stored_new_or_renamed(client, engine):
    nameless = post_event(client, event_body("e1", "hi", visitor={"id": "visitor-7"})).json
    with engine.connect() as conn:
        stored = conn.execute(
            select(Customer.name).where(Customer.id == nameless["customer"]["id"])
        ).scalar_one()
    assert nameless["customer"]["name"] == stored and stored
    with engine.begin() as conn:  # an agent renames them between two events
        conn.execute(
            Customer.__table__.update().where(Customer.id == nameless["customer"]["id"]), {"name": "Grace"}
        )
    later = post_event(
        client, event_body("e2", "still there?", visitor={"id": "visitor-7", "name": "Ada"})
    ).json
    assert (later["customer"]["id"], later["customer"]["name"]) == (nameless["customer"]["id"], "Grace")


def test_duplicate_event_id_is_answered_with_the_identical_first_body(client, engine):
    first = post_event(client, event_body("e1", "hello"))
    before = (rows(engine, Message), rows(engine, StatusChange))
    # Even a retry whose body differs (a platform re-rendering it) replays the first answer.
    again = post_event(client, event_body("e1", "hello again"))
    assert (again.status_code, again.data) == (first.status_code, first.data)
    assert (rows(engine, Message), rows(engine, StatusChange)) == before


def test_a_twin_delivered_between_the_duplicate_check_and_the_writer_lock_is_answered_as_a_repeat(
    client, engine, monkeypatch
):
    """The duplicate check runs before the writer lock and is not read again under it: a twin that
    lands in between is caught by the remembered answer's key, and this delivery rolls back and is
    answered with the twin's body."""
    from adapters.webchat import routes

    real = routes.remembered_answer
    twin = []

    def check_then_let_the_twin_in(conn, workspace_id, scope, key):
        found = real(conn, workspace_id, scope, key)
        monkeypatch.setattr(routes, "remembered_answer", real)
        twin.append(post_event(client, event_body("e1", "hello")))
        twin.append(rows(engine, StatusChange))
        return found

    monkeypatch.setattr(routes, "remembered_answer", check_then_let_the_twin_in)
    late = post_event(client, event_body("e1", "hello"))
    assert twin[0].status_code == 200 and twin[0].json["duplicate"] is False
    assert (late.status_code, late.data) == (200, twin[0].data)
    assert (rows(engine, Message), rows(engine, Delivery)) == (1, 1)
    assert rows(engine, StatusChange) == twin[1] > 0  # the late delivery's changes rolled back


def test_reply_flips_per_message_and_holds_against_a_late_older_message(client, engine):
    def reply(answer):
        return answer.json["customer"]["statuses"]["reply"]

    assert reply(post_event(client, event_body("e1", "hello", "2026-05-04T09:00:00Z"))) == "in_progress"
    agent = event_body(
        "e2", "Hi! How can I help?", "2026-05-04T09:01:00Z", direction="outbound", sender="agent"
    )
    assert reply(post_event(client, agent)) == "no_reply"
    assert (
        reply(post_event(client, event_body("e3", "what sizes?", "2026-05-04T09:02:00+00:00")))
        == "in_progress"
    )
    bot = event_body(
        "e4", "We have S, M and L.", "2026-05-04T11:03:00+02:00", direction="outbound", sender="bot"
    )
    assert reply(post_event(client, bot)) == "no_reply"
    # An older customer message arriving late changes nothing: the bot spoke last.
    late = event_body("e5", "anyone there?", "2026-05-04T09:01:30Z")
    assert reply(post_event(client, late)) == "no_reply"
    assert rows(engine, Message) == 5


def test_stale_timestamp_is_refused_and_stores_nothing(client, engine):
    answer = post_event(client, event_body("e1", "hello"), t=int(time.time()) - 301)
    assert answer.status_code == 401
    assert nothing_stored(engine)


def test_future_timestamp_is_refused_and_stores_nothing(client, engine):
    assert post_event(client, event_body("e1", "hello"), t=int(time.time()) + 360).status_code == 401
    assert nothing_stored(engine)


def test_wrong_secret_is_refused_and_stores_nothing(client, engine):
    answer = post_event(client, event_body("e1", "hello"), secret="not-the-secret")
    assert answer.status_code == 401
    assert answer.json["error"]["code"] == "bad_signature"
    assert nothing_stored(engine)


def test_missing_or_malformed_signature_header_is_refused(client, engine):
    raw = json.dumps(event_body("e1", "hello")).encode()
    for value in ("", "v1=abc", "t=abc,v1=def", "t=1767225600", "garbage"):
        assert post_raw(client, raw, signature=value).status_code == 401, value
    assert nothing_stored(engine)


def test_a_crafted_timestamp_in_the_signature_header_answers_401_naming_the_header(client, engine):
    raw = json.dumps(event_body("e1", "hello")).encode()
    for t in ("9" * 4300, "1" * 13, "١٧٦٧٢٢٥٦٠٠", "-1", "+1767225600"):
        answer = post_raw(client, raw, signature=f"t={t},v1={sign(SECRET, 1767225600, raw)}")
        assert answer.status_code == 401, t
        assert answer.json["error"]["details"]["field"] == "X-Statushub-Signature"
    assert nothing_stored(engine)


def test_unknown_workspace_is_refused(client, engine):
    assert post_event(client, event_body("e1", "hello", workspace="globex")).status_code == 401
    assert nothing_stored(engine)


def test_body_over_one_mebibyte_answers_413_and_stores_nothing(client, engine):
    body = event_body("e1", "x" * (2 * 1024 * 1024))
    answer = post_event(client, body)
    assert answer.status_code == 413
    assert answer.json["error"]["code"] == "body_too_large"
    assert nothing_stored(engine)


def test_invalid_utf8_answers_400_and_stores_nothing(client, engine):
    raw = b'{"workspace": "acme", "text": "caf\xe9"}'
    answer = post_raw(client, raw)
    assert answer.status_code == 400
    assert answer.json["error"]["details"]["field"] == "body"
    assert nothing_stored(engine)


def test_non_object_json_answers_400(client, engine):
    for raw in (b"[1, 2]", b'"hello"', b"null", b"{not json"):
        answer = post_raw(client, raw)
        assert answer.status_code == 400, raw
        assert answer.json["error"]["details"]["field"] == "body"
    assert nothing_stored(engine)


def test_each_missing_field_answers_400_naming_it(client, engine):
    for field in ("event_id", "visitor", "direction", "sender", "text", "timestamp"):
        body = event_body("e1", "hello")
        del body[field]
        answer = post_event(client, body)
        assert answer.status_code == 400, field
        assert answer.json["error"]["details"]["field"] == field
    body = event_body("e1", "hello", visitor={"name": "No Id"})
    assert post_event(client, body).json["error"]["details"]["field"] == "visitor.id"
    assert nothing_stored(engine)


def test_bad_values_answer_400_naming_the_field(client, engine):
    cases = {
        "direction": {"direction": "sideways"},
        "sender": {"direction": "inbound", "sender": "agent"},
        "timestamp": {"timestamp": "2026-05-04 09:00"},
        "event_id": {"event_id": ""},
    }
    for field, change in cases.items():
        answer = post_event(client, {**event_body("e1", "hello"), **change})
        assert answer.status_code == 400, field
        assert answer.json["error"]["details"]["field"] == field, field
        assert answer.json["error"]["message"]
    assert nothing_stored(engine)


def test_missing_workspace_answers_400(client, engine):
    body = event_body("e1", "hello")
    del body["workspace"]
    answer = post_event(client, body)
    assert answer.status_code == 400
    assert answer.json["error"]["details"]["field"] == "workspace"
    assert nothing_stored(engine)


def test_nul_and_lone_surrogates_are_stored_as_replacement_characters(client, engine):
    # JSON may escape a NUL or a lone UTF-16 surrogate; neither may cost the message (SPEC §12).
    raw = (
        b'{"workspace": "acme", "event_id": "e-odd", "direction": "inbound", "sender": "customer",'
        b' "visitor": {"id": "visitor-42", "name": "Ada\\u0000 \\udc00Lovelace"},'
        b' "text": "price\\u0000 of the \\ud800 table?", "timestamp": "2026-05-04T09:00:00Z"}'
    )
    answer = post_raw(client, raw)
    assert answer.status_code == 200, answer.data
    assert answer.json["customer"]["name"] == "Ada\ufffd \ufffdLovelace"
    with engine.connect() as conn:
        assert conn.execute(select(Message.text)).scalar_one() == "price\ufffd of the \ufffd table?"
    assert post_raw(client, raw).json == answer.json


def test_a_message_dated_far_in_the_future_is_kept_at_its_receipt_time(client, engine, caplog):
    def reply(answer):
        return answer.json["customer"]["statuses"]["reply"]

    before = datetime.now(UTC)
    assert reply(post_event(client, event_body("e1", "hello", "9999-12-31T23:59:59Z"))) == "in_progress"
    assert "provider time in the future" in caplog.text
    with engine.connect() as conn:
        provider_at = conn.execute(select(Message.provider_at)).scalar_one()
    assert abs(aware(provider_at) - before) < timedelta(seconds=60)
    # The track is not frozen: the agent's answer, sent now, is later than the customer's message.
    now = datetime.now(UTC).isoformat()
    agent = event_body("e2", "Hi! How can I help?", now, direction="outbound", sender="agent")
    assert reply(post_event(client, agent)) == "no_reply"


def test_a_provider_clock_a_little_ahead_is_believed(client, engine):
    ahead = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=200)
    assert post_event(client, event_body("e1", "hello", ahead.isoformat())).status_code == 200
    with engine.connect() as conn:
        assert aware(conn.execute(select(Message.provider_at)).scalar_one()) == ahead

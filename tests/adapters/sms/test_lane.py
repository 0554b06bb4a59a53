"""The webhook lane (plugin/app/lane.py) answers the usual held Twilio message in front of Flask and
passes everything else to the Flask route. A sender sees the same answers either way, and the same
things are stored and logged (SPEC §5, §8, §12)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import update

from plugin.app import create_app
from plugin.store.db import transaction
from plugin.store.schema import Customer, HeldMessage, Message, Workspace
from tests.adapters.fixtures import answer_of, inserts_failing, laned_and_plain, route_stand_in
from tests.adapters.sms.conftest import inbound_form, post_inbound, rows, signed

pytestmark = pytest.mark.pgbouncer  # a webhook (SPEC §8)

PATH = "/sms/twilio/inbound"
QUIET = 10_000  # ms: nothing is folded while a test looks


@pytest.fixture
def both(held_app, workspace):
    """The hub with its lane, and the same hub whose lane takes nothing (Flask answers every request)."""
    return laned_and_plain(held_app(QUIET), held_app(QUIET))


def test_a_held_message_is_answered_as_flask_answers_it_and_held(both, engine, caplog):
    laned, plain = both
    caplog.set_level("INFO", "statushub")
    assert answer_of(post_inbound(laned, inbound_form("SMlane1", "hello"))) == answer_of(
        post_inbound(plain, inbound_form("SMlane2", "hello"))
    )
    assert post_inbound(laned, inbound_form("SMlane3", "hello")).data.startswith(b"<?xml")
    assert (rows(engine, HeldMessage), rows(engine, Message)) == (3, 0)
    held = [r for r in caplog.records if r.getMessage() == "sms inbound held"]
    assert len(held) == 3 and not any(r.duplicate for r in held)


def test_a_redelivery_through_the_lane_is_answered_200_and_held_once(both, engine):
    laned, _ = both
    first = post_inbound(laned, inbound_form("SMagain", "hello"))
    again = post_inbound(laned, inbound_form("SMagain", "hello"))
    assert answer_of(first) == answer_of(again)
    assert rows(engine, HeldMessage) == 1


def _form_without_sid():
    form = inbound_form("SMx", "hello")
    del form["MessageSid"], form["SmsSid"], form["SmsMessageSid"]
    return form


def _flood() -> dict:
    body = "&".join(f"{n:x}=" for n in range(120_000)) + "&To=%2B15550001111&MessageSid=SMflood"
    return {"data": body, "content_type": "application/x-www-form-urlencoded"}


def _signed_post(form, **signing) -> dict:
    return {"data": form, "headers": signed(PATH, form, **signing)}


REFUSED = {
    "forged signature": lambda: _signed_post(inbound_form("SMr1", "hello"), token="wrong"),
    "no signature": lambda: {"data": inbound_form("SMr2", "hello")},
    "signature over other fields": lambda: {
        "data": {**inbound_form("SMr3", "hello"), "Body": "I want a refund"},
        "headers": signed(PATH, inbound_form("SMr3", "hello")),
    },
    "a number no workspace owns": lambda: _signed_post(
        inbound_form("SMr4", "hello", To="+15559990000", AccountSid="AC" + "9" * 32)
    ),
    "no MessageSid": lambda: _signed_post(_form_without_sid()),
    "a From that is no phone number": lambda: _signed_post(inbound_form("SMr6", "hello", sender="nope")),
    "media without its URL": lambda: _signed_post(inbound_form("MMr7", "", NumMedia="1")),
    "a body over 1 MiB": lambda: _signed_post(inbound_form("SMr8", "x" * (2 * 1024 * 1024))),
    "120,000 fields": lambda: {**_flood(), "headers": {"X-Twilio-Signature": "bogus"}},
    "a body not url-encoded": lambda: {
        "data": '{"MessageSid": "SMr9"}',
        "content_type": "application/json",
        "headers": {"X-Twilio-Signature": "bogus"},
    },
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_bad_request_gets_the_routes_answer_and_log_line_and_holds_nothing(both, engine, caplog, case):
    laned, plain = both
    caplog.set_level("INFO", "statushub")
    through_lane = laned.post(PATH, **REFUSED[case]())
    logged = [r.getMessage() for r in caplog.records]
    caplog.clear()
    through_flask = plain.post(PATH, **REFUSED[case]())
    assert through_lane.status_code in (400, 401, 413)
    assert answer_of(through_lane) == answer_of(through_flask)
    assert through_lane.json["error"]["code"]
    assert logged == [r.getMessage() for r in caplog.records]  # one refusal line, not two
    assert (rows(engine, HeldMessage), rows(engine, Message), rows(engine, Customer)) == (0, 0, 0)


def test_a_body_of_no_stated_length_is_answered_by_the_route(both, engine):
    laned, plain = both
    answers = []
    for client in both:
        form = inbound_form("SMchunked", "hello")
        body = "&".join(f"{k}={v}" for k, v in form.items()).replace("+", "%2B").encode()
        answers.append(
            client.post(
                PATH,
                input_stream=io.BytesIO(body),
                content_type="application/x-www-form-urlencoded",
                headers=signed(PATH, form),
            )
        )
    assert answer_of(answers[0]) == answer_of(answers[1])
    assert rows(engine, Message) == 0


def test_a_body_shorter_than_its_stated_length_answers_400_as_the_route_does(both, engine):
    form = inbound_form("SMshort", "hello")
    short = {"CONTENT_LENGTH": "4000"}  # the sender went away mid-body
    answers = [
        client.post(PATH, data=form, headers=signed(PATH, form), environ_overrides=short) for client in both
    ]
    assert answers[0].status_code == 400
    assert answer_of(answers[0]) == answer_of(answers[1])
    assert rows(engine, HeldMessage) == 0


def test_a_workspace_with_an_auto_reply_is_answered_by_the_route(both, engine):
    laned, _ = both
    with transaction(engine) as conn:
        conn.execute(update(Workspace).values(settings={"sms_auto_reply": "Thanks, we'll answer soon"}))
    answer = post_inbound(laned, inbound_form("SMreply", "hello"))
    assert "<Message>Thanks, we" in answer.data.decode()
    assert (rows(engine, Message), rows(engine, HeldMessage)) == (1, 0)


def test_a_database_failure_in_the_lane_answers_503_and_holds_nothing(held_app, engine, workspace):
    app = held_app(QUIET)
    with inserts_failing(app.extensions["statushub"].engine, engine, "held_messages"):
        answer = post_inbound(app.test_client(), inbound_form("SMdown", "hello"))
        assert (answer.status_code, answer.json["error"]["code"]) == (503, "database_unavailable")
        assert rows(engine, HeldMessage) == 0
    assert post_inbound(app.test_client(), inbound_form("SMdown", "hello")).status_code == 200
    assert rows(engine, HeldMessage) == 1


def test_behind_a_proxy_the_lane_checks_the_signature_on_the_url_twilio_called(db_url, engine, workspace):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "FOLD_DELAY_MS": QUIET, "BEHIND_PROXY": "1"})
    try:
        client = app.test_client()
        forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hub.example.com"}
        form = inbound_form("SMproxy", "hello")
        headers = {**forwarded, **signed(PATH, form, base="https://hub.example.com")}
        assert client.post(PATH, data=form, headers=headers).status_code == 200
        # Signed for the URL the hub sees, not the one Twilio called: refused.
        other = inbound_form("SMproxy2", "hello")
        answer = client.post(PATH, data=other, headers={**forwarded, **signed(PATH, other)})
        assert answer.status_code == 401
        assert rows(engine, HeldMessage) == 1
    finally:
        app.extensions["statushub"].folder.stop()


def test_messages_the_lane_answers_are_counted_in_metrics(both):
    laned, _ = both
    for n in range(3):
        post_inbound(laned, inbound_form(f"SMm{n}", "hello"))
    post_inbound(laned, inbound_form("SMm9", "hello"), token="wrong")  # refused: the route counts it
    metrics = laned.get("/metrics").get_data(as_text=True)
    assert f'statushub_http_requests_total{{method="POST",route="{PATH}",status="200"}} 3.0' in metrics
    assert f'statushub_http_requests_total{{method="POST",route="{PATH}",status="401"}} 1.0' in metrics
    assert f'statushub_http_request_seconds_count{{route="{PATH}"}} 4.0' in metrics


def test_other_routes_pass_the_lane_untouched(both):
    laned, _ = both
    assert laned.get("/healthz").status_code == 200
    assert laned.get(PATH).status_code == 405  # only a POST is the lane's


def test_the_lane_answers_a_held_message_without_the_route_and_passes_it_the_rest(
    held_app, engine, workspace
):
    app = held_app(QUIET)
    reached = route_stand_in(app, "sms.inbound")
    client = app.test_client()
    assert post_inbound(client, inbound_form("SMfast", "hello")).status_code == 200
    assert not reached and rows(engine, HeldMessage) == 1
    assert post_inbound(client, inbound_form("SMslow", "hello"), token="wrong").status_code == 418
    assert reached

"""The webhook lane (plugin/app/lane.py) answers a web chat event in front of Flask and passes every
request it refuses to the Flask route: a platform gets the same answers either way, and the same things
are stored and logged (SPEC §5, §8, §12)."""

from __future__ import annotations

import json
import time

import pytest

from plugin.app import create_app
from plugin.store.schema import Customer, Delivery, Message
from tests.adapters.fixtures import answer_of, laned_and_plain, route_stand_in
from tests.adapters.webchat.conftest import event_body, post_event, post_raw
from tests.adapters.webchat.test_events import rows

pytestmark = pytest.mark.pgbouncer  # a webhook (SPEC §8)

PATH = "/webchat/events"


@pytest.fixture
def both(db_url, workspace):
    """The hub with its lane, and the same hub whose lane takes nothing (Flask answers every request)."""
    config = {"TESTING": True, "DATABASE_URL": db_url}
    return laned_and_plain(create_app(config), create_app(config))


def test_an_event_and_its_repeat_are_answered_as_flask_answers_them(both, engine, caplog):
    laned, plain = both
    caplog.set_level("INFO", "statushub")
    first = post_event(laned, event_body("e-lane", "how much is the blue hoodie?"))
    assert first.status_code == 200 and first.json["duplicate"] is False
    # A repeat: the same body from the lane and from the route.
    assert answer_of(post_event(laned, event_body("e-lane", "how much is the blue hoodie?"))) == answer_of(
        post_event(plain, event_body("e-lane", "how much is the blue hoodie?"))
    )
    # A new event to each: the same answer but for the message's own ids and times.
    mine = post_event(laned, event_body("e-lane-2", "ok"))
    theirs = post_event(plain, event_body("e-lane-3", "ok"))
    assert (mine.status_code, sorted(mine.headers.keys())) == (
        theirs.status_code,
        sorted(theirs.headers.keys()),
    )
    assert mine.json["customer"]["statuses"] == theirs.json["customer"]["statuses"]
    assert (rows(engine, Message), rows(engine, Delivery)) == (3, 3)
    logged = [(r.getMessage(), r.repeated) for r in caplog.records if r.getMessage() == "web chat event"]
    assert (
        logged
        == [("web chat event", False), ("web chat event", True), ("web chat event", True)]
        + [("web chat event", False)] * 2
    )


def _stale() -> dict:
    return {"t": int(time.time()) - 3600}


REFUSED = {
    "wrong secret": lambda c: post_event(c, event_body("e1", "hi"), secret="not-it"),
    "no signature": lambda c: post_event(c, event_body("e1", "hi"), signature=""),
    "malformed signature": lambda c: post_event(c, event_body("e1", "hi"), signature="v1=abc"),
    "stale timestamp": lambda c: post_event(c, event_body("e1", "hi"), **_stale()),
    "unknown workspace": lambda c: post_event(c, event_body("e1", "hi", workspace="nobody")),
    "invalid UTF-8": lambda c: post_raw(c, b'{"text": "\xff"}'),
    "not an object": lambda c: post_raw(c, b"[1, 2]"),
    "a missing field": lambda c: post_event(
        c, {k: v for k, v in event_body("e1", "hi").items() if k != "visitor"}
    ),
    "a bad direction": lambda c: post_event(c, event_body("e1", "hi", direction="sideways")),
    "a body over 1 MiB": lambda c: post_raw(
        c, json.dumps(event_body("e1", "x" * (2 * 1024 * 1024))).encode()
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_bad_request_gets_the_routes_answer_and_log_line_and_stores_nothing(both, engine, caplog, case):
    laned, plain = both
    caplog.set_level("INFO", "statushub")
    through_lane = REFUSED[case](laned)
    logged = [r.getMessage() for r in caplog.records]
    caplog.clear()
    through_flask = REFUSED[case](plain)
    assert through_lane.status_code in (400, 401, 413)
    assert answer_of(through_lane) == answer_of(through_flask)
    assert logged == [r.getMessage() for r in caplog.records]  # one refusal line, not two
    assert (rows(engine, Message), rows(engine, Customer), rows(engine, Delivery)) == (0, 0, 0)


def test_the_lane_answers_an_event_without_the_route_and_passes_it_the_rest(db_url, engine, workspace):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url})
    reached = route_stand_in(app, "webchat.events")
    client = app.test_client()
    assert post_event(client, event_body("e-fast", "hello")).status_code == 200
    assert not reached and rows(engine, Message) == 1
    assert post_event(client, event_body("e-slow", "hello"), secret="not-it").status_code == 418
    assert reached


def test_events_the_lane_answers_are_counted_in_metrics(both):
    laned, _ = both
    for n in range(2):
        post_event(laned, event_body(f"e-m{n}", "hello"))
    post_event(laned, event_body("e-m9", "hello"), secret="not-it")
    metrics = laned.get("/metrics").get_data(as_text=True)
    assert f'statushub_http_requests_total{{method="POST",route="{PATH}",status="200"}} 2.0' in metrics
    assert f'statushub_http_requests_total{{method="POST",route="{PATH}",status="401"}} 1.0' in metrics
    assert f'statushub_http_request_seconds_count{{route="{PATH}"}} 3.0' in metrics


def test_a_body_shorter_than_its_stated_length_answers_400_as_the_route_does(both, engine):
    raw = json.dumps(event_body("e-short", "hello")).encode()
    short = {"CONTENT_LENGTH": str(len(raw) + 100)}  # the sender went away mid-body
    answers = [
        client.post(PATH, data=raw, content_type="application/json", environ_overrides=short)
        for client in both
    ]
    assert answers[0].status_code == 400
    assert answer_of(answers[0]) == answer_of(answers[1])
    assert rows(engine, Message) == 0

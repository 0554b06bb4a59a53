"""Delivery statuses move forward only, whatever order the provider's callbacks arrive in (SPEC §5)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from plugin.domain.events import MessageEvent
from plugin.engine.delivery_status import RANK, Delivery, advance, record_delivery
from plugin.engine.inbox import receive
from plugin.store.db import transaction
from tests.conftest import at

NOTHING = Delivery(None, None)


def test_a_late_sent_after_delivered_stays_delivered():
    d = advance(advance(NOTHING, "sent"), "delivered")
    assert advance(d, "sent") == Delivery("delivered", None)
    assert advance(d, "queued") == Delivery("delivered", None)


def test_failures_keep_their_error_code():
    d = advance(advance(NOTHING, "sent"), "undelivered", "30003")
    assert d == Delivery("undelivered", "30003")
    assert advance(d, "sending") == d
    assert advance(NOTHING, "failed", "30007") == Delivery("failed", "30007")


def test_the_first_final_status_stands():
    assert advance(Delivery("failed", "30007"), "delivered") == Delivery("failed", "30007")
    assert advance(Delivery("delivered", None), "undelivered", "30003") == Delivery("delivered", None)


def test_read_follows_delivered():
    assert advance(Delivery("delivered", None), "read") == Delivery("read", None)


def test_unknown_status_changes_nothing():
    assert advance(Delivery("sent", None), "teleported") == Delivery("sent", None)


def test_status_names_are_read_in_any_case():
    assert advance(NOTHING, " Delivered ") == Delivery("delivered", None)


@given(st.permutations(["queued", "sending", "sent", "delivered"]))
def test_any_arrival_order_ends_delivered(order):
    d = NOTHING
    for status in order:
        d = advance(d, status)
    assert d == Delivery("delivered", None)


@given(st.lists(st.sampled_from(sorted(RANK)), max_size=8))
def test_rank_never_decreases(statuses):
    d = NOTHING
    for status in statuses:
        after = advance(d, status)
        if d.status is not None:
            assert RANK[after.status] >= RANK[d.status]
        d = after


def test_record_delivery_on_a_stored_message(engine, workspace):
    event = MessageEvent(workspace, "sms", "sms:+15557654321", "outbound", "agent", "hi", "SM9", at(1))
    with transaction(engine) as conn:
        receive(conn, workspace, [event])
        assert record_delivery(conn, workspace, "sms", "SM9", "sent") == Delivery("sent", None)
        assert record_delivery(conn, workspace, "sms", "SM9", "failed", "30007") == Delivery(
            "failed", "30007"
        )
        assert record_delivery(conn, workspace, "sms", "SM9", "sent") == Delivery("failed", "30007")
        assert record_delivery(conn, workspace, "sms", "SMnone", "sent") is None
        # Another channel's message with the same provider id is not this one.
        assert record_delivery(conn, workspace, "webchat", "SM9", "sent") is None

"""Nudges: a customer waiting on us past the threshold, in business hours, is nudged once per wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from plugin.db import reading, transaction
from plugin.events import MessageEvent
from plugin.inbox import receive
from plugin.nudges import in_business_hours, scan_nudges
from plugin.schema import OutboxItem, Workspace

MONDAY = datetime(2026, 5, 4, tzinfo=UTC)  # a Monday; New York is UTC-4 then
NY = {
    "time_zone": "America/New_York",
    "business_hours": {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"},
}


@pytest.fixture
def ny(engine, workspace):
    with transaction(engine) as conn:
        conn.execute(
            update(Workspace).where(Workspace.id == workspace).values(settings={**NY, "nudge_minutes": 15})
        )
    return workspace


def write(engine, ws, direction: str, when, n: int) -> int:
    sender = "customer" if direction == "inbound" else "agent"
    event = MessageEvent(ws, "sms", "sms:+15551230001", direction, sender, "a question", f"SM{n}", when)
    with transaction(engine) as conn:
        return receive(conn, ws, [event], now=when)[0].customer_id


def nudges(engine) -> list:
    with reading(engine) as conn:
        return conn.execute(select(OutboxItem).where(OutboxItem.kind == "nudge")).all()


def test_a_wait_past_the_threshold_is_nudged_once_and_only_in_business_hours(engine, ny):
    cid = write(engine, ny, "inbound", MONDAY.replace(hour=12), 1)  # 08:00 in New York
    assert scan_nudges(engine, MONDAY.replace(hour=12, minute=59)) == 0  # 08:59: not open yet
    assert scan_nudges(engine, MONDAY.replace(hour=13)) == 1  # 09:00: open, waiting an hour
    assert scan_nudges(engine, MONDAY.replace(hour=14)) == 0  # the same wait: never again
    [item] = nudges(engine)
    assert item.customer_id == cid and item.payload["waiting_since"].startswith("2026-05-04T12:00")


def test_the_threshold_counts_from_when_the_customer_started_waiting(engine, ny):
    write(engine, ny, "inbound", MONDAY.replace(hour=14), 1)
    assert scan_nudges(engine, MONDAY.replace(hour=14, minute=14)) == 0
    assert scan_nudges(engine, MONDAY.replace(hour=14, minute=15)) == 1


def test_a_new_wait_after_our_answer_is_nudged_again(engine, ny):
    write(engine, ny, "inbound", MONDAY.replace(hour=14), 1)
    scan_nudges(engine, MONDAY.replace(hour=14, minute=20))
    write(engine, ny, "outbound", MONDAY.replace(hour=14, minute=21), 2)
    assert scan_nudges(engine, MONDAY.replace(hour=15)) == 0  # answered: nobody waits
    write(engine, ny, "inbound", MONDAY.replace(hour=15, minute=1), 3)
    assert scan_nudges(engine, MONDAY.replace(hour=15, minute=30)) == 1
    assert len(nudges(engine)) == 2


def test_weekends_and_evenings_are_outside_business_hours():
    saturday = MONDAY - timedelta(days=2)
    assert not in_business_hours(NY, saturday.replace(hour=15))
    assert not in_business_hours(NY, MONDAY.replace(hour=21))  # 17:00 in New York: closed
    assert in_business_hours(NY, MONDAY.replace(hour=20, minute=59))
    assert in_business_hours({}, MONDAY.replace(hour=9))  # default: Mon–Fri 9–17 UTC

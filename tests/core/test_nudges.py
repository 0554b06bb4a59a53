"""Nudges: a customer waiting on us past the threshold, in business hours, is nudged once per wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from adapters.slack.alerts import nudge_text
from plugin.automation.nudges import in_business_hours, scan_nudges
from plugin.customers.activities import log_activity, resolve_outcome
from plugin.domain.events import MessageEvent
from plugin.engine import assign_status
from plugin.engine.inbox import receive
from plugin.store.db import reading, transaction
from plugin.store.schema import Customer, OutboxItem, Workspace
from plugin.workspace.catalog import load_catalog
from plugin.workspace.intents import classifier_for

pytestmark = pytest.mark.pgbouncer  # the webhook, worker and concurrency tests (SPEC §8)

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


# Follow-ups: a Cold Lead untouched for `followup_days` (default 2) -----------------------------------

TUESDAY, WEDNESDAY, FRIDAY = (MONDAY + timedelta(days=d) for d in (1, 2, 4))


def follow_ups(engine) -> list:
    return [n for n in nudges(engine) if n.payload.get("kind") == "follow_up"]


def cold_lead(engine, ws, when, n: int = 1, phone: str = "+15551230001") -> int:
    """A customer we texted (nobody waits) and an agent marked Cold Lead at the same moment."""
    event = MessageEvent(ws, "sms", f"sms:{phone}", "outbound", "agent", "any news?", f"SM{n}", when)
    with transaction(engine) as conn:
        cid = receive(conn, ws, [event], now=when)[0].customer_id
    move(engine, ws, cid, "cold_lead", when)
    return cid


def move(engine, ws, cid, key, when) -> None:
    with transaction(engine) as conn:
        catalog = load_catalog(conn, ws)
        assign_status(conn, catalog, cid, catalog.status("stage", key), actor="cli:ann",
                      classify=classifier_for(conn, catalog), now=when)  # fmt: skip


def test_a_cold_lead_untouched_for_two_days_gets_one_follow_up_nudge(engine, ny):
    cid = cold_lead(engine, ny, MONDAY.replace(hour=14))  # 10:00 in New York
    assert scan_nudges(engine, WEDNESDAY.replace(hour=13, minute=59)) == 0  # not two days yet
    assert scan_nudges(engine, WEDNESDAY.replace(hour=14)) == 1
    assert scan_nudges(engine, WEDNESDAY.replace(hour=18)) == 0  # the same stay: never again
    [item] = nudges(engine)
    assert item.customer_id == cid
    assert item.payload["kind"] == "follow_up" and item.payload["days"] == 2
    assert item.payload["since"].startswith("2026-05-04T14:00")


def test_any_touch_restarts_the_two_days(engine, ny):
    cid = cold_lead(engine, ny, MONDAY.replace(hour=14))
    texted = MessageEvent(ny, "sms", "sms:+15551230001", "outbound", "agent", "still there?", "SM2",
                          TUESDAY.replace(hour=14))  # fmt: skip
    with transaction(engine) as conn:
        receive(conn, ny, [texted], now=TUESDAY.replace(hour=14))
    assert scan_nudges(engine, WEDNESDAY.replace(hour=14)) == 0  # texted a day ago
    with transaction(engine) as conn:
        catalog = load_catalog(conn, ny)
        log_activity(conn, catalog, cid, resolve_outcome(catalog, "vm"), interaction="call", actor="cli:ann",
                     classify=classifier_for(conn, catalog), now=WEDNESDAY.replace(hour=15))  # fmt: skip
    assert scan_nudges(engine, (FRIDAY - timedelta(days=1)).replace(hour=14, minute=30)) == 0  # called
    assert scan_nudges(engine, FRIDAY.replace(hour=15)) == 1
    assert len(follow_ups(engine)) == 1


def test_a_new_cold_lead_stay_is_a_new_streak(engine, ny):
    cid = cold_lead(engine, ny, MONDAY.replace(hour=14))
    assert scan_nudges(engine, WEDNESDAY.replace(hour=14)) == 1
    move(engine, ny, cid, "hot_lead", WEDNESDAY.replace(hour=15))
    move(engine, ny, cid, "cold_lead", WEDNESDAY.replace(hour=16))
    assert scan_nudges(engine, FRIDAY.replace(hour=15, minute=59)) == 0
    assert scan_nudges(engine, FRIDAY.replace(hour=16)) == 1
    assert scan_nudges(engine, FRIDAY.replace(hour=17)) == 0
    assert [n.payload["since"][:16] for n in follow_ups(engine)] == ["2026-05-04T14:00", "2026-05-06T16:00"]


def test_follow_ups_wait_for_business_hours(engine, ny):
    cold_lead(engine, ny, (FRIDAY - timedelta(days=7)).replace(hour=14))  # the Friday before
    sunday = MONDAY - timedelta(days=1)
    assert scan_nudges(engine, sunday.replace(hour=15)) == 0  # the weekend
    assert scan_nudges(engine, MONDAY.replace(hour=12, minute=59)) == 0  # 08:59 in New York
    assert scan_nudges(engine, MONDAY.replace(hour=13)) == 1


def test_followup_days_is_a_workspace_setting(engine, ny):
    with transaction(engine) as conn:
        conn.execute(update(Workspace).where(Workspace.id == ny).values(settings={**NY, "followup_days": 3}))
    cold_lead(engine, ny, MONDAY.replace(hour=14))
    assert scan_nudges(engine, WEDNESDAY.replace(hour=14)) == 0
    assert scan_nudges(engine, WEDNESDAY.replace(hour=14) + timedelta(days=1)) == 1


def test_other_stages_archived_and_opted_out_customers_get_no_follow_up(engine, ny):
    hot = cold_lead(engine, ny, MONDAY.replace(hour=14), 1, "+15551230001")
    move(engine, ny, hot, "hot_lead", MONDAY.replace(hour=14))
    stopped = cold_lead(engine, ny, MONDAY.replace(hour=14), 2, "+15551230002")
    with transaction(engine) as conn:
        conn.execute(update(Customer).where(Customer.id == stopped).values(opted_out=True))
    assert scan_nudges(engine, WEDNESDAY.replace(hour=15)) == 0


def test_the_slack_nudge_suggests_a_follow_up_for_a_cold_lead():
    payload = {"kind": "follow_up", "name": "Ann <Lee>", "status": "❄️ Cold Lead", "days": 2,
               "last_touched_at": "2026-05-04T14:00:00+00:00"}  # fmt: skip
    text = nudge_text(payload, 7)
    assert text.startswith("❄️ Cold Lead Ann &lt;Lee&gt; (#7) has not been touched for 2 days")
    assert "2026-05-04 14:00 UTC" in text and "follow-up" in text
    waiting = nudge_text({"name": "Bo", "waiting_since": "2026-05-04T12:00:00+00:00"}, 8)
    assert waiting == "⏰ Bo (#8) has been waiting for a reply since 2026-05-04 12:00 UTC"

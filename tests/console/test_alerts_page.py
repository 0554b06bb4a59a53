"""The console's failed alerts page (admins): what never reached the alert channel, why, send again."""

from __future__ import annotations

import functools

import pytest
import responses
from sqlalchemy import select

from adapters.slack.alerts import send_alert
from plugin.automation.outbox import run_due
from plugin.customers.naming import add_customer
from plugin.engine import assign_status
from plugin.store.db import reading, transaction
from plugin.store.schema import OutboxItem
from plugin.workspace.intents import classifier_for
from tests.conftest import at
from tests.console.conftest import csrf_of

API = "http://slack.test/api/"


@pytest.fixture
def failed(engine, catalog) -> int:
    """Jane's Hot Lead alert, refused by Slack with not_in_channel and so dead-lettered at once."""
    with transaction(engine) as conn:
        cid = add_customer(conn, catalog, "Jane <b>Doe</b>", [], "US", at(0))
        assign_status(conn, catalog, cid, catalog.status("stage", "hot_lead"), actor="cli:root",
                      classify=classifier_for(conn, catalog), now=at(0))  # fmt: skip
    with responses.RequestsMock() as slack:
        slack.add("POST", API + "chat.postMessage", json={"ok": False, "error": "not_in_channel"})
        assert run_due(engine, {"alert": functools.partial(send_alert, api_url=API)}, now=at(1)).dead == 1
    with reading(engine) as conn:
        return conn.execute(select(OutboxItem.id)).scalar_one()


def dead(engine) -> bool:
    with reading(engine) as conn:
        return conn.execute(select(OutboxItem.dead_at)).scalar_one() is not None


def test_admins_see_each_failed_alert_with_its_customer_and_reason(admin, failed):
    page = admin.get("/console/alerts").get_data(as_text=True)
    assert "Jane &lt;b&gt;Doe&lt;/b&gt;" in page  # names render as text
    assert "not_in_channel: the Slack app is not a member of the alert channel C0ALERTS" in page
    assert "stage: greeting → hot_lead" in page and "2026-05-04 09:01 UTC" in page
    assert 'href="/console/alerts"' in page  # in the admin's navigation


def test_sending_a_failed_alert_again_queues_it_for_the_worker(admin, engine, failed):
    answer = admin.post(
        "/console/alerts/retry", data={"id": str(failed), "csrf": csrf_of(admin, "/console/alerts")}
    )
    assert answer.status_code == 302 and "queued+1+alert+again" in answer.headers["Location"]
    assert not dead(engine)
    assert "No failed alerts" in admin.get("/console/alerts").get_data(as_text=True)


@pytest.mark.parametrize("bad", ["999", "1e3", "", "-1"])
def test_sending_again_an_alert_that_did_not_fail_changes_nothing(admin, engine, failed, bad):
    answer = admin.post("/console/alerts/retry", data={"id": bad, "csrf": csrf_of(admin, "/console/alerts")})
    assert answer.status_code in (400, 404)
    assert dead(engine)


def test_without_csrf_nothing_is_sent_again(admin, engine, failed):
    assert admin.post("/console/alerts/retry", data={"id": str(failed)}).status_code == 400
    assert dead(engine)


def test_agents_cannot_see_or_retry_failed_alerts(agent, engine, failed):
    assert agent.get("/console/alerts").status_code == 403
    retry = agent.post("/console/alerts/retry", data={"id": str(failed), "csrf": csrf_of(agent)})
    assert retry.status_code == 403 and dead(engine)

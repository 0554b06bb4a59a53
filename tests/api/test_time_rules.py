"""Time rules over the API: agents read them, admins add and remove them; mistakes name the field."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from plugin.store.db import reading
from plugin.store.schema import TimeRule

DEFAULTS = ["cold_lead_expires", "greeting_unanswered"]
NEW = {"name": "hot_goes_cold", "when": {"stage": "hot_lead"}, "after": "7d", "to": "stage:cold_lead"}


def names(client, headers) -> list[str]:
    response = client.get("/api/v1/time-rules", headers=headers)
    assert response.status_code == 200
    return [r["name"] for r in response.get_json()["items"]]


def stored(engine) -> int:
    with reading(engine) as conn:
        return conn.execute(
            select(func.count()).select_from(TimeRule).where(TimeRule.removed_at.is_(None))
        ).scalar()


def test_agents_read_the_template_defaults(client, tokens):
    response = client.get("/api/v1/time-rules", headers=tokens["agent"])
    assert response.status_code == 200
    greeting = next(r for r in response.get_json()["items"] if r["name"] == "greeting_unanswered")
    assert greeting["when"] == {"stage": "greeting", "reply": "no_reply"}
    assert (greeting["after"], greeting["to"]) == ("2d", "stage:cold_lead")
    assert names(client, tokens["agent"]) == DEFAULTS


def test_an_admin_adds_a_rule_and_it_is_listed(client, tokens):
    body = {"name": "greeting_stale", "when": {"stage": "greeting", "reply": "no_reply"}, "after": "36h"}
    response = client.post(
        "/api/v1/time-rules", json=body | {"to": "stage:cold_lead"}, headers=tokens["admin"]
    )
    assert response.status_code == 201
    rule = response.get_json()
    assert rule["when"] == {"stage": "greeting", "reply": "no_reply"}
    assert (rule["name"], rule["after"], rule["to"]) == ("greeting_stale", "36h", "stage:cold_lead")
    assert "greeting_stale" in names(client, tokens["agent"])


def test_an_admin_removes_a_rule_and_a_missing_one_is_404(client, tokens, engine):
    response = client.delete("/api/v1/time-rules/cold_lead_expires", headers=tokens["admin"])
    assert (response.status_code, response.get_json()) == (200, {"ok": True})
    assert names(client, tokens["admin"]) == ["greeting_unanswered"]
    again = client.delete("/api/v1/time-rules/cold_lead_expires", headers=tokens["admin"])
    assert again.status_code == 404
    assert again.get_json()["error"]["details"]["choices"] == ["greeting_unanswered"]
    assert stored(engine) == 1


def test_without_a_token_nothing_is_read_or_changed(client, tokens, engine):
    assert client.get("/api/v1/time-rules").status_code == 401
    assert client.post("/api/v1/time-rules", json=NEW).status_code == 401
    assert client.delete("/api/v1/time-rules/greeting_unanswered").status_code == 401
    names(client, tokens["agent"])
    assert stored(engine) == 2


def test_agents_may_not_add_or_remove_rules(client, tokens, engine):
    response = client.post("/api/v1/time-rules", json=NEW, headers=tokens["agent"])
    assert (response.status_code, response.get_json()["error"]["code"]) == (403, "not_allowed")
    response = client.delete("/api/v1/time-rules/greeting_unanswered", headers=tokens["agent"])
    assert response.status_code == 403
    assert names(client, tokens["agent"]) == DEFAULTS


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"after": "2 weeks"}, "after"),
        ({"after": "0h"}, "after"),
        ({"when": {"stage": "lukewarm"}}, "when"),
        ({"when": {"mood": "greeting"}}, "when"),
        ({"when": {}}, "when"),
        ({"to": "stage:frozen"}, "to"),
        ({"to": "cold_lead"}, "to"),
        ({"to": "hue:cold_lead"}, "to"),
        ({"to": "stage:hot_lead"}, "to"),  # already the condition
        ({"name": "Has Spaces"}, "name"),
        ({"name": None}, "name"),
    ],
)
def test_a_bad_rule_is_a_400_naming_the_field_and_stores_nothing(client, tokens, engine, change, field):
    names(client, tokens["admin"])  # seeded first, so the count below sees only the mistake
    response = client.post("/api/v1/time-rules", json=NEW | change, headers=tokens["admin"])
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["details"]["field"] == field and error["message"]
    assert stored(engine) == 2


def test_an_unknown_status_names_the_choices(client, tokens):
    response = client.post(
        "/api/v1/time-rules", json=NEW | {"when": {"stage": "hot_leed"}}, headers=tokens["admin"]
    )
    body = response.get_json()["error"]
    assert (response.status_code, body["code"], body["details"]["field"]) == (400, "unknown_status", "when")
    assert "hot_lead" in body["details"]["choices"]


def test_a_duplicate_name_is_a_409_and_changes_nothing(client, tokens, engine):
    duplicate = NEW | {"name": "greeting_unanswered"}
    response = client.post("/api/v1/time-rules", json=duplicate, headers=tokens["admin"])
    assert response.status_code == 409
    assert response.get_json()["error"]["details"]["field"] == "name"
    greeting = next(
        r
        for r in client.get("/api/v1/time-rules", headers=tokens["admin"]).get_json()["items"]
        if r["name"] == "greeting_unanswered"
    )
    assert greeting["after"] == "2d"  # 48h, as stored
    assert stored(engine) == 2


def test_a_removed_name_can_be_added_again(client, tokens):
    client.delete("/api/v1/time-rules/cold_lead_expires", headers=tokens["admin"])
    again = NEW | {"name": "cold_lead_expires", "when": {"stage": "cold_lead"}, "to": "stage:passed"}
    response = client.post("/api/v1/time-rules", json=again, headers=tokens["admin"])
    assert (response.status_code, response.get_json()["after"]) == (201, "7d")
    assert names(client, tokens["agent"]) == DEFAULTS


def test_rules_of_another_workspace_are_invisible(client, tokens, other):
    client.post("/api/v1/time-rules", json=NEW, headers=other["headers"])
    assert "hot_goes_cold" not in names(client, tokens["admin"])
    missing = client.delete("/api/v1/time-rules/hot_goes_cold", headers=tokens["admin"])
    assert missing.status_code == 404
    assert "hot_goes_cold" in names(client, other["headers"])


def test_the_openapi_document_lists_the_time_rule_routes(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert set(paths["/api/v1/time-rules"]) == {"get", "post"}
    assert set(paths["/api/v1/time-rules/{name}"]) == {"delete"}
    post = paths["/api/v1/time-rules"]["post"]
    assert {"201", "400", "401", "403", "409"} <= set(post["responses"])
    assert "Role: admin" in post["description"]
    assert "Role: agent" in paths["/api/v1/time-rules"]["get"]["description"]

"""Intent assignments and reports over the API."""

from __future__ import annotations

import csv
import io

from tests.api.conftest import add


def test_intents_list_what_each_assigns_and_admins_override_it(client, tokens):
    listed = client.get("/api/v1/intents", headers=tokens["agent"]).json
    assert listed["packs"]
    intent = next(i for i in listed["items"] if i["assigns"].get("stage"))
    name = intent["name"]
    r = client.put(
        f"/api/v1/intents/{name}/assignment", json={"status": "stage:cold_lead"}, headers=tokens["admin"]
    )
    assert r.status_code == 200, r.json
    assert r.json["assigns"]["stage"] == "cold_lead"
    cleared = client.put(
        f"/api/v1/intents/{name}/assignment", json={"status": None, "track": "stage"}, headers=tokens["admin"]
    )
    assert "stage" not in cleared.json["assigns"]
    reset = client.delete(f"/api/v1/intents/{name}/assignment", headers=tokens["admin"])
    assert reset.json["assigns"] == intent["assigns"] and reset.json["overrides"] == {}
    bad = client.put(
        "/api/v1/intents/no_such_intent/assignment", json={"status": "hot"}, headers=tokens["admin"]
    )
    assert bad.status_code == 400 and bad.json["error"]["details"]["field"] == "intent"
    typo = client.put(
        f"/api/v1/intents/{name}/assignment", json={"status": "stage:lukewarm"}, headers=tokens["admin"]
    )
    assert typo.status_code == 400 and typo.json["error"]["details"]["field"] == "status"


def test_reports_count_transition_convert_and_export(client, tokens, engine, workspace):
    ids = [add(engine, workspace, name) for name in ("Ann", "Bob", "=cmd|' /C calc'!A0")]
    h = tokens["agent"]
    for cid in ids[:2]:
        client.post(f"/api/v1/customers/{cid}/statuses", json={"status": "hot"}, headers=h)
    client.post(f"/api/v1/customers/{ids[0]}/activities", json={"outcome": "sold"}, headers=h)
    counts = client.get("/api/v1/reports/counts", headers=h).json["counts"]
    assert counts["stage"] == {"greeting": 1, "cold_lead": 0, "hot_lead": 1, "closed_won": 1, "passed": 0}
    report = client.get("/api/v1/reports/transitions?from=hot_lead&to=closed_won", headers=h).json
    pairs = {(t["from"], t["to"]): t["count"] for t in report["transitions"] if t["track"] == "stage"}
    assert pairs == {("greeting", "hot_lead"): 2, ("hot_lead", "closed_won"): 1}
    assert report["conversion"] == {
        "from": "stage:hot_lead",
        "to": "stage:closed_won",
        "entered": 2,
        "converted": 1,
        "rate": 0.5,
    }
    future = client.get("/api/v1/reports/transitions?since=2999-01-01T00:00:00Z", headers=h).json
    assert future["transitions"] == []
    stay = client.get("/api/v1/reports/time-in-status?track=stage", headers=h).json["tracks"]["stage"]
    assert stay["greeting"]["stays"] == 3 and stay["greeting"]["median_seconds"] >= 0
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(
                    "/api/v1/reports/customers.csv?status=hot_lead&status=greeting", headers=h
                ).get_data(as_text=True)
            )
        )
    )
    assert rows[0][:3] == ["id", "name", "identities"]
    assert [r[1] for r in rows[1:]] == ["Bob", "'=cmd|' /C calc'!A0"]


def test_report_mistakes_name_the_field(client, tokens):
    h = tokens["agent"]
    for query, field in [
        ("from=hot_lead", "to"),
        ("since=yesterday", "since"),
        ("since=2026-01-01T00:00:00", "since"),
        ("since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", "until"),
        ("from=hot_lead&to=nowhere", "status"),
    ]:
        r = client.get(f"/api/v1/reports/transitions?{query}", headers=h)
        assert r.status_code == 400, query
        assert r.json["error"]["details"]["field"] == field, query
    assert client.get("/api/v1/reports/time-in-status?track=mood", headers=h).status_code == 400

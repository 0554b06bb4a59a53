"""Customers over the API: listing, adding, showing, status changes, activities, links, idempotency."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

from sqlalchemy import func, select, update

from plugin.domain.clock import utcnow
from plugin.store.db import transaction
from plugin.store.schema import Customer, StatusChange
from tests.api.conftest import add


def _set(client, headers, cid, status, **extra):
    return client.post(f"/api/v1/customers/{cid}/statuses", json={"status": status, **extra}, headers=headers)


def test_add_customer_normalizes_the_phone_and_starts_on_first_statuses(client, tokens):
    r = client.post(
        "/api/v1/customers", json={"name": "Ann Lee", "phone": "(555) 123-0001"}, headers=tokens["agent"]
    )
    assert r.status_code == 201, r.json
    assert r.json["identities"] == ["sms:+15551230001"]
    assert r.json["statuses"] == {
        "stage": "greeting",
        "reply": "new",
        "outcome": "none",
        "attention": "active",
    }
    assert r.json["opted_out"] is False


def test_add_customer_with_a_taken_identity_is_a_conflict_and_stores_nothing(
    client, tokens, engine, workspace
):
    add(engine, workspace, "Ann", "+15551230001")
    r = client.post(
        "/api/v1/customers", json={"name": "Bob", "phone": "+1 555 123 0001"}, headers=tokens["agent"]
    )
    assert r.status_code == 409 and r.json["error"]["details"]["field"] == "identity"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Customer)).scalar_one() == 1


def test_malformed_customer_bodies_name_the_field_and_store_nothing(client, tokens, engine):
    cases = [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": 5}, "name"),
        ({"name": "A", "phone": "not a phone"}, "phone"),
        ({"name": "A", "identities": ["fax:123"]}, "identity"),
        ({"name": "A\x00B"}, "name"),
        ({"name": "A", "identities": "sms:+15551230001"}, "identities"),
    ]
    for body, field in cases:
        r = client.post("/api/v1/customers", json=body, headers=tokens["agent"])
        assert r.status_code == 400, (body, r.json)
        assert r.json["error"]["details"]["field"] == field, body
    r = client.post(
        "/api/v1/customers", data="not json", headers=tokens["agent"], content_type="application/json"
    )
    assert r.status_code == 400 and r.json["error"]["details"]["field"] == "body"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Customer)).scalar_one() == 0


def test_list_filters_by_status_pairs_search_and_opt_out(client, tokens, engine, workspace):
    ann = add(engine, workspace, "Ann Hot", "+15551230001")
    bob = add(engine, workspace, "Bob Hot VIP", "+15551230002")
    add(engine, workspace, "Cid Cold", "+15551230003")
    for cid in (ann, bob):
        assert _set(client, tokens["agent"], cid, "hot").status_code == 200
    assert _set(client, tokens["agent"], bob, "attention:vip", note="big spender").status_code == 200

    def names(query):
        r = client.get(f"/api/v1/customers?{query}", headers=tokens["agent"])
        assert r.status_code == 200, r.json
        return [c["name"] for c in r.json["items"]]

    assert names("track=stage&status=hot_lead") == ["Ann Hot", "Bob Hot VIP"]
    assert names("status=stage:hot_lead&status=attention:vip") == ["Bob Hot VIP"]
    assert names("status=hot_lead&status=cold_lead") == ["Ann Hot", "Bob Hot VIP"]
    assert names("q=cold") == ["Cid Cold"]
    assert names("q=1230002") == ["Bob Hot VIP"]
    assert names("opted_out=true") == []


def _forged(cursor) -> str:
    raw = cursor if isinstance(cursor, str) else json.dumps(cursor)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def test_list_rejects_unknown_filters_with_the_field(client, tokens):
    for query, field in [
        ("status=stage:lukewarm", "status"),
        ("status=mood:happy", "track"),
        ("sort=random", "sort"),
        ("limit=201", "limit"),
        ("limit=0", "limit"),
        ("cursor=garbage", "cursor"),
        ("cursor=" + _forged({"s": "id", "k": [2**63]}), "cursor"),
        ("cursor=" + _forged('{"s": "id", "k": [Infinity]}'), "cursor"),
        ("sort=name&cursor=" + _forged({"s": "name", "k": ["Ann\u0000", 1]}), "cursor"),
        ("sort=name&cursor=" + _forged('{"s": "name", "k": ["\\ud800", 1]}'), "cursor"),
    ]:
        r = client.get(f"/api/v1/customers?{query}", headers=tokens["agent"])
        assert r.status_code == 400, query
        assert r.json["error"]["details"]["field"] == field, query


def test_priority_sort_puts_open_highest_stage_longest_waiting_first(client, tokens, engine, workspace):
    now = utcnow()
    won = add(engine, workspace, "Won")
    old_hot = add(engine, workspace, "Old hot")
    new_hot = add(engine, workspace, "New hot")
    add(engine, workspace, "Greeting")
    assert _set(client, tokens["agent"], won, "closed_won").status_code == 200
    for cid in (old_hot, new_hot):
        assert _set(client, tokens["agent"], cid, "hot").status_code == 200
    with transaction(engine) as conn:
        for cid, minutes in ((old_hot, 90), (new_hot, 5)):
            conn.execute(
                update(Customer)
                .where(Customer.id == cid)
                .values(waiting_since=now - timedelta(minutes=minutes))
            )
    r = client.get("/api/v1/customers?sort=priority", headers=tokens["agent"])
    assert [c["name"] for c in r.json["items"]] == ["Old hot", "New hot", "Greeting", "Won"]


def test_cursor_pages_are_stable_under_inserts(client, tokens, engine, workspace):
    original = [add(engine, workspace, f"Customer {i:02d}") for i in range(12)]
    for cid in original[::3]:
        _set(client, tokens["agent"], cid, "hot")
    hot = set(original[::3])
    for sort in ("priority", "id", "name", "priority&status=hot_lead"):
        seen, cursor, extra = [], None, 0
        while True:
            limit = 2 if "status" in sort else 5
            query = f"/api/v1/customers?sort={sort}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
            page = client.get(query, headers=tokens["agent"]).json
            seen += [c["id"] for c in page["items"]]
            new = add(engine, workspace, f"Late {sort} {extra}")
            extra += 1
            _set(client, tokens["agent"], new, "hot")  # lands on an earlier page in priority order
            cursor = page["next_cursor"]
            if not cursor:
                break
        expected = hot if "status" in sort else set(original)
        assert sorted(i for i in seen if i in original) == sorted(expected), sort
        assert len(seen) == len(set(seen)), sort


def test_show_customer_has_badges_history_why_and_linked_warning(client, tokens, engine, workspace):
    ann = add(engine, workspace, "Ann", "+15551230001")
    bob = add(engine, workspace, "Bob", "+15551230002")
    assert _set(client, tokens["agent"], ann, "hot").status_code == 200
    assert (
        _set(client, tokens["agent"], bob, "attention:do_not_serve", note="abusive on the phone").status_code
        == 200
    )
    link = client.post(
        f"/api/v1/customers/{ann}/links", json={"other_id": bob, "note": "spouse"}, headers=tokens["agent"]
    )
    assert link.status_code == 201
    assert (
        client.post(
            f"/api/v1/customers/{ann}/links", json={"other_id": bob}, headers=tokens["agent"]
        ).status_code
        == 409
    )
    shown = client.get(f"/api/v1/customers/{ann}", headers=tokens["agent"]).json
    assert shown["badges"]["stage"]["badge"] == "🔥 Hot Lead"
    assert shown["why"]["stage"]["to"] == "hot_lead" and shown["why"]["stage"]["actor"] == "desk-agent"
    assert shown["why"]["reply"] is None
    assert shown["links"] == [{"id": bob, "name": "Bob", "note": "spouse", "warning": True}]
    assert "Do Not Serve" in shown["warnings"][0]
    assert [e["to"] for e in shown["history"]] == ["hot_lead"]
    assert client.delete(f"/api/v1/customers/{ann}/links/{bob}", headers=tokens["agent"]).status_code == 200
    assert client.get(f"/api/v1/customers/{bob}", headers=tokens["agent"]).json["links"] == []
    assert client.delete(f"/api/v1/customers/{ann}/links/{bob}", headers=tokens["agent"]).status_code == 400


def test_manual_status_errors_explain_themselves_and_change_nothing(client, tokens, engine, workspace):
    cid = add(engine, workspace, "Ann")
    reply = _set(client, tokens["agent"], cid, "reply:in_progress")
    assert reply.status_code == 403 and reply.json["error"]["code"] == "not_allowed"
    note = _set(client, tokens["agent"], cid, "attention:vip")
    assert note.status_code == 400 and note.json["error"]["details"]["field"] == "note"
    typo = _set(client, tokens["agent"], cid, "hot lede")
    assert typo.status_code == 400 and typo.json["error"]["details"]["suggestion"] == "hot_lead"
    assert (
        client.delete("/api/v1/tracks/stage/statuses/cold_lead", headers=tokens["admin"]).status_code == 200
    )
    assert _set(client, tokens["agent"], cid, "hot").status_code == 200
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(StatusChange)).scalar_one() == 1
    assert (
        client.get(f"/api/v1/customers/{cid}/history", headers=tokens["agent"]).json["items"][0]["to"]
        == "hot_lead"
    )


def test_archived_status_cannot_be_assigned(client, tokens, engine, workspace):
    ann, bob = add(engine, workspace, "Ann"), add(engine, workspace, "Bob")
    assert _set(client, tokens["agent"], ann, "hot").status_code == 200
    gone = client.delete("/api/v1/tracks/stage/statuses/hot_lead", headers=tokens["admin"]).json
    assert gone["archived"] is True and gone["customers"] == 1
    r = _set(client, tokens["agent"], bob, "stage:hot_lead")
    assert r.status_code == 409 and r.json["error"]["code"] == "archived_status"


def test_logging_an_activity_sets_outcome_and_stage(client, tokens, engine, workspace):
    cid = add(engine, workspace, "Ann")
    r = client.post(
        f"/api/v1/customers/{cid}/activities", json={"outcome": "vm", "via": "call"}, headers=tokens["agent"]
    )
    assert r.status_code == 201 and r.json["statuses"]["outcome"] == "left_voicemail"
    r = client.post(
        f"/api/v1/customers/{cid}/activities",
        json={"outcome": "sold", "via": "in-store", "note": "paid cash"},
        headers=tokens["agent"],
    )
    assert r.json["statuses"]["stage"] == "closed_won"
    assert {e["source"] for e in r.json["entries"]} == {"activity"}
    bad = client.post(
        f"/api/v1/customers/{cid}/activities",
        json={"outcome": "sold", "via": "pigeon"},
        headers=tokens["agent"],
    )
    assert bad.status_code == 400 and bad.json["error"]["details"]["field"] == "via"


def test_idempotency_key_replays_the_first_answer_and_changes_nothing_twice(client, tokens, engine):
    headers = tokens["agent"] | {"Idempotency-Key": "create-ann-1"}
    first = client.post("/api/v1/customers", json={"name": "Ann"}, headers=headers)
    again = client.post("/api/v1/customers", json={"name": "Ann"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json == again.json
    cid = first.json["id"]
    key = tokens["agent"] | {"Idempotency-Key": "hot-1"}
    one = client.post(f"/api/v1/customers/{cid}/statuses", json={"status": "hot"}, headers=key)
    two = client.post(f"/api/v1/customers/{cid}/statuses", json={"status": "hot"}, headers=key)
    assert one.json == two.json
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Customer)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(StatusChange)).scalar_one() == 1


def test_rename_and_archive(client, tokens, engine, workspace):
    cid = add(engine, workspace, "Ann")
    assert (
        client.patch(f"/api/v1/customers/{cid}", json={"name": "Ann Lee"}, headers=tokens["agent"]).json[
            "name"
        ]
        == "Ann Lee"
    )
    assert (
        client.patch(f"/api/v1/customers/{cid}", json={"name": ""}, headers=tokens["agent"]).status_code
        == 400
    )
    assert client.post(f"/api/v1/customers/{cid}/archive", headers=tokens["agent"]).json["archived"] is True
    assert client.post(f"/api/v1/customers/{cid}/archive", headers=tokens["agent"]).status_code == 409
    assert client.get("/api/v1/customers", headers=tokens["agent"]).json["items"] == []
    assert [
        c["id"] for c in client.get("/api/v1/customers?archived=true", headers=tokens["agent"]).json["items"]
    ] == [cid]


def test_unknown_customer_is_404(client, tokens):
    for path in ("/api/v1/customers/999", "/api/v1/customers/999/history", f"/api/v1/customers/{2**60}"):
        r = client.get(path, headers=tokens["agent"])
        assert r.status_code == 404 and r.json["error"]["code"] == "unknown_customer", path

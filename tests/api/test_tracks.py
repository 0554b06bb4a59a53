"""Tracks and status lists over the API: admins shape them, agents read them."""

from __future__ import annotations

from tests.api.conftest import add


def test_admin_adds_edits_reorders_deletes_and_restores_a_status(client, tokens, engine, workspace):
    h = tokens["admin"]
    made = client.post(
        "/api/v1/tracks/stage/statuses",
        json={"key": "warm_lead", "label": "Warm Lead", "emoji": "🌤", "automation": "upgrade_only"},
        headers=h,
    )
    assert made.status_code == 201, made.json
    assert made.json["position"] == 5
    edited = client.patch(
        "/api/v1/tracks/stage/statuses/warm_lead", json={"color": "#FFAA00", "alert": True}, headers=h
    )
    assert edited.json["color"] == "#ffaa00" and edited.json["alert"] is True
    order = ["greeting", "cold_lead", "warm_lead", "hot_lead", "closed_won", "passed"]
    reordered = client.put("/api/v1/tracks/stage/order", json={"keys": order}, headers=h)
    assert [s["key"] for s in reordered.json["items"]] == order
    cid = add(engine, workspace, "Ann")
    assert (
        client.post(
            f"/api/v1/customers/{cid}/statuses", json={"status": "warm"}, headers=tokens["agent"]
        ).status_code
        == 200
    )
    gone = client.delete("/api/v1/tracks/stage/statuses/warm_lead", headers=h).json
    assert gone == {"deleted": False, "archived": True, "customers": 1, "dangling": []}
    listed = client.get("/api/v1/tracks/stage/statuses", headers=tokens["agent"]).json["items"]
    assert next(s for s in listed if s["key"] == "warm_lead")["archived"] is True
    assert client.post("/api/v1/tracks/stage/statuses/warm_lead/restore", headers=h).json["archived"] is False
    assert client.post("/api/v1/tracks/stage/statuses/warm_lead/restore", headers=h).status_code == 409


def test_deleting_an_unused_status_deletes_it_and_lists_dangling_mappings(client, tokens):
    gone = client.delete("/api/v1/tracks/stage/statuses/passed", headers=tokens["admin"]).json
    assert gone["deleted"] is True and gone["customers"] == 0
    assert any(d.startswith("outcome no_sale") for d in gone["dangling"])
    assert client.delete("/api/v1/tracks/stage/statuses/passed", headers=tokens["admin"]).status_code == 400


def test_status_list_mistakes_name_the_field(client, tokens):
    h = tokens["admin"]
    cases = [
        ("post", "/api/v1/tracks/stage/statuses", {"key": "Bad Key"}, 400, "key"),
        ("post", "/api/v1/tracks/stage/statuses", {"key": "hot_lead"}, 409, "key"),
        ("post", "/api/v1/tracks/stage/statuses", {"key": "x", "color": "red"}, 400, "color"),
        ("post", "/api/v1/tracks/stage/statuses", {"key": "x", "automation": "sometimes"}, 400, "automation"),
        ("post", "/api/v1/tracks/mood/statuses", {"key": "x"}, 400, "track"),
        ("patch", "/api/v1/tracks/stage/statuses/nope", {"label": "X"}, 400, "key"),
        ("put", "/api/v1/tracks/stage/order", {"keys": ["greeting"]}, 400, "keys"),
        ("put", "/api/v1/tracks/stage/order", {"keys": "greeting"}, 400, "keys"),
    ]
    for method, path, body, status, field in cases:
        r = getattr(client, method)(path, json=body, headers=h)
        assert r.status_code == status, (path, body, r.json)
        assert r.json["error"]["details"]["field"] == field, (path, body)
    stage = client.get("/api/v1/tracks/stage/statuses", headers=h).json["items"]
    assert [s["key"] for s in stage] == ["greeting", "cold_lead", "hot_lead", "closed_won", "passed"]


def test_a_new_track_puts_every_customer_on_its_first_status(client, tokens, engine, workspace):
    cid = add(engine, workspace, "Ann")
    made = client.post(
        "/api/v1/tracks",
        json={
            "key": "loyalty",
            "label": "Loyalty",
            "statuses": [{"key": "bronze", "emoji": "🥉"}, {"key": "gold", "emoji": "🥇"}],
        },
        headers=tokens["admin"],
    )
    assert made.status_code == 201, made.json
    assert [s["key"] for s in made.json["statuses"]] == ["bronze", "gold"]
    assert (
        client.get(f"/api/v1/customers/{cid}", headers=tokens["agent"]).json["statuses"]["loyalty"]
        == "bronze"
    )
    r = client.post(
        f"/api/v1/customers/{cid}/statuses", json={"status": "loyalty:gold"}, headers=tokens["agent"]
    )
    assert r.json["statuses"]["loyalty"] == "gold"
    assert (
        client.post(
            "/api/v1/tracks",
            json={"key": "loyalty", "label": "Again", "statuses": [{"key": "a"}]},
            headers=tokens["admin"],
        ).status_code
        == 409
    )
    assert (
        client.patch("/api/v1/tracks/loyalty", json={"label": "Tier"}, headers=tokens["admin"]).json["label"]
        == "Tier"
    )
    assert (
        client.patch("/api/v1/tracks/nope", json={"label": "Tier"}, headers=tokens["admin"]).status_code
        == 400
    )

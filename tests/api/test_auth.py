"""Tokens and roles: 401 without a valid token, 403 without the role, the error object every time."""

from __future__ import annotations

import pytest

from plugin.app import create_app
from plugin.app.api import routes
from tests.api.conftest import bearer

ADMIN_ROUTES = [r for r in routes() if r.role == "admin"]


def _url(rule: str) -> str:
    return "/api/v1" + rule.replace("<int:customer_id>", "1").replace("<int:other_id>", "2").replace(
        "<track>", "stage"
    ).replace("<key>", "greeting").replace("<name>", "ask_price").replace("<user_id>", "U0ADMIN1")


def _assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.data
    error = response.json["error"]
    assert error["code"] == code
    assert error["message"]
    assert isinstance(error["details"], dict)


def test_missing_token_answers_401_with_the_error_object(client):
    _assert_error(client.get("/api/v1/customers"), 401, "unauthorized")


@pytest.mark.parametrize("header", ["Bearer nope", "Basic dXNlcjpwYXNz", "Bearer ", "shub_xyz"])
def test_unknown_or_malformed_token_answers_401(client, header):
    _assert_error(client.get("/api/v1/customers", headers={"Authorization": header}), 401, "unauthorized")


def test_revoked_token_answers_401(client, tokens):
    assert client.get("/api/v1/customers", headers=tokens["agent"]).status_code == 200
    assert client.delete("/api/v1/tokens/desk-agent", headers=tokens["admin"]).status_code == 200
    _assert_error(client.get("/api/v1/customers", headers=tokens["agent"]), 401, "unauthorized")


def test_created_token_is_shown_once_and_works(client, tokens):
    created = client.post("/api/v1/tokens", json={"role": "agent", "name": "bot"}, headers=tokens["admin"])
    assert created.status_code == 201
    assert created.json["token"].startswith("shub_")
    listed = client.get("/api/v1/tokens", headers=tokens["admin"]).json["items"]
    assert {t["name"] for t in listed} == {"ops-admin", "desk-agent", "bot"}
    assert all("token" not in t for t in listed)
    assert client.get("/api/v1/customers", headers=bearer(created.json["token"])).status_code == 200


def test_duplicate_token_name_is_a_conflict(client, tokens):
    _assert_error(
        client.post("/api/v1/tokens", json={"role": "agent", "name": "desk-agent"}, headers=tokens["admin"]),
        409,
        "conflict",
    )


def test_bad_role_names_the_field(client, tokens):
    response = client.post("/api/v1/tokens", json={"role": "owner"}, headers=tokens["admin"])
    _assert_error(response, 400, "invalid")
    assert response.json["error"]["details"]["field"] == "role"


def test_revoking_an_unknown_token_is_404(client, tokens):
    _assert_error(client.delete("/api/v1/tokens/ghost", headers=tokens["admin"]), 404, "not_found")


def test_agent_token_is_refused_on_every_admin_route(client, tokens):
    assert len(ADMIN_ROUTES) > 10
    for doc in ADMIN_ROUTES:
        response = client.open(_url(doc.rule), method=doc.method, json={}, headers=tokens["agent"])
        _assert_error(response, 403, "not_allowed")


def test_openapi_needs_no_token_and_documents_every_route(client):
    spec = client.get("/openapi.json").json
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    for rule in client.application.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method) in documented
    op = spec["paths"]["/api/v1/customers"]["post"]
    assert {"400", "401", "403", "404", "409"} <= set(op["responses"])
    assert op["requestBody"]["content"]["application/json"]["schema"]


def test_settings_are_admin_only_and_validated(client, tokens):
    ok = client.patch(
        "/api/v1/settings",
        json={
            "alert_channel": "C0NEW",
            "time_zone": "America/New_York",
            "business_hours": {"mon": "09:00-17:00"},
            "sms_auto_reply": "Thanks! We'll text you back soon.",
        },
        headers=tokens["admin"],
    )
    assert ok.status_code == 200, ok.json
    assert ok.json["alert_channel"] == "C0NEW" and ok.json["time_zone"] == "America/New_York"
    bad = client.patch("/api/v1/settings", json={"time_zone": "Mars/Base"}, headers=tokens["admin"])
    assert bad.status_code == 400 and bad.json["error"]["details"]["field"] == "time_zone"
    hours = client.patch(
        "/api/v1/settings", json={"business_hours": {"mon": "17:00-09:00"}}, headers=tokens["admin"]
    )
    assert hours.status_code == 400 and hours.json["error"]["details"]["field"] == "business_hours"
    assert client.get("/api/v1/settings", headers=tokens["admin"]).json["alert_channel"] == "C0NEW"


def test_slack_admins_can_be_added_and_removed(client, tokens):
    added = client.post("/api/v1/slack-admins", json={"user_id": "U0BOSS1"}, headers=tokens["admin"])
    assert added.status_code == 201 and added.json["items"] == ["U0BOSS1"]
    bad = client.post("/api/v1/slack-admins", json={"user_id": "boss"}, headers=tokens["admin"])
    assert bad.status_code == 400 and bad.json["error"]["details"]["field"] == "user_id"
    assert client.delete("/api/v1/slack-admins/U0BOSS1", headers=tokens["admin"]).json["items"] == []
    assert client.delete("/api/v1/slack-admins/U0BOSS1", headers=tokens["admin"]).status_code == 404


def test_metrics_are_prometheus_text(client, tokens):
    client.get("/api/v1/customers", headers=tokens["agent"])
    text = client.get("/metrics").get_data(as_text=True)
    assert 'statushub_http_requests_total{method="GET",route="/api/v1/customers",status="200"} 1.0' in text
    assert "statushub_outbox_depth 0.0" in text


def _series(client) -> list[str]:
    text = client.get("/metrics").get_data(as_text=True)
    return [line for line in text.splitlines() if line.startswith("statushub_http_request")]


def test_made_up_methods_and_paths_add_no_metric_series(client):
    client.open("/healthz", method="BREW")
    client.open("/no/such/path", method="X")
    client.get("/no/such/path")
    _series(client)  # the first scrape adds the series of /metrics itself
    before = _series(client)
    for n in range(50):
        client.open("/healthz", method=f"BREW{n}")
        client.open(f"/no/such/path/{n}", method=f"X{n}")
        client.get(f"/nothing-{n}")
    after = _series(client)
    assert len(after) == len(before)
    assert not any("BREW" in line or "nothing-" in line or "/no/such" in line for line in after)
    assert any('method="other"' in line and 'route="unmatched"' in line for line in after)


def test_metrics_want_the_metrics_token_when_one_is_set(db_url, workspace):
    client = create_app({"TESTING": True, "DATABASE_URL": db_url, "METRICS_TOKEN": "scrape-me"}).test_client()
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic scrape-me"}):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401 and refused.json["error"]["code"] == "unauthorized"
        assert "statushub_" not in refused.get_data(as_text=True)
    allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert allowed.status_code == 200 and "statushub_outbox_depth" in allowed.get_data(as_text=True)

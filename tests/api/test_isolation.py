"""No token of one workspace reads or changes anything of another, through any API route."""

from __future__ import annotations

from sqlalchemy import select

from plugin.app.api import routes
from plugin.store.db import reading
from plugin.store.schema import (
    ApiToken,
    Customer,
    CustomerLink,
    CustomerStatus,
    Identity,
    IntentCorrection,
    Status,
    StatusChange,
    TimeRule,
    Track,
)

TABLES = (
    Customer,
    CustomerStatus,
    Identity,
    CustomerLink,
    StatusChange,
    Status,
    Track,
    ApiToken,
    TimeRule,
    IntentCorrection,
)


def valid_body(schema, other_customer: int) -> dict:
    """A body each route accepts, so the answer depends on whose ids they are, not on validation."""
    if schema is None:
        return {}
    bodies = {
        "CustomerCreate": {"name": "Mine"},
        "CustomerPatch": {"name": "Stolen"},
        "LinkCreate": {"other_id": other_customer},
        "MergeRequest": {"other_id": other_customer},
        "StatusAssign": {"status": "hot", "note": "x"},
        "ActivityCreate": {"outcome": "sold", "via": "call"},
        "MessageCreate": {"text": "hi"},
        "TrackCreate": {"key": "loyalty", "label": "Loyalty", "statuses": [{"key": "bronze"}]},
        "TrackPatch": {"label": "Stolen"},
        "StatusCreate": {"key": "new_status"},
        "StatusFields": {"label": "Stolen"},
        "Order": {"keys": ["passed", "greeting", "cold_lead", "hot_lead", "closed_won"]},
        "IntentAssign": {"status": "stage:cold_lead"},
        "IntentCorrect": {"intent": "greeting"},
        "TokenCreate": {"role": "agent"},
        "AdminCreate": {"user_id": "U0X1"},
        "SettingsPatch": {"alert_channel": "C0STOLEN", "twilio_auth_token": "stolen-token-123"},
        "EventIn": {
            "identity": "webchat:visitor-1",
            "direction": "inbound",
            "sender": "customer",
            "text": "hi",
        },
        "TimeRuleCreate": {
            "name": "globex-admin",
            "when": {"stage": "greeting"},
            "after": "1d",
            "to": "stage:passed",
        },
    }
    return bodies[schema.__name__]


def _snapshot(engine, workspace_id: int) -> dict:
    with reading(engine) as conn:
        return {
            model.__tablename__: sorted(
                tuple(str(v) for v in row)
                for row in conn.execute(select(model).where(model.workspace_id == workspace_id)).all()
            )
            for model in TABLES
        }


def test_no_route_lets_a_token_reach_another_workspaces_rows(client, tokens, engine, workspace, other):
    b_customer = other["customer_id"]
    before = _snapshot(engine, other["workspace_id"])
    rules = [r for r in client.application.url_map.iter_rules() if r.rule.startswith("/api/v1/")]
    assert len(rules) > 20
    docs = {d.endpoint: d for d in routes()}
    for rule in rules:
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            path = (
                rule.rule.replace("<int:customer_id>", str(b_customer))
                .replace("<int:other_id>", str(b_customer))
                .replace("<track>", "stage")
                .replace("<key>", "greeting")
                .replace("<name>", "globex-admin")
                .replace("<user_id>", "U0X1")
            )
            for who in ("admin", "agent"):
                body = valid_body(docs[rule.endpoint.removeprefix("api.")].body, b_customer)
                response = client.open(path, method=method, json=body or None, headers=tokens[who])
                if "customer_id" in rule.rule:
                    assert response.status_code in (403, 404), (method, path, who, response.json)
                else:
                    assert response.status_code < 500, (method, path, who)
                text = response.get_data(as_text=True)
                assert "Scorpio" not in text and "+15557770000" not in text, (method, path)
    assert _snapshot(engine, other["workspace_id"]) == before


def test_linking_or_merging_with_another_workspaces_customer_is_404(client, tokens, engine, workspace, other):
    mine = client.post("/api/v1/customers", json={"name": "Mine"}, headers=tokens["agent"]).json["id"]
    for path in (f"/api/v1/customers/{mine}/links", f"/api/v1/customers/{mine}/merge"):
        r = client.post(path, json={"other_id": other["customer_id"]}, headers=tokens["admin"])
        assert r.status_code == 404, path
    assert (
        client.get(f"/api/v1/customers/{other['customer_id']}", headers=other["headers"]).status_code == 200
    )

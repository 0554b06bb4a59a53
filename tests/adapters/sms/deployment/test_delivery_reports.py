"""Delivery reports (SPEC §11, issue 16): every send asks Twilio for status callbacks at
STATUSHUB_PUBLIC_URL whenever it is set, and without it /readyz, `statushub serve` and the worker say
that delivery reports are off (sent messages would stay `queued`)."""

from __future__ import annotations

from urllib.parse import parse_qs

import flask
import responses
from click.testing import CliRunner

from plugin.app import create_app
from plugin.cli import main
from tests.adapters.sms.recorded import ACCOUNT, CUSTOMER, PUBLIC, rest

FAKE_TWILIO = "https://twilio.fake.test"


def test_readyz_says_where_delivery_reports_go(client):
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json["delivery_reports"] == "on"
    assert answer.json["status_callback"] == f"{PUBLIC}/sms/twilio/status"


def test_readyz_says_delivery_reports_are_off_without_a_public_url(db_url, deployment):
    answer = create_app({"TESTING": True, "DATABASE_URL": db_url}).test_client().get("/readyz")
    assert answer.status_code == 200 and answer.json["status"] == "ok"
    assert answer.json["delivery_reports"] == "off" and "STATUSHUB_PUBLIC_URL" in answer.json["reason"]


def send(app, deployment):
    client = app.test_client()
    added = client.post(
        "/api/v1/customers", json={"name": "Maria", "phone": CUSTOMER}, headers=deployment["agent"]
    )
    cid = added.json["id"]
    return client.post(
        f"/api/v1/customers/{cid}/messages", json={"text": "Ready!"}, headers=deployment["agent"]
    )


@responses.activate
def test_every_send_asks_for_status_callbacks_at_the_public_url_through_twilio_api_url(db_url, deployment):
    app = create_app(
        {"TESTING": True, "DATABASE_URL": db_url, "PUBLIC_URL": PUBLIC, "TWILIO_API_URL": FAKE_TWILIO}
    )
    responses.post(
        f"{FAKE_TWILIO}/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
        json=rest("rest_message_create.from_number.201"),
        status=201,
    )
    assert send(app, deployment).status_code == 201
    sent = {k: v[0] for k, v in parse_qs(responses.calls[0].request.body).items()}
    assert sent["StatusCallback"] == f"{PUBLIC}/sms/twilio/status"


@responses.activate
def test_without_a_public_url_no_callback_is_asked_for(db_url, deployment, monkeypatch):
    monkeypatch.delenv("STATUSHUB_PUBLIC_URL", raising=False)
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "TWILIO_API_URL": FAKE_TWILIO})
    responses.post(
        f"{FAKE_TWILIO}/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
        json=rest("rest_message_create.from_number.201"),
        status=201,
    )
    assert send(app, deployment).status_code == 201
    assert "StatusCallback" not in parse_qs(responses.calls[0].request.body)


def run(db_url, *args, public: str | None = None):
    env = {"STATUSHUB_DATABASE_URL": db_url, "STATUSHUB_PUBLIC_URL": public}
    return CliRunner().invoke(main, list(args), env=env)


def test_the_worker_says_whether_delivery_reports_are_on(db_url, deployment):
    off = run(db_url, "worker", "--once")
    assert off.exit_code == 0 and "delivery reports off: set STATUSHUB_PUBLIC_URL" in off.stderr
    on = run(db_url, "worker", "--once", public=PUBLIC)
    assert f"delivery reports on: Twilio posts them to {PUBLIC}/sms/twilio/status" in on.stderr


def test_serve_says_whether_delivery_reports_are_on(db_url, deployment, monkeypatch):
    monkeypatch.setattr(flask.Flask, "run", lambda self, **kwargs: None)  # no server in a test
    off = run(db_url, "serve")
    assert off.exit_code == 0 and "delivery reports off" in off.stderr
    assert "delivery reports on" in run(db_url, "serve", public=PUBLIC).stderr

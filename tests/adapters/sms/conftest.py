"""SMS test fixtures: the real app on the test database, and Twilio's own signer."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from plugin.app import create_app
from plugin.store.schema import Message, StatusChange

ACCOUNT = "AC" + "1" * 32
TOKEN = "12345"
HUB_NUMBER = "+15550001111"
CUSTOMER = "+15557654321"


@pytest.fixture
def client(db_url, workspace):
    return create_app({"TESTING": True, "DATABASE_URL": db_url}).test_client()


def signed(path: str, form, token: str = TOKEN, base: str = "http://localhost") -> dict:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(base + path, form)}


def inbound_form(sid: str, body: str, sender: str = CUSTOMER, **extra) -> dict:
    form = {
        "ToCountry": "US",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": HUB_NUMBER,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }
    form.update(extra)
    return form


def post_inbound(client, form, **kwargs):
    path = "/sms/twilio/inbound"
    return client.post(path, data=form, headers=signed(path, form, **kwargs))


def rows(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def counts(engine) -> tuple[int, int]:
    return rows(engine, Message), rows(engine, StatusChange)


def twilio_created(sid: str = "SMout1", status: str = "queued") -> dict:
    """Twilio's answer to Messages.create, trimmed to what the hub reads."""
    return {
        "sid": sid,
        "account_sid": ACCOUNT,
        "from": HUB_NUMBER,
        "to": CUSTOMER,
        "body": "",
        "status": status,
        "direction": "outbound-api",
        "date_created": "Mon, 04 May 2026 09:30:00 +0000",
        "error_code": None,
        "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}.json",
    }


MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json"


@pytest.fixture
def held_app(db_url):
    """The hub with a fold delay; its folder stops before the test's database goes."""
    apps = []

    def make(delay_ms: int):
        apps.append(create_app({"TESTING": True, "DATABASE_URL": db_url, "FOLD_DELAY_MS": delay_ms}))
        return apps[-1]

    yield make
    for app in apps:
        folder = app.extensions["statushub"].folder
        if folder is not None:
            folder.stop()


def wait_until(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError("not folded in time")

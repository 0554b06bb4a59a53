"""Twilio's recorded payloads (tests/fixtures/recorded/twilio/, sources in its SOURCES.md) and a
deployment set up the way they were captured: account AC9f3b…, number +15017122661, the WhatsApp
Sandbox sender, a Messaging Service and a short code, served at https://hub.example.com."""

from __future__ import annotations

import json
from pathlib import Path

from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

RECORDED = Path(__file__).parents[2] / "fixtures" / "recorded" / "twilio"
ACCOUNT = "AC9f3b2c1d4e5f60718293a4b5c6d7e8f9"
TOKEN = "0123456789abcdef0123456789abcdef"  # the token SIGNING.md's vectors use
OTHER_TOKEN = "fedcba9876543210fedcba9876543210"
NUMBER = "+15017122661"
SECOND_NUMBER = "+15017122662"
WHATSAPP_SENDER = "whatsapp:+14155238886"
SERVICE = "MG5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"
SHORT_CODE = "894546"
CUSTOMER = "+14155550123"
PUBLIC = "https://hub.example.com"
MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json"


def form(name: str, **changes: str) -> MultiDict:
    """A recorded form (`key=value` lines, values decoded, `#` lines are notes), with `changes`."""
    pairs = [
        tuple(line.split("=", 1))
        for line in (RECORDED / f"{name}.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    data = MultiDict(pairs)
    for key, value in changes.items():
        data[key] = value
    return data


def rest(name: str) -> dict:
    return json.loads((RECORDED / f"{name}.json").read_text(encoding="utf-8"))


def post(client, path: str, data: MultiDict, token: str = TOKEN):
    signature = RequestValidator(token).compute_signature(PUBLIC + path, data)
    return client.post(path, data=data, headers={"X-Twilio-Signature": signature})


def inbound(client, data: MultiDict, token: str = TOKEN):
    return post(client, "/sms/twilio/inbound", data, token)


def status_callback(client, data: MultiDict, token: str = TOKEN):
    return post(client, "/sms/twilio/status", data, token)

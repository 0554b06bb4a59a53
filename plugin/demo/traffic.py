"""The demo's bundled traffic as the webhook deliveries a provider would make (pure: no I/O but the file)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources

import yaml

SENDERS = {"c": ("inbound", "customer"), "b": ("outbound", "bot"), "a": ("outbound", "agent")}
CONVERSATION_SPACING = timedelta(minutes=37)


@dataclass(frozen=True)
class Delivery:
    """One webhook call: Twilio's form for SMS, the web chat JSON event otherwise."""

    channel: str
    form: dict[str, str] = field(default_factory=dict)
    event: dict = field(default_factory=dict)


def conversations() -> list[dict]:
    text = resources.files("plugin.demo").joinpath("conversations.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["conversations"]


def deliveries(workspace: str, hub_number: str, account_sid: str, start: datetime) -> list[Delivery]:
    """Every delivery in the order the providers make them, duplicates included. Ids are derived from
    the conversation and position, so a second replay delivers the very same messages."""
    out: list[Delivery] = []
    for n, conv in enumerate(conversations()):
        if conv["channel"] == "sms":
            made = [
                _sms(conv, n, i, text, hub_number, account_sid) for i, text in enumerate(conv["messages"])
            ]
        else:
            begins = start + n * CONVERSATION_SPACING
            made = [_webchat(conv, n, i, line, workspace, begins) for i, line in enumerate(conv["messages"])]
        out += made
        out += [made[i] for i in conv.get("duplicates", [])]
    return out


def _sid(n: int, i: int) -> str:
    return "SM" + hashlib.sha256(f"demo-{n}-{i}".encode()).hexdigest()[:32]


def _sms(conv: dict, n: int, i: int, text: str, hub_number: str, account_sid: str) -> Delivery:
    sid = _sid(n, i)
    form = {
        "ToCountry": "US",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": text,
        "To": hub_number,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": conv["phone"],
        "ApiVersion": "2010-04-01",
    }
    if conv.get("name"):
        form["ProfileName"] = conv["name"]
    return Delivery("sms", form=form)


def _webchat(conv: dict, n: int, i: int, line: list, workspace: str, start: datetime) -> Delivery:
    minute, who, text = line
    direction, sender = SENDERS[who]
    visitor = {"id": conv["visitor"]}
    if conv.get("name"):
        visitor["name"] = conv["name"]
    event = {
        "workspace": workspace,
        "event_id": f"demo-{conv['visitor']}-{i}",
        "visitor": visitor,
        "direction": direction,
        "sender": sender,
        "text": text,
        "timestamp": (start + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z"),
    }
    return Delivery("webchat", event=event)

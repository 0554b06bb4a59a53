"""Signed, never-repeated webhook requests for the ingest benches, as raw HTTP records for replay.lua.

Web chat events and Chatwoot deliveries for 500 customers (70 % inbound), Twilio inbound posts from
500 phone numbers signed with twilio's own RequestValidator; provider times only move forward and
never pass now. Requests are written as records "<byte length>\\n<raw request>".
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import json
import random
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from bench.wrkload import ROOT, raw_request

CUSTOMERS = 500
RECORDED = ROOT / "tests" / "fixtures" / "recorded" / "chatwoot" / "webhooks"

INBOUND = [
    "hi", "hello!", "Hey, are you open today?", "good morning :)",
    "how much is the blue hoodie?", "what's the price for the 48 inch desk?",
    "do you ship to Canada? how long does it take", "is the grey one still in stock in size L?",
    "can you send me the payment details?", "how do I pay, bank transfer ok?",
    "ok I'll take two of the black ones", "would you do $60 for it?", "any discount if I buy 3?",
    "I just sent the payment, please check", "paid! ref 88213", "thanks, got it yesterday, love it",
    "not interested anymore, thanks", "too expensive for me", "already bought one somewhere else",
    "¿Cuánto cuesta el envío a Monterrey?", "hola, lo tienen en talla M?", "gracias, muy amable",
    "ขอราคาหน่อยค่ะ", "ส่งต่างจังหวัดไหมคะ", "โอนแล้วนะคะ", "👍", "ok", "yes", "is there a warranty?",
    "so I ordered last week and the tracking hasn't moved since Tuesday, my sister's birthday is "
    "on Saturday and I really need it before then, can you check what's going on? order 55120",
]  # fmt: skip
OUTBOUND = [
    "Hi! Thanks for reaching out, how can we help?", "The blue hoodie is $45, shipping included.",
    "Yes, size L is in stock. Want me to reserve one?", "Here is the payment link: https://pay.example/x7Q2",
    "Payment received, thank you! It ships tomorrow.", "We ship to Canada in 5-7 business days.",
    "Sorry for the wait, checking your order now.", "Thanks! Let us know if you need anything else.",
]  # fmt: skip
AREAS = ["212", "312", "415", "617", "646", "718", "305", "404", "503", "206"]
NAMES = ["Maria Garcia", "James Smith", "Ana Souza", "Somchai Srisuk", "Lucia Martinez", "Kevin Lee"]


@dataclass(frozen=True)
class Secrets:
    """The bench workspace's slug and the secrets its channels sign with."""

    slug: str = "bench"
    webchat: str = "wc-" + uuid.uuid4().hex
    chatwoot: str = uuid.uuid4().hex[:24]
    twilio_token: str = uuid.uuid4().hex
    twilio_account: str = "AC" + uuid.uuid4().hex
    twilio_number: str = "+14155550100"


class Traffic:
    """One row's request stream: unique, signed at build time (signing is the platform's cost).
    `url` is the public URL Twilio posts to (what it signs): the server's own."""

    def __init__(self, kind: str, seed: int, secrets: Secrets, url: str = "") -> None:
        self.kind, self.rng, self.seq = kind, random.Random(seed), 0
        self.secrets, self.url = secrets, url
        self.validator = RequestValidator(secrets.twilio_token)
        self.phones = [
            f"+1{self.rng.choice(AREAS)}{self.rng.randint(2000000, 9899999)}" for _ in range(CUSTOMERS)
        ]
        self.run = uuid.uuid4().hex[:8]
        self.base = seed * 10_000_000
        self.clock = time.time() - 30.0  # provider time: forward only, never past now
        self.templates = {
            name: json.loads((RECORDED / f"{name}.json").read_text(encoding="utf-8"))
            for name in ("message_created.incoming_whatsapp", "message_created.outgoing_agent",
                         "message_created.outgoing_agent_bot")
        }  # fmt: skip

    def build(self, n: int, filename: Path) -> None:
        now = time.time()
        step = min(0.0002, max(now - self.clock, 0.0) / max(n, 1))
        with open(filename, "wb") as f:
            for _ in range(n):
                self.seq += 1
                self.clock += step
                raw = getattr(self, self.kind)(int(now))
                f.write(b"%d\n" % len(raw))
                f.write(raw)

    def _turn(self) -> tuple[int, bool, str, str]:
        who = self.rng.randrange(CUSTOMERS)
        inbound = self.rng.random() < 0.7
        return (
            who,
            inbound,
            self.rng.choice(INBOUND if inbound else OUTBOUND),
            self.rng.choice(["agent", "agent", "bot"]),
        )

    def _stamp(self) -> str:
        at = dt.datetime.fromtimestamp(self.clock, dt.UTC)
        return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def webchat(self, t: int) -> bytes:
        who, inbound, words, sender = self._turn()
        body = json.dumps(
            {"workspace": self.secrets.slug, "event_id": f"ev-{self.run}-{self.seq:08d}",
             "visitor": {"id": f"web-{self.run[:4]}-{who:04d}", "name": NAMES[who % len(NAMES)]},
             "direction": "inbound" if inbound else "outbound",
             "sender": "customer" if inbound else sender, "text": words, "timestamp": self._stamp()},
            ensure_ascii=False,
        ).encode()  # fmt: skip
        mac = hmac.new(self.secrets.webchat.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Statushub-Signature": f"t={t},v1={mac}"}
        return raw_request("/webchat/events", headers, body)

    def chatwoot(self, t: int) -> bytes:
        who, inbound, words, sender = self._turn()
        if inbound:
            doc = copy.deepcopy(self.templates["message_created.incoming_whatsapp"])
        else:
            name = "outgoing_agent" if sender == "agent" else "outgoing_agent_bot"
            doc = copy.deepcopy(self.templates[f"message_created.{name}"])
        contact_id, phone = 100_000 + who, f"+1415555{who:04d}"
        for person in (doc["conversation"]["meta"]["sender"], *([doc["sender"]] if inbound else [])):
            person.update(id=contact_id, name=NAMES[who % len(NAMES)], phone_number=phone)
        doc["conversation"]["id"] = 50_000 + who
        doc.update(id=self.base + self.seq, content=words, created_at=self._stamp())
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        stamp = str(t)
        mac = hmac.new(
            self.secrets.chatwoot.encode(), stamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-Chatwoot-Delivery": str(uuid.uuid4()),
            "X-Chatwoot-Timestamp": stamp,
            "X-Chatwoot-Signature": "sha256=" + mac,
        }
        return raw_request(f"/chatwoot/events/{self.secrets.slug}", headers, body)

    def twilio(self, _t: int) -> bytes:
        """An inbound SMS as Twilio posts it (the fields of its messaging webhook)."""
        sid = f"SM{self.run}{self.seq:024d}"
        who = self.rng.randrange(CUSTOMERS)
        form = {
            "ToCountry": "US", "ToState": "CA", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "",
            "FromZip": "10001", "SmsSid": sid, "FromState": "NY", "SmsStatus": "received",
            "FromCity": "NEW YORK", "Body": self.rng.choice(INBOUND), "FromCountry": "US",
            "To": self.secrets.twilio_number, "ToZip": "", "NumSegments": "1", "MessageSid": sid,
            "AccountSid": self.secrets.twilio_account, "From": self.phones[who], "ApiVersion": "2010-04-01",
        }  # fmt: skip
        path = "/sms/twilio/inbound"
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": self.validator.compute_signature(self.url + path, form),
            "I-Twilio-Idempotency-Token": uuid.uuid4().hex,
        }
        return raw_request(path, headers, urlencode(form).encode())

"""Chatwoot ingest benchmark (run by hand): signed Chatwoot deliveries per second beside signed web
chat events and a bare Flask /healthz, in one run, with one client (SPEC §11, issue 15).

    .venv/bin/python bench/chatwoot_ingest.py [--seconds 8] [--rounds 3] [--connections 8] [--pg]

The shape of the product owner's ingest measure (../shared/perf/ingest.py): every row is
`gunicorn -k sync -w 2` on loopback, loaded by wrk (1 thread, 8 connections, closed loop) replaying
pre-built raw requests through bench/replay.lua, each sent once:

  healthz   bare Flask GET /healthz (bench/bare_flask.py)
  webchat   statushub POST /webchat/events: 500 visitors, 70 % inbound, signed t=...,v1=...
  chatwoot  statushub POST /chatwoot/events/<slug>: 500 contacts, 70 % incoming, 30 % outgoing by an
            agent or a bot, the recorded message_created shape (tests/fixtures/recorded/chatwoot/),
            compact JSON as Ruby's to_json sends it, unique message ids and X-Chatwoot-Delivery,
            signed sha256= over "<timestamp>.<body>"

Both statushub rows share one server and one fresh database (SQLite, or PostgreSQL with --pg), as a
workspace that has web chat and Chatwoot would. Rows are measured in interleaved rounds after a
warm-up each, so load from anything else on this shared two-core machine falls on every row alike;
the median round is reported with every round beside it. Goal: chatwoot >= 0.9 x webchat.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import hmac
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bench.ingest import children, cpu_seconds  # noqa: E402
from plugin.domain.clock import utcnow  # noqa: E402
from plugin.store.db import make_engine, transaction, upgrade  # noqa: E402
from plugin.workspace.chatwoot import connect  # noqa: E402
from plugin.workspace.workspaces import create_workspace  # noqa: E402

PG_ADMIN = os.environ.get("STATUSHUB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SLUG = "bench"
WEBCHAT_SECRET = "wc-" + uuid.uuid4().hex
CHATWOOT_SECRET = uuid.uuid4().hex[:24]
CUSTOMERS = 500
RECORDED = ROOT / "tests" / "fixtures" / "recorded" / "chatwoot" / "webhooks"
LUA = Path(__file__).resolve().parent / "replay.lua"

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
NAMES = ["Maria Garcia", "James Smith", "Ana Souza", "Somchai Srisuk", "Lucia Martinez", "Kevin Lee"]


def raw_request(path: str, headers: dict, body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Traffic:
    """One row's request stream: unique, signed at build time (signing is the platform's cost)."""

    def __init__(self, kind: str, seed: int) -> None:
        self.kind, self.rng, self.seq = kind, random.Random(seed), 0
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
                raw = self.webchat(int(now)) if self.kind == "webchat" else self.chatwoot(int(now))
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
            {"workspace": SLUG, "event_id": f"ev-{self.run}-{self.seq:08d}",
             "visitor": {"id": f"web-{self.run[:4]}-{who:04d}", "name": NAMES[who % len(NAMES)]},
             "direction": "inbound" if inbound else "outbound",
             "sender": "customer" if inbound else sender, "text": words, "timestamp": self._stamp()},
            ensure_ascii=False,
        ).encode()  # fmt: skip
        mac = hmac.new(WEBCHAT_SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
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
        mac = hmac.new(CHATWOOT_SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-Chatwoot-Delivery": str(uuid.uuid4()),
            "X-Chatwoot-Timestamp": stamp,
            "X-Chatwoot-Signature": "sha256=" + mac,
        }
        return raw_request(f"/chatwoot/events/{SLUG}", headers, body)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    with transaction(engine) as conn:
        ws = create_workspace(conn, SLUG, webchat_secret=WEBCHAT_SECRET, now=utcnow())
        connect(conn, ws, url="https://chatwoot.example.com", account_id=1, api_token="bench-token",
                webhook_secret=CHATWOOT_SECRET, webhook_id=None, now=utcnow())  # fmt: skip
    engine.dispose()


def start(app: str, port: int, env: dict) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-k", "sync", "-w", "2", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", app],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    import http.client

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    os.killpg(server.pid, signal.SIGKILL)
    raise SystemExit("gunicorn did not start: " + (server.stderr.read() or b"").decode()[-2000:])


def stop(server: subprocess.Popen) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(server.pid, signal.SIGKILL)


def wrk(port: int, path: str, seconds: float, connections: int, requests: Path | None, work: Path) -> dict:
    result = work / "result.json"
    env = {**os.environ, "BENCH_RESULT": str(result), "BENCH_REQUESTS": str(requests or "")}
    subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "5s", "-s", str(LUA),
         f"http://127.0.0.1:{port}{path}"],
        env=env, check=True, stdout=subprocess.DEVNULL, timeout=seconds + 60,
    )  # fmt: skip
    out = json.loads(result.read_text())
    bad = out["non_2xx"] + out["connect"] + out["read"] + out["write"] + out["timeout"]
    out["rate"] = (out["requests"] - bad) / (out["duration_us"] / 1e6)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=8)
    p.add_argument("--warmup", type=float, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    a = p.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    work = Path(tempfile.mkdtemp(prefix="bench-chatwoot-"))
    servers: list[subprocess.Popen] = []
    admin, db_name = None, None
    try:
        if a.pg:
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            db_name = f"bench_cw_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{db_name}"'))
            url = PG_ADMIN.rsplit("/", 1)[0] + "/" + db_name
        else:
            url = f"sqlite:///{work / 'bench.db'}"
        prepare(url)
        bare_port, hub_port = free_port(), free_port()
        servers.append(start("bench.bare_flask:app", bare_port, {}))
        servers.append(start("plugin.app:create_app()", hub_port, {"STATUSHUB_DATABASE_URL": url}))
        rows = {
            "healthz": (bare_port, "/healthz", None),
            "webchat": (hub_port, "/webchat/events", Traffic("webchat", 1)),
            "chatwoot": (hub_port, f"/chatwoot/events/{SLUG}", Traffic("chatwoot", 2)),
        }
        hint = {name: 1000.0 for name in rows}
        workers = {bare_port: children(servers[0].pid), hub_port: children(servers[1].pid)}
        cpu_ms: dict[str, list[float]] = {name: [] for name in rows}
        rates: dict[str, list[float]] = {name: [] for name in rows}
        notes: list[str] = []

        def slice_(name: str, seconds: float) -> dict:
            port, path, traffic = rows[name]
            requests = None
            if traffic is not None:
                requests = work / f"{name}.req"
                # Sized for three times the fastest rate seen: a request must never be sent twice (a
                # repeat is a cheap duplicate answer and would flatter its row).
                traffic.build(int(hint[name] * seconds * 3) + 500, requests)
            before = cpu_seconds(workers[port])
            out = wrk(port, path, seconds, a.connections, requests, work)
            out["cpu_ms"] = (cpu_seconds(workers[port]) - before) * 1000 / max(out["requests"], 1)
            if out["wrapped"]:
                notes.append(f"{name}: {out['wrapped']} requests repeated (the file ran out)")
            if out["non_2xx"]:
                notes.append(f"{name}: {out['non_2xx']} answers were not 2xx")
            hint[name] = max(hint[name], out["rate"])
            return out

        for name in rows:
            slice_(name, a.warmup)
        last: dict[str, dict] = {}
        for n in range(a.rounds):
            for name in rows:
                last[name] = slice_(name, a.seconds)
                rates[name].append(last[name]["rate"])
                cpu_ms[name].append(last[name]["cpu_ms"])
            print(f"round {n + 1}: " + "  ".join(f"{k} {v[-1]:,.0f}/s" for k, v in rates.items()), flush=True)
        med = {name: statistics.median(v) for name, v in rates.items()}
        backend = "PostgreSQL" if a.pg else "SQLite"
        print(
            f"\nwrk -t1 -c{a.connections}, {a.rounds} rounds x {a.seconds:.0f} s, gunicorn sync x2, {backend}"
        )
        print(f"{'row':10} {'req/s (median)':>15} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11}  rounds")
        cpu = {name: statistics.median(v) for name, v in cpu_ms.items()}
        for name in rows:
            print(
                f"{name:10} {med[name]:>15,.0f} {last[name]['p50_us'] / 1000:>8.1f} "
                f"{last[name]['p99_us'] / 1000:>8.1f} {cpu[name]:>11.2f}  "
                + ", ".join(f"{r:,.0f}" for r in rates[name])
            )
        per_round = [c / w for c, w in zip(rates["chatwoot"], rates["webchat"], strict=True)]
        print(f"\nchatwoot / webchat: {med['chatwoot'] / med['webchat']:.2f} (goal >= 0.90; rounds "
              + ", ".join(f"{r:.2f}" for r in per_round) + ")")  # fmt: skip
        print(
            f"CPU per request of the gunicorn workers, chatwoot / webchat: {cpu['chatwoot'] / cpu['webchat']:.2f} "
            "(other load on the machine does not move it; with --pg the database server's is not counted)"
        )
        print(f"webchat / healthz: {med['webchat'] / med['healthz']:.2f}   "
              f"chatwoot / healthz: {med['chatwoot'] / med['healthz']:.2f}")  # fmt: skip
        for note in dict.fromkeys(notes):
            print("note:", note)
    finally:
        for server in servers:
            stop(server)
        if admin is not None and db_name:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
            admin.dispose()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

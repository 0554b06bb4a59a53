"""Slack acknowledgement benchmark (run by hand): how long Slack waits for the hub's answer when Slack's
own Web API is slow (issue 16 item 4 measured 4,044 ms for a card click and 4,007 ms for App Home).

    .venv/bin/python bench/slack_ack.py [--slow 4] [--requests 20]

Starts `gunicorn 'plugin.app:create_app()'` (sync, 2 workers) on SQLite with SLACK_API_URL pointing at
a local fake Slack whose every call (views.publish, response_url) answers after `--slow` seconds, then
sends signed card menu clicks and app_home_opened events one at a time and prints, per kind, the
answer's p50 and max beside bare /healthz; then waits for the fake to have received every call the
answers started and checks every click's change was stored. Slack gives up after 3 s. Bounded.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slack_sdk.signature import SignatureVerifier  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.wrkload import free_port, start, stop  # noqa: E402
from plugin.customers.naming import add_customer  # noqa: E402
from plugin.domain.clock import utcnow  # noqa: E402
from plugin.store.db import make_engine, reading, transaction, upgrade  # noqa: E402
from plugin.store.schema import StatusChange  # noqa: E402
from plugin.workspace.catalog import load_catalog  # noqa: E402
from plugin.workspace.workspaces import create_workspace  # noqa: E402

SECRET = "bench-signing-secret"
TEAM = "T0BENCH"


class SlowSlack(BaseHTTPRequestHandler):
    delay = 4.0
    calls = 0
    lock = threading.Lock()

    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(self.delay)
        with SlowSlack.lock:
            SlowSlack.calls += 1
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def signed(body: str) -> dict:
    ts = str(int(time.time()))
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body),
    }


def click(customer: int, n: int, slack_url: str) -> tuple[str, str]:
    key = ("hot_lead", "cold_lead")[n % 2]
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": "U0BENCH", "team_id": TEAM},
        "api_app_id": "A0BENCH",
        "trigger_id": f"trigger-{n}",
        "response_url": slack_url + f"/actions/{n}",
        "container": {"type": "message", "is_ephemeral": True},
        "actions": [{"action_id": "set_stage", "block_id": f"x:{customer}", "action_ts": f"1800000000.{n:06d}",
                     "type": "static_select", "selected_option": {"value": f"{customer}:{key}"}}],
    }  # fmt: skip
    return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"


def home(n: int) -> tuple[str, str]:
    body = {"token": "x", "team_id": TEAM, "api_app_id": "A0BENCH", "type": "event_callback",
            "event_id": f"EvBENCH{n}", "event_time": int(time.time()),
            "event": {"type": "app_home_opened", "user": "U0BENCH", "channel": "D0BENCH", "tab": "home"}}  # fmt: skip
    return json.dumps(body), "application/json"


def timed(port: int, method: str, path: str, body: str = "", content_type: str = "") -> tuple[float, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": content_type, **signed(body)} if body else {}
    started = time.perf_counter()
    conn.request(method, path, body=body.encode(), headers=headers)
    response = conn.getresponse()
    response.read()
    elapsed = (time.perf_counter() - started) * 1000
    conn.close()
    return elapsed, response.status


def report(name: str, times: list[float]) -> None:
    print(f"{name:<18} p50 {statistics.median(times):7.1f} ms   max {max(times):7.1f} ms   n={len(times)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slow", type=float, default=4.0, help="seconds each fake Slack call takes")
    parser.add_argument("--requests", type=int, default=20, help="of each kind")
    args = parser.parse_args()
    SlowSlack.delay = args.slow
    fake = ThreadingHTTPServer(("127.0.0.1", 0), SlowSlack)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    slack_url = f"http://127.0.0.1:{fake.server_address[1]}"

    tmp = tempfile.mkdtemp(prefix="statushub-slack-ack-")
    url = f"sqlite:///{tmp}/bench.db"
    upgrade(url)
    engine = make_engine(url)
    with transaction(engine) as conn:
        ws = create_workspace(conn, "bench", slack_team=TEAM, slack_bot_token="xoxb-bench", now=utcnow())
        customer = add_customer(conn, load_catalog(conn, ws), "Bench Customer", [], "US", utcnow())
    os.environ.update({"SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack_url + "/api/"})
    port = free_port()
    server = start("plugin.app:create_app()", port, {"STATUSHUB_DATABASE_URL": url})
    try:
        health = [timed(port, "GET", "/healthz")[0] for _ in range(args.requests)]
        warm = 4  # each worker's first requests load the catalog and the classifier: not timed
        for n in range(args.requests, args.requests + warm):
            timed(port, "POST", "/slack/events", *click(customer, n, slack_url))
            timed(port, "POST", "/slack/events", *home(n))
        clicks, homes = [], []
        for n in range(args.requests):
            elapsed, status = timed(port, "POST", "/slack/events", *click(customer, n, slack_url))
            assert status == 200, status
            clicks.append(elapsed)
            elapsed, status = timed(port, "POST", "/slack/events", *home(n))
            assert status == 200, status
            homes.append(elapsed)
        print(f"Slack's Web API faked {args.slow:g} s slow; gunicorn sync, 2 workers, SQLite")
        report("/healthz", health)
        report("card menu click", clicks)
        report("app_home_opened", homes)
        deadline = time.monotonic() + args.slow * 2 * args.requests + 30
        while SlowSlack.calls < 2 * (args.requests + warm) and time.monotonic() < deadline:
            time.sleep(0.2)
        with reading(engine) as conn:
            stored = conn.execute(
                select(func.count()).select_from(StatusChange).where(StatusChange.source == "manual")
            ).scalar_one()
        print(f"Slack calls made after the answers: {SlowSlack.calls} of {2 * (args.requests + warm)}; "
              f"manual changes stored: {stored} of {args.requests + warm}")  # fmt: skip
    finally:
        stop(server)
        fake.shutdown()
        engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

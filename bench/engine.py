"""Bulk speed of the engine's batch path against a plain Core insert of the same rows (Issue 2).

Applies N inbound messages to M customers through `plugin.engine.inbox.receive` (the path every channel
takes: customers, messages, reply track, intent rules, policy, audit, outbox), B messages per
transaction, on a fresh SQLite file; then inserts the same message rows into a second fresh
database with a plain Core executemany, same batch size. Prints both rates and their ratio.

    .venv/bin/python bench/engine.py [--messages 100000] [--customers 10000] [--batch 1000]
                                     [--rounds 3] [--profile | --phases]

The two runs alternate for `--rounds` rounds, each on fresh databases, and each side keeps its best
round: on a two-core machine anything else running slows whichever side it overlaps.

`--phases` times the batch path's steps (µs per message; wrapping costs ~0.3 µs a call, so the
small per-message steps read a little high).
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import os
import pstats
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import plugin.engine  # noqa: E402
import plugin.engine.inbox  # noqa: E402
import plugin.engine.write_path  # noqa: E402
from plugin.domain.events import MessageEvent  # noqa: E402
from plugin.engine.inbox import receive  # noqa: E402
from plugin.engine.status_writes import Writes  # noqa: E402
from plugin.store.db import make_engine, transaction, upgrade  # noqa: E402
from plugin.store.schema import Customer, Message  # noqa: E402
from plugin.workspace.catalog import load_catalog  # noqa: E402
from plugin.workspace.intents import classifier_for  # noqa: E402
from plugin.workspace.workspaces import create_workspace  # noqa: E402

TEXTS = [
    "hello",
    "hi there, is this the store?",
    "how much is the blue jacket",
    "what are your payment options",
    "can I pay by credit card",
    "not interested, thanks",
    "ok thanks",
    "do you ship to Canada?",
    "I want to buy it",
    "is it still available",
    "maybe later",
    "thank you so much",
]
PROFILE_SORT = os.environ.get("SORT", "tottime")
START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


# The batch path's steps, as (owner, attribute) for --phases.
PHASES = [
    (plugin.engine.inbox, "record_messages"),
    (plugin.engine.write_path, "load_known_states"),
    (plugin.engine.write_path, "ensure_customers"),
    (plugin.engine.write_path, "load_states"),
    (plugin.engine.write_path, "_existing_messages"),
    (plugin.engine.write_path, "fold"),
    (plugin.engine.write_path, "_message_row"),
    (plugin.engine.write_path, "insert_returning"),
    (Writes, "add"),
    (Writes, "write_states"),
    (Writes, "flush"),
]


def time_phases() -> dict[str, float]:
    """Wraps each of PHASES with a timer; returns the seconds each has taken, filled as they run."""
    spent = dict.fromkeys((name for _, name in PHASES), 0.0)

    def timed(name, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - started

        return wrapper

    for owner, name in PHASES:
        setattr(owner, name, timed(name, getattr(owner, name)))
    return spent


def print_phases(spent: dict[str, float], count: int, engine_s: float) -> None:
    recording = spent.pop("record_messages")
    rows = [*spent.items(), ("the rest", recording - sum(spent.values()))]
    rows += [("record_messages", recording), ("receive, outside it", engine_s - recording)]
    for name, seconds in rows:
        print(f"  {name:20} {seconds / count * 1e6:6.1f} µs/msg")


def phone(i: int) -> str:
    return f"+1555{i:07d}"


def messages(count: int, customers: int, seed: int = 7) -> list[tuple[int, str, str, datetime]]:
    """(customer index, text, provider id, provider time), in time order as providers deliver them."""
    rng = random.Random(seed)
    return [
        (i % customers, rng.choice(TEXTS), f"SM{i:032d}", START + timedelta(seconds=i)) for i in range(count)
    ]


def fresh_database(directory: Path, name: str):
    url = f"sqlite:///{directory / name}"
    upgrade(url)
    engine = make_engine(url)
    with transaction(engine) as conn:
        ws = create_workspace(conn, "bench", name="Bench", now=START)
    return engine, ws


def run_engine(directory: Path, rows, batch: int, name: str = "engine.db") -> float:
    engine, ws = fresh_database(directory, name)
    events = [
        MessageEvent(ws, "sms", f"sms:{phone(c)}", "inbound", "customer", text, pid, at)
        for c, text, pid, at in rows
    ]
    with transaction(engine) as conn:
        # Loading the rule packs is a once-per-process start-up cost, not a per-message one.
        classifier_for(conn, load_catalog(conn, ws))
    started = time.perf_counter()
    for i in range(0, len(events), batch):
        with transaction(engine) as conn:
            receive(conn, ws, events[i : i + batch], now=events[-1].provider_at)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def run_raw(directory: Path, rows, customers: int, batch: int, name: str = "raw.db") -> float:
    engine, ws = fresh_database(directory, name)
    with transaction(engine) as conn:
        ids = (
            conn.execute(
                insert(Customer).returning(Customer.id, sort_by_parameter_order=True),
                [
                    {
                        "workspace_id": ws,
                        "name": phone(c),
                        "opted_out": False,
                        "priority_open": True,
                        "priority_rank": 0,
                        "created_at": START,
                    }
                    for c in range(customers)
                ],
            )
            .scalars()
            .all()
        )
    table = Message.__table__
    message_rows = [
        {
            "workspace_id": ws,
            "customer_id": ids[c],
            "channel": "sms",
            "direction": "inbound",
            "sender": "customer",
            "text": text,
            "provider_id": pid,
            "provider_at": at,
            "received_at": START,
            "delivery_status": None,
            "error_code": None,
            "intents": [],
            "media": [],
        }
        for c, text, pid, at in rows
    ]
    started = time.perf_counter()
    for i in range(0, len(message_rows), batch):
        with transaction(engine) as conn:
            conn.execute(insert(table), message_rows[i : i + batch])
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--profile", action="store_true", help="profile the engine run (cProfile)")
    parser.add_argument("--phases", action="store_true", help="time the batch path's steps")
    parser.add_argument("--rounds", type=int, default=3, help="alternating engine/raw rounds; best kept")
    args = parser.parse_args()
    rounds = 1 if args.profile or args.phases else args.rounds
    spent = time_phases() if args.phases else None
    rows = messages(args.messages, args.customers)
    engine_times, raw_times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for n in range(rounds):
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
            engine_times.append(run_engine(directory, rows, args.batch, f"engine{n}.db"))
            if args.profile:
                profiler.disable()
                pstats.Stats(profiler).sort_stats(PROFILE_SORT).print_stats(45)
            raw_times.append(run_raw(directory, rows, args.customers, args.batch, f"raw{n}.db"))
    # Other load on a small machine slows whichever runs beside it: each side keeps its best round.
    engine_s, raw_s = min(engine_times), min(raw_times)
    engine_rate, raw_rate = args.messages / engine_s, args.messages / raw_s
    print(
        f"{args.messages:,} inbound messages, {args.customers:,} customers, "
        f"{args.batch:,} per transaction, SQLite"
    )
    print(f"engine (inbox.receive): {engine_rate:10,.0f} msg/s  ({engine_s:.1f} s)")
    print(f"raw Core insert:        {raw_rate:10,.0f} msg/s  ({raw_s:.1f} s)")
    ratio = engine_rate / raw_rate
    verdict = "met" if ratio >= 1 / 3 else "NOT met"
    print(f"engine / raw:           {ratio:10.3f}  (target: at least a third, {verdict})")
    if rounds > 1:
        print(
            f"rounds, msg/s: engine {' '.join(f'{args.messages / t:,.0f}' for t in engine_times)}; "
            f"raw {' '.join(f'{args.messages / t:,.0f}' for t in raw_times)}"
        )
    if spent is not None:
        print_phases(spent, args.messages, engine_s)


if __name__ == "__main__":
    main()

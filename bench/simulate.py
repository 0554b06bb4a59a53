"""`rules simulate` on a big workspace: 100,000 stored inbound messages of 10,000 customers (Issue 14).

Fills a fresh SQLite file through the engine's batch path with texts of the shipped corpus (so the
model has real work), then times `simulate` over the whole period with a proposed pack list (the
English pack alone, against the workspace's three). Beside it, in the same run, the floor: the same
texts classified by the rules and the model in one batch (`rules.decision.decide_many`), with no
database and no fold. Prints both, their ratio, and the time against the 30 s goal.

    .venv/bin/python bench/simulate.py [--messages 100000] [--customers 10000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from plugin.customers.simulate import simulate  # noqa: E402
from plugin.domain.events import MessageEvent  # noqa: E402
from plugin.engine import receive  # noqa: E402
from plugin.store.db import make_engine, reading, transaction, upgrade  # noqa: E402
from plugin.workspace.catalog import load_catalog  # noqa: E402
from plugin.workspace.intent_model import shipped_model  # noqa: E402
from plugin.workspace.intents import matcher_for  # noqa: E402
from plugin.workspace.workspaces import DEFAULT_PACKS, create_workspace  # noqa: E402
from rules.corpus import load_corpus  # noqa: E402
from rules.decision import decide_many  # noqa: E402

START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
GOAL_S = 30.0


def fill(url: str, count: int, customers: int, texts: list[str]) -> None:
    upgrade(url)
    engine = make_engine(url)
    with transaction(engine) as conn:
        ws = create_workspace(conn, "bench", name="Bench", now=START)
    rng = random.Random(7)
    events = [
        MessageEvent(
            ws,
            "sms",
            f"sms:+1555{i % customers:07d}",
            "inbound",
            "customer",
            rng.choice(texts),
            f"SM{i:032d}",
            START + timedelta(seconds=i),
        )
        for i in range(count)
    ]
    for i in range(0, count, 1000):
        with transaction(engine) as conn:
            receive(conn, ws, events[i : i + 1000], now=START + timedelta(days=2))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=10_000)
    args = parser.parse_args()
    texts = [row.text for row in load_corpus()]
    model = shipped_model(DEFAULT_PACKS)
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'simulate.db'}"
        started = time.perf_counter()
        fill(url, args.messages, args.customers, texts)
        print(
            f"filled {args.messages:,} messages of {args.customers:,} customers in {time.perf_counter() - started:.1f} s"
        )
        engine = make_engine(url)
        with reading(engine) as conn:
            catalog = load_catalog(conn, 1)
            started = time.perf_counter()
            found = simulate(conn, catalog, START - timedelta(days=1), packs=("sales_en",))
            simulated = time.perf_counter() - started
        engine.dispose()
    rng = random.Random(7)
    sample = [rng.choice(texts) for _ in range(args.messages)]
    matcher = matcher_for(DEFAULT_PACKS)
    started = time.perf_counter()
    decide_many(sample, matcher, model, template="online-store")
    floor = time.perf_counter() - started
    print(
        f"simulate: {found.messages:,} messages, {found.customers_seen:,} customers, {len(found.moved):,} would move"
    )
    print(f"  simulate          {simulated:6.2f} s   ({found.messages / simulated:,.0f} msg/s)")
    print(f"  floor (classify)  {floor:6.2f} s   ({args.messages / floor:,.0f} msg/s)")
    print(f"  floor/simulate    {floor / simulated:.3f}")
    print(
        f"  goal: under {GOAL_S:.0f} s -> {'met' if simulated < GOAL_S else 'NOT met'} ({simulated / GOAL_S:.2f} of it)"
    )


if __name__ == "__main__":
    main()

"""Folding held messages on PostgreSQL: the batch path with its array statements beside the same fold
with them switched off (SQLAlchemy's executemany, a statement per row), in one run (issue 18).

Holds N Twilio-like messages of 500 customers (the shared harness's texts), folds them through
`plugin.engine.held.fold` B per transaction, and prints µs per message: wall time, the process's CPU
and the PostgreSQL backends' CPU. The two sides alternate for --rounds rounds on one fresh database
(customers exist after a warm-up fold), and each prints its median round.

    .venv/bin/python bench/fold.py [--messages 1000] [--batch 35,100,500] [--rounds 3]

PostgreSQL is bench/wrkload.py's (STATUSHUB_TEST_PG_URL, default postgres@127.0.0.1:5432).

Under the webhooks, a fold at the default delay (250 ms) takes some tens of messages per process.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.traffic import INBOUND  # noqa: E402
from bench.wrkload import Databases  # noqa: E402
from plugin.domain.clock import utcnow  # noqa: E402
from plugin.domain.events import MessageEvent  # noqa: E402
from plugin.engine.held import fold, hold_committed  # noqa: E402
from plugin.store.db import make_engine, single_statements, transaction, upgrade  # noqa: E402
from plugin.store.prepared import Prepared  # noqa: E402
from plugin.workspace.workspaces import create_workspace  # noqa: E402


class Messages:
    """Inbound messages of 500 customers, each with a new provider id, dated just before now."""

    def __init__(self, workspace_id: int) -> None:
        self.workspace_id, self.rng, self.seq = workspace_id, random.Random(18), 0
        self.phones = [f"+1212{self.rng.randint(2_000_000, 9_899_999)}" for _ in range(500)]

    def take(self, n: int) -> list[MessageEvent]:
        start = datetime.now(UTC) - timedelta(seconds=60)
        out = []
        for _ in range(n):
            self.seq += 1
            out.append(
                MessageEvent(
                    self.workspace_id,
                    "sms",
                    "sms:" + self.rng.choice(self.phones),
                    "inbound",
                    "customer",
                    self.rng.choice(INBOUND),
                    f"SMbench{self.seq:026d}",
                    start + timedelta(milliseconds=self.seq),
                )
            )
        return out


def cpu_seconds(pids: list[str]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def backends(database: str) -> list[str]:
    out = subprocess.run(["pgrep", "-f", f"postgres: .*{database}"], capture_output=True, text=True).stdout
    return out.split()


@contextmanager
def arrays_off():
    """The batch path as it was before its array statements: SQLAlchemy's executemany for every batch."""
    kept = Prepared.array_rows
    Prepared.array_rows = lambda self, conn, keys: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        Prepared.array_rows = kept  # type: ignore[method-assign]


def one_fold(engine, database: str, messages: Messages, n: int, batch: int) -> tuple[float, float, float]:
    with single_statements(engine) as conn:
        for event in messages.take(n):
            hold_committed(conn, event, utcnow())
    pg0, cpu0, wall0 = cpu_seconds(backends(database)), time.process_time(), time.perf_counter()
    folded = fold(engine, messages.workspace_id, batch=batch)
    wall, cpu, pg = (
        time.perf_counter() - wall0,
        time.process_time() - cpu0,
        cpu_seconds(backends(database)) - pg0,
    )
    assert folded.folded == n and not folded.failed, folded
    return 1e6 * wall / n, 1e6 * cpu / n, 1e6 * pg / n


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--batch", default="35,100,500")
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()
    databases = Databases(pg=True, work=Path("."))
    url = databases.new("fold")
    database = url.rsplit("/", 1)[1]
    try:
        upgrade(url)
        engine = make_engine(url)
        with transaction(engine) as conn:
            workspace = create_workspace(conn, "bench", twilio_number="+14158234417", now=utcnow())
        messages = Messages(workspace)
        one_fold(engine, database, messages, 600, 500)  # customers made, model and catalog loaded
        print(
            f"fold of {opts.messages} held messages, PostgreSQL; µs a message (median of {opts.rounds} rounds)"
        )
        print(f"{'batch':>6}  {'side':<14} {'wall':>7} {'hub cpu':>8} {'pg cpu':>7}")
        for batch in (int(b) for b in opts.batch.split(",")):
            sides: dict[str, list] = {"arrays": [], "per row (off)": []}
            for _ in range(opts.rounds):
                sides["arrays"].append(one_fold(engine, database, messages, opts.messages, batch))
                with arrays_off():
                    sides["per row (off)"].append(one_fold(engine, database, messages, opts.messages, batch))
            medians = {
                side: [statistics.median(r[i] for r in rounds) for i in range(3)]
                for side, rounds in sides.items()
            }
            for side, (wall, cpu, pg) in medians.items():
                print(f"{batch:>6}  {side:<14} {wall:>7.0f} {cpu:>8.0f} {pg:>7.0f}")
            on, off = medians["arrays"], medians["per row (off)"]
            print(
                f"{'':>6}  arrays/off: wall {on[0] / off[0]:.2f}, cpu + pg cpu {(on[1] + on[2]) / (off[1] + off[2]):.2f}"
            )
        engine.dispose()
    finally:
        databases.drop()


if __name__ == "__main__":
    main()

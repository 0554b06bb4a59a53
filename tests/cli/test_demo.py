"""`statushub demo`: the bundled traffic through the real, signed webhooks; a second run changes nothing."""

from __future__ import annotations

import re
import time
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from plugin.app import create_app
from plugin.cli.demo_cli import demo_command
from plugin.demo import load_demo
from plugin.domain.signatures import header
from plugin.store.schema import Customer, Message, StatusChange


def run(db_url: str):
    # As a user runs it: with the default fold delay, not the suite's 0 (the demo prints statuses at once).
    env = {"STATUSHUB_DATABASE_URL": db_url, "STATUSHUB_FOLD_DELAY_MS": None}
    result = CliRunner().invoke(demo_command, [], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def tally(engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (Message, Customer, StatusChange)
        )


def test_demo_twice_second_run_is_all_duplicates_and_the_board_is_unchanged(db_url, engine):
    first = run(db_url)
    found = re.search(r"(\d+) deliveries replayed: (\d+) new, (\d+) duplicate", first)
    delivered, new, duplicate = map(int, found.groups())
    assert new >= 250 and duplicate > 0 and new + duplicate == delivered
    assert "refused" not in first
    after_first = tally(engine)
    assert after_first[0] == new and after_first[1] >= 30

    second = run(db_url)
    assert f"{delivered} deliveries replayed: 0 new, {delivered} duplicate" in second
    assert tally(engine) == after_first
    board = first[first.index("stage:") :]
    assert second[second.index("stage:") :] == board
    leads = board.split("hot leads, highest priority first:")[1].splitlines()
    # Open hot leads, longest waiting first: the earliest web chat conversation heads the queue.
    assert len(leads) >= 5 and "Emma Schmidt" in leads[1]
    with engine.connect() as conn:
        # The three bundled STOP and UNSUBSCRIBE customers are opted out; STOP then START is opted back in.
        assert conn.execute(select(func.count()).where(Customer.opted_out)).scalar_one() == 3


def test_load_demo_creates_the_demo_workspace(engine):
    assert load_demo(engine) == "demo"
    assert tally(engine)[0] >= 250


def test_the_readme_web_chat_example_works_against_the_hub_make_run_serves(cli, db_url):
    """The README's web chat example, as a new user runs it after `make run` (`init --demo`): its body
    and secret, signed as its shell lines sign them, answer what its comment shows."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = readme[readme.index("**Web chat.**") :]
    example = example[: example.index("```", example.index("```sh") + 5)]
    body = re.search(r"body='(.*?)'", example).group(1).encode()
    secret = re.search(r"-hmac (\S+)", example).group(1)
    shown = re.search(r"# → (.*)", example).group(1)

    cli("init", "--demo")
    client = create_app({"DATABASE_URL": db_url, "TESTING": True}).test_client()
    answer = client.post(
        "/webchat/events",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Statushub-Signature": header(secret, int(time.time()), body),
        },
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    customer = answer.get_json()["customer"]
    assert f'"id": {customer["id"]}, "name": "{customer["name"]}"' in shown
    statuses = dict(re.findall(r'"(stage|reply)": "(\w+)"', shown))
    assert statuses.keys() == {"stage", "reply"}, shown
    assert {track: customer["statuses"][track] for track in statuses} == statuses

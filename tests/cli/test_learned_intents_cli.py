"""`statushub intents correct|corrections`, `rules train`, `rules classify --workspace` and `rules
simulate` from the command line (SPEC §4)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from plugin.domain.clock import utcnow
from plugin.domain.events import MessageEvent
from plugin.engine import receive
from plugin.store.db import transaction

PHRASE = "zorblax wubbly flenn"


def send(engine, ws: int, text: str, n: int, phone: str, minutes_ago: int = 60) -> int:
    when = utcnow() - timedelta(minutes=minutes_ago)
    event = MessageEvent(ws, "sms", f"sms:{phone}", "inbound", "customer", text, f"SM{n}", when)
    with transaction(engine) as conn:
        return receive(conn, ws, [event], now=utcnow())[0].message_id


def classified(cli, text: str) -> dict:
    return json.loads(cli("rules", "classify", "--workspace", "acme", input=text + "\n").stdout)


@pytest.mark.slow  # trains a model
def test_corrections_then_train_teach_the_workspace_a_new_phrase(cli, engine, workspace):
    ids = [send(engine, workspace, PHRASE, n, f"+1555000100{n}") for n in range(3)]
    for mid in ids:
        assert "counts from the next" in cli("intents", "correct", str(mid), "place_order").stdout
    listed = json.loads(cli("intents", "corrections", "--json").stdout)
    assert [(c["message_id"], c["intent"], c["actor"]) for c in listed] == [
        (m, "place_order", "cli") for m in ids
    ]
    trained = json.loads(cli("rules", "train", "--json").stdout)
    assert trained["version"] == 1 and trained["corrections"] == 3
    record = classified(cli, PHRASE)
    assert record["source"] == "model" and record["intents"][0] == "place_order"


def test_a_correction_naming_an_unknown_intent_or_message_fails_and_stores_nothing(
    cli, fails, engine, workspace
):
    mid = send(engine, workspace, "hello", 1, "+15550001001")
    assert "no intent 'ask_prize'" in fails("intents", "correct", str(mid), "ask_prize")
    assert "no message 999999" in fails("intents", "correct", "999999", "greeting")


def test_classify_with_a_workspace_says_which_matcher_decided(cli, workspace):
    record = classified(cli, "how do I pay?")
    assert (
        record["source"] == "rule"
        and record["assign"] == {"stage": "hot_lead"}
        and record["confidence"] is None
    )


def test_simulate_lists_who_would_move_and_changes_nothing(cli, engine, workspace, db_url, tmp_path):
    mid = send(engine, workspace, "hello there", 1, "+15550002001")
    send(engine, workspace, "how do I pay?", 2, "+15550002002")  # no phrase of the blunt pack
    pack = tmp_path / "blunt.yaml"
    pack.write_text(
        "pack: blunt\nlanguage: en\nintents:\n  - name: brush_off\n    assign: {stage: passed}\n"
        "    patterns: [hello there]\n",
        encoding="utf-8",
    )
    before = _fingerprint(db_url, engine)
    found = json.loads(cli("rules", "simulate", "--pack", str(pack), "--json").stdout)
    assert _fingerprint(db_url, engine) == before
    assert [(c["from"], c["to"], c["message_id"]) for c in found["customers"]] == [
        ("greeting", "passed", mid),
        ("hot_lead", "greeting", None),  # the blunt pack alone would never have made them Hot
    ]
    assert found["intents"]["brush_off"] == {"before": 0, "after": 1}
    assert found["intents"]["request_payment_info"]["before"] == 1
    assert found["intents"]["request_payment_info"]["after"] == 0
    text = cli("rules", "simulate", "--pack", str(pack)).stdout
    assert "2 customer(s) would end on another stage" in text and "😴 Passed" in text


def test_simulate_refuses_a_bad_period(fails, workspace):
    assert "duration" in fails("rules", "simulate", "--since", "forever")


def _fingerprint(db_url: str, engine) -> str:
    """The SQLite file byte for byte; on PostgreSQL every row of every table."""
    if db_url.startswith("sqlite:///"):
        engine.dispose()
        return hashlib.sha256(open(db_url.removeprefix("sqlite:///"), "rb").read()).hexdigest()
    from tests.cli.conftest import snapshot

    return repr(snapshot(engine))


def test_the_readmes_classify_examples_answer_what_their_comments_show(cli, workspace):
    """Each `echo "..." | statushub rules classify` line of the README, and the line after it: the
    intents, the assignment and which matcher decided (the model's confidence may move with training)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    examples = re.findall(
        r'^echo "(.+?)" \| \.venv/bin/statushub rules classify.*\n# (\{.*\})$', readme, re.M
    )
    assert len(examples) >= 2
    for text, comment in examples:
        shown = json.loads(comment.replace('"text": ...', '"text": null'))
        record = classified(cli, text)
        assert (record["intents"], record["assign"], record["source"]) == (
            shown["intents"],
            shown["assign"],
            shown["source"],
        ), text

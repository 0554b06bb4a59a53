"""`statushub rules classify|test` from the outside: JSON lines in and out, tables, exit statuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import rules
from plugin.cli.rules_cli import rules_group

SHIPPED_CSV = Path(rules.__file__).parent / "eval" / "sales_en.csv"


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(rules_group, list(args), input=input, catch_exceptions=False)

    return invoke


def lines_of(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines()]


def test_classify_writes_one_json_object_per_line(run):
    result = run("classify", "--rules-only", input="hello\nhow do I pay?\nok\n")
    assert result.exit_code == 0
    assert lines_of(result.stdout) == [
        {
            "text": "hello",
            "intents": ["greeting"],
            "assign": {"stage": "greeting"},
            "source": "rule",
            "confidence": None,
        },
        {
            "text": "how do I pay?",
            "intents": ["request_payment_info", "has_question"],
            "assign": {"stage": "hot_lead"},
            "source": "rule",
            "confidence": None,
        },
        {"text": "ok", "intents": [], "assign": {}, "source": None, "confidence": None},
    ]


def test_classify_names_the_model_when_the_rules_find_no_stage(run):
    # Written for this test, in no pack and no corpus: the rules find nothing, the model reads it.
    result = run("classify", input="hello\ntransferí los 300 pesos hace rato, checa porfa\n")
    assert result.exit_code == 0, result.stderr
    greeting, paid = lines_of(result.stdout)
    assert greeting["source"] == "rule" and greeting["confidence"] is None
    assert paid["source"] == "model"
    assert paid["intents"][0] == "payment_sent"
    assert 0.0 < paid["confidence"] <= 1.0


def test_classify_uses_the_template_and_several_packs(run):
    result = run(
        "classify", "--pack", "sales_en", "--pack", "sales_th", "--template", "b2b", input="ขอเลขบัญชีหน่อยครับ\n"
    )
    assert result.exit_code == 0
    [record] = lines_of(result.stdout)
    assert record == {
        "text": "ขอเลขบัญชีหน่อยครับ",
        "intents": ["request_payment_info"],
        "assign": {"stage": "negotiation"},
        "source": "rule",
        "confidence": None,
    }
    assert "ขอเลขบัญชี" in result.stdout  # not \\u escapes


def test_classify_passes_the_channel_to_conditions(run, tmp_path):
    pack = tmp_path / "sms.yaml"
    pack.write_text(
        "pack: sms\nlanguage: en\nintents:\n  - name: text_me\n    assign: {stage: cold_lead}\n"
        "    conditions: {channel: [sms]}\n    patterns: [text me]\n",
        encoding="utf-8",
    )
    args = ("classify", "--rules-only", "--pack", str(pack))
    assert lines_of(run(*args, "--channel", "sms", input="text me\n").stdout)[0]["intents"] == ["text_me"]
    assert lines_of(run(*args, input="text me\n").stdout)[0]["intents"] == []


def test_classify_keeps_blank_lines_so_output_lines_up_with_input(run):
    result = run("classify", input="hi\n\nthanks\r\n")
    assert [record["text"] for record in lines_of(result.stdout)] == ["hi", "", "thanks"]


def test_classify_with_an_unknown_pack_exits_2_with_one_line(run):
    result = run("classify", "--pack", "sales_xx", input="hi\n")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: rule pack: sales_xx: unknown pack 'sales_xx'")


def test_test_prints_scores_macro_f1_and_confusion(run):
    result = run("test", str(SHIPPED_CSV), "--rules-only")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert ["intent", "precision", "recall", "f1", "support"] in [line.split() for line in lines]
    assert any(line.startswith("ask_price ") for line in lines)
    assert any(line.startswith("macro-F1 ") for line in lines)
    assert "confusion (rows: expected, columns: predicted)" in result.stdout


def test_test_json_is_one_document(run):
    result = run("test", str(SHIPPED_CSV), "--json", "--pack", "sales_en")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["macro_f1"] >= 0.85
    assert set(document["intents"]["ask_price"]) == {"precision", "recall", "f1", "support"}
    assert document["confusion"]["none"]["none"] > 0
    assert document["packs"] == ["sales_en"]
    assert document["decided_by"] == "rules+model"
    assert set(document["comparison"]) >= {"rules", "rules+model"}


def test_test_without_a_file_scores_the_corpus_test_part_per_language(run):
    result = run("test", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    both = document["comparison"]["rules+model"]
    assert {"all", "en", "es", "th"} <= set(both)
    assert document["comparison"]["label"] == "corpus test part"
    assert both["all"]["macro_f1"] >= document["comparison"]["rules"]["all"]["macro_f1"]


def test_test_exits_1_when_an_intent_is_below_min_f1(run, tmp_path):
    csv_file = tmp_path / "eval.csv"
    csv_file.write_text("text,intent\nhello,greeting\nhow much is it,greeting\n", encoding="utf-8")
    result = run("test", str(csv_file), "--min-f1", "0.9")
    assert result.exit_code == 1
    assert "greeting" in result.stdout
    assert result.stderr.startswith("error: F1 below 0.9 for: ask_price (0.000), greeting (0.667)")
    assert run("test", str(csv_file)).exit_code == 0


def test_test_with_a_missing_file_exits_2(run, tmp_path):
    result = run("test", str(tmp_path / "missing.csv"))
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path / 'missing.csv'}: no such file\n"


def test_test_with_a_bad_header_exits_2(run, tmp_path):
    csv_file = tmp_path / "eval.csv"
    csv_file.write_text("message,label\nhi,greeting\n", encoding="utf-8")
    result = run("test", str(csv_file))
    assert result.exit_code == 2
    assert "must name the columns text and intent" in result.stderr
    assert result.stderr.count("\n") == 1


def test_test_with_an_unknown_intent_label_exits_2(run, tmp_path):
    csv_file = tmp_path / "eval.csv"
    csv_file.write_text("text,intent\nhi,greeting\nhow much,ask_prize\n", encoding="utf-8")
    result = run("test", str(csv_file))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {csv_file}:3: unknown intent 'ask_prize'")


def test_test_with_an_unknown_pack_exits_2(run):
    result = run("test", str(SHIPPED_CSV), "--pack", "nope")
    assert result.exit_code == 2
    assert "unknown pack 'nope'" in result.stderr

"""A broken pack is refused whole, with the file, the line and the field of the problem."""

from __future__ import annotations

import textwrap

import pytest

from plugin.domain.templates import TEMPLATES, known_statuses
from rules import PackError, compile_packs, load_pack, load_packs

KNOWN = known_statuses()
TEMPLATE_STATUSES = {key: known_statuses(key) for key in TEMPLATES}

GOOD = """\
pack: good
language: en
intents:
  - name: ask_price
    assign: {stage: cold_lead}
    patterns: ["price"]
"""


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def refused(path, **kwargs) -> PackError:
    with pytest.raises(PackError) as caught:
        load_pack(path, KNOWN, **kwargs)
    return caught.value


def test_bad_yaml_names_the_file_and_yamls_line(tmp_path):
    path = write(tmp_path, "bad.yaml", GOOD + "  - name: [unclosed\n")
    error = refused(path)
    assert str(path) in str(error)
    assert error.line == 8
    assert "invalid YAML: expected ',' or ']'" in str(error)
    assert "while parsing a flow sequence on line 7" in str(error)


def test_unknown_status_names_line_and_field(tmp_path):
    path = write(tmp_path, "status.yaml", GOOD.replace("cold_lead", "luke_warm"))
    error = refused(path)
    assert (error.line, error.field) == (5, "ask_price.assign.stage")
    assert "unknown status 'luke_warm' on track 'stage'" in str(error)
    assert str(error).startswith(f"{path}:5: ask_price.assign.stage: ")


def test_unknown_track_is_refused(tmp_path):
    path = write(tmp_path, "track.yaml", GOOD.replace("{stage: cold_lead}", "{mood: happy}"))
    error = refused(path)
    assert error.field == "ask_price.assign.mood"
    assert "unknown track 'mood'" in str(error)


def test_unknown_statuses_are_allowed_when_no_statuses_are_given(tmp_path):
    path = write(tmp_path, "status.yaml", GOOD.replace("cold_lead", "luke_warm"))
    assert load_pack(path).intents[0].assign == {"stage": "luke_warm"}


def test_template_assignment_is_checked_against_that_template(tmp_path):
    text = GOOD.replace(
        "    patterns:", "    assign_by_template:\n      b2b: {stage: hot_lead}\n    patterns:"
    )
    error = refused(write(tmp_path, "tpl.yaml", text), templates=TEMPLATE_STATUSES)
    assert (error.line, error.field) == (7, "ask_price.assign_by_template.b2b.stage")


def test_unknown_template_is_refused(tmp_path):
    text = GOOD.replace(
        "    patterns:", "    assign_by_template:\n      shop: {stage: hot_lead}\n    patterns:"
    )
    error = refused(write(tmp_path, "tpl.yaml", text), templates=TEMPLATE_STATUSES)
    assert error.field == "ask_price.assign_by_template.shop"
    assert "unknown template 'shop'" in str(error)


def test_bad_regex_names_the_pattern(tmp_path):
    path = write(tmp_path, "regex.yaml", GOOD.replace('["price"]', '["price", "/(unclosed/"]'))
    error = refused(path)
    assert (error.line, error.field) == (6, "ask_price.patterns[1]")
    assert "not a valid regular expression" in str(error)


def test_regex_matching_the_empty_string_is_refused(tmp_path):
    error = refused(write(tmp_path, "empty.yaml", GOOD.replace('["price"]', '["/x*/"]')))
    assert "empty string" in str(error)


def test_duplicate_intent_in_a_pack_is_refused(tmp_path):
    text = GOOD + '  - name: ask_price\n    patterns: ["cost"]\n'
    error = refused(write(tmp_path, "dup.yaml", text))
    assert (error.line, error.field) == (7, "ask_price.name")
    assert "duplicate intent 'ask_price'" in str(error)


def test_duplicate_intent_across_packs_is_refused(tmp_path):
    first = write(tmp_path, "first.yaml", GOOD)
    second = write(tmp_path, "second.yaml", GOOD.replace("pack: good", "pack: other"))
    with pytest.raises(PackError) as caught:
        load_packs([first, second], KNOWN)
    assert str(caught.value).startswith(f"{second}:4: ask_price.name: duplicate intent 'ask_price'")
    assert "extends: true" in str(caught.value)


def test_extension_adds_patterns_and_keeps_the_assignment(tmp_path):
    first = write(tmp_path, "first.yaml", GOOD)
    second = write(
        tmp_path,
        "second.yaml",
        """\
        pack: extra
        language: es
        intents:
          - name: ask_price
            extends: true
            patterns: ["precio"]
        """,
    )
    matcher = compile_packs(load_packs([first, second], KNOWN))
    assert [intent.patterns for intent in matcher.intents] == [("price", "precio")]
    assert matcher.match("¿precio?").assign == {"stage": "cold_lead"}


def test_extension_may_not_change_the_assignment(tmp_path):
    path = write(
        tmp_path,
        "second.yaml",
        """\
        pack: extra
        language: es
        intents:
          - name: ask_price
            extends: true
            assign: {stage: hot_lead}
            patterns: ["precio"]
        """,
    )
    error = refused(path)
    assert (error.line, error.field) == (6, "ask_price.assign")


def test_extension_without_a_base_is_refused(tmp_path):
    path = write(
        tmp_path,
        "alone.yaml",
        """\
        pack: alone
        language: es
        intents:
          - name: ask_price
            extends: true
            patterns: ["precio"]
        """,
    )
    with pytest.raises(PackError) as caught:
        load_packs([path], KNOWN)
    assert "no earlier pack defines intent 'ask_price'" in str(caught.value)


def test_the_language_packs_are_refused_alone():
    with pytest.raises(PackError, match="no earlier pack defines"):
        load_packs(["sales_es"], KNOWN)


def test_missing_patterns_are_refused(tmp_path):
    text = GOOD.replace('    patterns: ["price"]\n', "")
    error = refused(write(tmp_path, "missing.yaml", text))
    assert (error.line, error.field) == (4, "ask_price.patterns")
    assert "Missing data for required field" in str(error)


def test_empty_patterns_are_refused(tmp_path):
    error = refused(write(tmp_path, "empty.yaml", GOOD.replace('["price"]', "[]")))
    assert (error.line, error.field) == (6, "ask_price.patterns")


def test_wrong_type_is_refused_with_a_yaml_hint(tmp_path):
    error = refused(write(tmp_path, "bool.yaml", GOOD.replace('["price"]', '["price", no]')))
    assert error.field == "ask_price.patterns[1]"
    assert "quote it" in str(error)


def test_unknown_field_is_refused(tmp_path):
    error = refused(write(tmp_path, "typo.yaml", GOOD.replace("    assign:", "    asign:")))
    assert (error.line, error.field) == (5, "ask_price.asign")
    assert "Unknown field" in str(error)


def test_duplicate_yaml_key_is_refused(tmp_path):
    error = refused(write(tmp_path, "twice.yaml", GOOD + '    patterns: ["cost"]\n'))
    assert error.line == 7
    assert "duplicate key 'patterns'" in str(error)


def test_all_problems_are_kept_and_the_first_is_reported(tmp_path):
    text = GOOD.replace("    assign:", "    asign:").replace('["price"]', '["/(/"]')
    error = refused(write(tmp_path, "two.yaml", text))
    assert len(error.problems) == 2
    assert error.line == 5
    assert "(and 1 more problem)" in str(error)


def test_unknown_pack_name_lists_the_available_ones():
    with pytest.raises(
        PackError, match=r"unknown pack 'sales_xx' \(available: sales_en, sales_es, sales_th\)"
    ):
        load_pack("sales_xx")


def test_missing_file_is_refused(tmp_path):
    error = refused(tmp_path / "nowhere.yaml")
    assert "cannot read the pack" in str(error)


def test_nothing_is_loaded_when_one_pack_of_several_is_broken(tmp_path):
    broken = write(tmp_path, "broken.yaml", GOOD.replace("cold_lead", "luke_warm"))
    with pytest.raises(PackError):
        load_packs(["sales_en", broken], KNOWN)

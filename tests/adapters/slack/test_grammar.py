"""The command grammar, without Flask or a database: a catalog built from the template, a fake finder."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.slack import grammar
from plugin.domain.catalog import Catalog, StatusInfo, TrackInfo
from plugin.domain.errors import AmbiguousCustomer, StatushubError, UnknownCustomer
from plugin.domain.templates import tracks_for


def online_store() -> Catalog:
    tracks, by_id, next_id = {}, {}, 1
    for t_pos, spec in enumerate(tracks_for("online-store")):
        infos = []
        for pos, s in enumerate(spec.statuses):
            info = StatusInfo(
                next_id, spec.key, s.key, s.label, s.emoji, s.color, s.description, pos, s.automation,
                s.alert, s.terminal, False,
            )  # fmt: skip
            infos.append(info)
            by_id[next_id] = info
            next_id += 1
        tracks[spec.key] = TrackInfo(t_pos + 1, spec.key, spec.label, t_pos, spec.manual, tuple(infos))
    return Catalog(1, 1, "online-store", tracks, by_id)


CATALOG = online_store()
PEOPLE = {"jane doe": 7, "+14155550100": 7, "#7": 7, "7": 7, "<@u0jane>": 9, "bob": 8}


def find(ref: str) -> int:
    """Like plugin.customers.resolve_customer over three customers; 'sam' names two."""
    key = ref.strip().lower()
    digits = "".join(ch for ch in key if ch.isdigit())
    if len(digits) in (10, 11) and not any(ch.isalpha() for ch in key):
        key = "+1" + digits[-10:]
    if key in PEOPLE:
        return PEOPLE[key]
    if key == "sam":
        raise AmbiguousCustomer("2 customers match 'sam'", choices=["#3 Sam A", "#4 Sam B"])
    raise UnknownCustomer(f"no customer matches {ref!r}")


def status_of(text: str, linked: int | None = None):
    return grammar.parse_status(text, CATALOG, find, linked)


@pytest.mark.parametrize(
    "text",
    ["Jane Doe hot", '"Jane Doe" Hot Lead', "“jane doe” hot_lead", "(415) 555-0100 🔥", "415.555.0100 hot",
     "#7 HOT LEAD", "7 hot-lead", "+1 415 555 0100 stage:hot_lead"],
)  # fmt: skip
def test_a_customer_and_status_are_understood_in_any_common_form(text):
    parsed = status_of(text)
    assert isinstance(parsed, grammar.SetStatus)
    assert (parsed.customer_id, parsed.status.key, parsed.note) == (7, "hot_lead", "")


def test_words_after_the_status_are_the_note():
    parsed = status_of("jane doe attention:vip big spender, call first")
    assert (parsed.status.track, parsed.status.key, parsed.note) == (
        "attention",
        "vip",
        "big spender, call first",
    )


def test_another_tracks_status_is_found_when_unambiguous():
    assert status_of("bob vip because").status.key == "vip"
    assert status_of("bob Do Not Serve rude").status.key == "do_not_serve"


def test_a_customer_alone_asks_for_the_card():
    assert status_of("Jane Doe") == grammar.ShowCard(7)
    assert status_of("<@U0JANE>") == grammar.ShowCard(9)


def test_help_after_any_command_explains_it():
    assert status_of("help") == grammar.Help("status")
    assert grammar.parse_log("help", CATALOG, find) == grammar.Help("log")
    assert grammar.parse_leads("help", CATALOG) == grammar.Help("leads")


def test_in_a_linked_channel_the_customer_may_be_left_out():
    assert status_of("", linked=8) == grammar.ShowCard(8)
    parsed = status_of("hot wants a quote", linked=8)
    assert (parsed.customer_id, parsed.status.key, parsed.note) == (8, "hot_lead", "wants a quote")


def test_a_typo_in_the_status_suggests_the_closest():
    with pytest.raises(grammar.Misunderstood) as caught:
        status_of("jane doe hott")
    assert caught.value.suggestion == "hot_lead"
    assert "did you mean 🔥 Hot Lead?" in caught.value.message
    assert caught.value.understood == ["customer #7"]
    assert "hot_lead" in caught.value.choices


def test_an_unknown_customer_says_what_was_taken_for_the_status():
    with pytest.raises(grammar.Misunderstood) as caught:
        status_of("Janet hot")
    assert caught.value.code == "unknown_customer"
    assert "'Janet'" in caught.value.message
    assert caught.value.understood == ["status 'hot'"]


def test_an_ambiguous_customer_lists_the_choices():
    with pytest.raises(grammar.Misunderstood) as caught:
        status_of("sam hot")
    assert caught.value.choices == ["#3 Sam A", "#4 Sam B"]


def test_nothing_outside_a_linked_channel_asks_for_a_customer():
    with pytest.raises(grammar.Misunderstood, match="name a customer"):
        status_of("   ")


def test_link_names_the_customer():
    assert status_of("link Jane Doe") == grammar.LinkChannel(7)


@pytest.mark.parametrize(
    ("text", "outcome", "via", "note"),
    [("jane doe sold", "sold", "call", ""), ("jane doe vm sms left a message", "left_voicemail", "sms",
      "left a message"), ("bob no-sale in-store too pricey", "no_sale", "in_store", "too pricey"),
     ("bob in-progress email", "sale_in_progress", "email", ""), ("bob Left a Voicemail", "left_voicemail",
      "call", ""), ("bob wrong-number", "wrong_number", "call", ""), ("bob no-answer", "no_answer", "call", ""),
     ("bob satisfied happy", "satisfied", "call", "happy")],
)  # fmt: skip
def test_log_understands_outcome_aliases_and_the_channel(text, outcome, via, note):
    parsed = grammar.parse_log(text, CATALOG, find)
    assert (parsed.customer_id, parsed.outcome.key, parsed.interaction, parsed.note) == (
        8 if text.startswith("bob") else 7,
        outcome,
        via,
        note,
    )


def test_log_without_an_outcome_lists_the_outcomes():
    with pytest.raises(grammar.Misunderstood) as caught:
        grammar.parse_log("bob", CATALOG, find)
    assert "outcome:sold" in caught.value.choices
    with pytest.raises(grammar.Misunderstood) as caught:
        grammar.parse_log("bob soled", CATALOG, find)
    assert caught.value.suggestion == "sold"


def test_leads_defaults_to_hot_lead_and_knows_the_funnel():
    assert grammar.parse_leads("", CATALOG).status.key == "hot_lead"
    assert grammar.parse_leads("cold", CATALOG).status.key == "cold_lead"
    assert grammar.parse_leads("reply:in_progress", CATALOG).status.key == "in_progress"
    assert grammar.parse_leads("funnel", CATALOG) == grammar.Funnel()


def test_unclosed_quotes_run_to_the_end():
    assert grammar.words('"Jane Doe hot') == ["Jane Doe hot"]
    assert grammar.words("a  'b c'  d") == ["a", "b c", "d"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60), st.sampled_from([None, 8]))
def test_fuzzed_text_never_raises_anything_but_a_domain_error(text, linked):
    for parse in (
        lambda: grammar.parse_status(text, CATALOG, find, linked),
        lambda: grammar.parse_log(text, CATALOG, find, linked),
        lambda: grammar.parse_leads(text, CATALOG),
    ):
        with contextlib.suppress(StatushubError):
            parse()

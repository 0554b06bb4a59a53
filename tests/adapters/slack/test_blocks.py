"""Block Kit builders, without Flask: exact shapes, and customer text that can never ping anyone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from adapters.slack import blocks
from plugin.customers.cards import Card, Changed, Lead, Said
from plugin.domain.errors import UnknownStatus
from tests.adapters.slack.test_grammar import CATALOG

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def a_card(**kw) -> Card:
    fields = dict(
        id=7,
        name="Jane <!channel> & Co",
        opted_out=False,
        identities=("sms:+14155550100",),
        statuses={t: CATALOG.tracks[t].first for t in CATALOG.tracks},
        messages=(Said("inbound", "customer", "hi <!here> <@U123> & <http://x|y>", NOW),),
        waiting_since=NOW - timedelta(minutes=95),
        warnings=(),
        history=(Changed("stage", "greeting", "hot_lead", "manual", "slack:T/U<1>", NOW),),
    )
    fields.update(kw)
    return Card(**fields)


def test_escape_turns_slacks_control_characters_into_entities():
    assert blocks.escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"


def test_customer_text_on_the_card_pings_nobody():
    shown = json.dumps(blocks.customer_card(a_card(), CATALOG, NOW), ensure_ascii=False)
    for raw in ("<!channel>", "<!here>", "<@U123>", "<http://x|y>", "U<1>"):
        assert raw not in shown
    assert "&lt;!here&gt;" in shown and "Jane &lt;!channel&gt; &amp; Co" in shown


def test_the_card_shows_badges_waiting_time_menus_and_outcome_buttons():
    found = blocks.customer_card(a_card(), CATALOG, NOW)
    assert found[0]["text"]["text"] == (
        "*Jane &lt;!channel&gt; &amp; Co*  (#7)\n👋 Greeting  🆕 New  — No outcome  🟢 Active"
    )
    assert {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "⏱️ waiting for us 1 h 35 min"}],
    } in found
    menus = next(b for b in found if b.get("block_id") == "status_menus:7")
    stage, attention = menus["elements"]
    assert (stage["action_id"], attention["action_id"]) == ("set_stage", "set_attention")
    assert [o["value"] for o in stage["options"]] == [
        "7:greeting", "7:cold_lead", "7:hot_lead", "7:closed_won", "7:passed"
    ]  # fmt: skip
    assert stage["initial_option"]["value"] == "7:greeting"
    buttons = next(b for b in found if b.get("block_id") == "outcomes:7")
    assert [(e["action_id"], e["text"]["text"], e["value"]) for e in buttons["elements"]] == [
        ("log_outcome:sold", "💰 Sold", "7:sold"),
        ("log_outcome:left_voicemail", "📼 Left a Voicemail", "7:left_voicemail"),
        ("log_outcome:no_answer", "📵 No Answer", "7:no_answer"),
        ("log_outcome:no_sale", "🚫 No Sale", "7:no_sale"),
    ]


def test_linked_warnings_are_shown_escaped():
    found = blocks.customer_card(a_card(warnings=("linked to <Bob> (#8), ⛔ Do Not Serve",)), CATALOG, NOW)
    assert {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "⚠️ linked to &lt;Bob&gt; (#8), ⛔ Do Not Serve"},
    } in found


def test_a_mistake_says_what_was_understood_what_is_valid_and_a_suggestion():
    error = UnknownStatus("no status called 'hott'", choices=["hot_lead", "cold_lead"], suggestion="hot_lead")
    assert blocks.mistake(error, ["customer #7"]) == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "🤔 no status called 'hott'"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Understood: customer #7"}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Valid: `hot_lead`, `cold_lead`"}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Did you mean `hot_lead`?"}]},
    ]


def test_leads_and_home_list_names_escaped_highest_priority_first():
    hot = CATALOG.status("stage", "hot_lead")
    leads = [Lead(3, "<b>", NOW - timedelta(minutes=5)), Lead(4, "Al", None)]
    assert (
        blocks.leads_list(hot, leads, NOW)[1]["text"]["text"]
        == "• *&lt;b&gt;* (#3) · waiting 5 min\n• *Al* (#4)"
    )
    view = blocks.home_view([(hot, 2)], leads, [], NOW)
    assert view["type"] == "home"
    assert "🔥 Hot Lead: *2*" in json.dumps(view, ensure_ascii=False)
    assert "nobody right now" in json.dumps(view)


def test_an_alert_names_the_customer_and_the_change_in_labels_escaped():
    text, found = blocks.alert_message(
        "<!channel>", 7, {"track": "stage", "from": "greeting", "to": "hot_lead", "source": "rule:ask_price",
                         "actor": "system", "note": ""}, CATALOG, "how much? <!here> " + "very " * 200,
    )  # fmt: skip
    assert text == "🔥 Hot Lead: &lt;!channel&gt; (#7)"
    assert found[:2] == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*🔥 Hot Lead*: *&lt;!channel&gt;* (#7)"}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Stage: 👋 Greeting → *🔥 Hot Lead* · automatically: intent ask_price (rules)",
                }
            ],
        },
    ]
    quote = found[2]["text"]["text"]
    assert quote.startswith("> how much? &lt;!here&gt; very very") and quote.endswith("…")
    assert len(quote) <= blocks.QUOTE_SIZE + 2 + 20  # clipped; the escaping may lengthen it a little


@pytest.mark.parametrize(
    ("actor", "source", "shown"),
    [
        ("slack:T0ACME/U0AGENT", "manual", "by <@U0AGENT>"),
        ("slack:T0ACME/U0AGENT", "activity", "by <@U0AGENT> (logged outcome)"),
        ("crm-sync", "manual", "by API token *crm-sync*"),
        ("console:dana-desk", "manual", "by dana-desk (console)"),
        ("cli:root", "manual", "by root (command line)"),
        ("system", "time:greeting_unanswered", "automatically: time rule greeting_unanswered"),
        ("slack:T0ACME/<!here>", "manual", "by a Slack user (T0ACME/&lt;!here&gt;)"),
    ],
)
def test_an_alert_says_who_made_the_change_as_a_person_would(actor, source, shown):
    payload = {"track": "attention", "from": "active", "to": "caution", "source": source, "actor": actor,
               "note": "shouted at staff"}  # fmt: skip
    _, found = blocks.alert_message("Jane", 7, payload, CATALOG)
    assert found[1]["elements"][0]["text"] == f"Attention: 🟢 Active → *⚠️ Caution* · {shown}"
    assert found[2]["elements"][0]["text"] == "📝 shouted at staff"
    assert len(found) == 3  # no triggering message: nothing quoted


def test_an_alert_for_a_status_deleted_since_shows_its_key():
    payload = {"track": "stage", "from": None, "to": "gone", "source": "manual", "actor": "cli:root"}
    text, found = blocks.alert_message("Jane", 7, payload, CATALOG)
    assert text == "gone: Jane (#7)"
    assert found[1]["elements"][0]["text"] == "Stage: — → *gone* · by root (command line)"

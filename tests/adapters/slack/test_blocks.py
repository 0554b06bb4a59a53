"""Block Kit builders, without Flask: exact shapes, and customer text that can never ping anyone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

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


def test_an_alert_names_the_customer_and_the_change_escaped():
    text, found = blocks.alert_message(
        "<!channel>", 7, {"track": "stage", "from": "greeting", "to": "hot_lead", "source": "rule:ask_price",
                         "actor": "system", "note": ""}, CATALOG.status("stage", "hot_lead"),
    )  # fmt: skip
    assert text == "🔥 Hot Lead: &lt;!channel&gt; (#7)"
    assert found == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*🔥 Hot Lead*: *&lt;!channel&gt;* (#7)"}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "stage greeting → hot_lead by system (rule:ask_price)"}],
        },
    ]

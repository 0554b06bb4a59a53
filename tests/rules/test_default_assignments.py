"""The shipped packs assign exactly SPEC §4's default table on the online-store template."""

from __future__ import annotations

import pytest

from plugin.domain.templates import TEMPLATES, known_statuses
from rules import compile_packs, load_packs

MATCHER = compile_packs(
    load_packs(
        ("sales_en", "sales_es", "sales_th"),
        known_statuses(),
        templates={key: known_statuses(key) for key in TEMPLATES},
    )
)

# SPEC §4 "Default assignments (online-store)", intent by intent; None: the intent changes no stage.
SPEC_TABLE = {
    "greeting": "greeting",
    "ask_price": "cold_lead",
    "not_ready": "cold_lead",
    "ask_specs": "hot_lead",
    "ask_shipping": "hot_lead",
    "negotiate_price": "hot_lead",
    "request_payment_info": "hot_lead",
    "place_order": "hot_lead",
    "payment_sent": "closed_won",
    "not_interested": "passed",
    "purchased_elsewhere": "passed",
    "product_unavailable": "passed",
    "wrong_person": "passed",
    "opt_out": "passed",
    "has_question": None,
    "thanks_satisfied": None,
    "auto_reply": None,
    "show_interest": None,
}


def test_the_packs_define_exactly_the_eighteen_intents_of_the_table():
    assert sorted(intent.name for intent in MATCHER.intents) == sorted(SPEC_TABLE)


@pytest.mark.parametrize(("intent", "stage"), SPEC_TABLE.items())
def test_online_store_assigns_the_spec_default(intent, stage):
    assert MATCHER.assignment(intent, template="online-store") == ({"stage": stage} if stage else {})


def test_a_payment_lands_where_an_agent_logging_sold_would():
    for key, template in TEMPLATES.items():
        assert MATCHER.assignment("payment_sent", template=key) == {"stage": template.outcome_map["sold"]}

"""Intent rules: YAML rule packs and the matcher that turns a message's text into intents (SPEC §4).

Pure text in, intents out: this package imports nothing else of statushub.

    packs = load_packs(["sales_en", "sales_es"], known={"stage": {...}})   # PackError if broken
    matcher = compile_packs(packs)                                         # cache it by pack names
    matcher.match("how do I pay?", channel="sms", current={"stage": "greeting"},
                  template="online-store", overrides={"ask_price": {"stage": None}})
    # Match(intents=("request_payment_info", "has_question"), assign={"stage": "hot_lead"})
"""

from rules.matcher import Match, Matcher, compile_packs
from rules.pack import (
    Conditions,
    Examples,
    IntentSpec,
    Pack,
    PackError,
    Problem,
    available_packs,
    load_pack,
    load_packs,
    merge_intents,
    parse_pack,
)
from rules.text import normalize

__all__ = [
    "Conditions",
    "Examples",
    "IntentSpec",
    "Match",
    "Matcher",
    "Pack",
    "PackError",
    "Problem",
    "available_packs",
    "compile_packs",
    "load_pack",
    "load_packs",
    "merge_intents",
    "normalize",
    "parse_pack",
]

"""Intent rules: YAML rule packs, the matcher, and the learned model behind them (SPEC §4).

Pure text in, intents out: this package imports nothing else of statushub.

    packs = load_packs(["sales_en", "sales_es"], known={"stage": {...}})   # PackError if broken
    matcher = compile_packs(packs)                                         # cache it by pack names
    matcher.match("how do I pay?", channel="sms", current={"stage": "greeting"},
                  template="online-store", overrides={"ask_price": {"stage": None}})
    # Match(intents=("request_payment_info", "has_question"), assign={"stage": "hot_lead"})

The learned model (numpy; scikit-learn only to train) is imported on first use, so `import rules`
stays as cheap as the matcher:

    model = train_model(matcher, corrections=[("zorblax pls", "place_order")])  # a few seconds
    blob = model.to_bytes(); model = Model.from_bytes(blob)                     # ModelFormatError
    decide("can u post it to wales", matcher, model, template="online-store")
    # Decision(intents=("ask_shipping",), assign={"stage": "hot_lead"}, source="model", confidence=0.9)
    print(format_comparison(compare_on_corpus(matcher, model)))                 # `rules test`
"""

from __future__ import annotations

import importlib
from typing import Any

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

# Names of the model side, and the module each lives in, imported when first asked for.
_LAZY = {
    "Decision": "rules.decision",
    "decide": "rules.decision",
    "decide_many": "rules.decision",
    "Model": "rules.model",
    "ModelFormatError": "rules.model",
    "Prediction": "rules.model",
    "TrainingConfig": "rules.training",
    "train_model": "rules.training",
    "shipped_model": "rules.training",
    "Comparison": "rules.comparison",
    "compare": "rules.comparison",
    "compare_on_corpus": "rules.comparison",
    "format_comparison": "rules.comparison",
    "load_corpus": "rules.corpus",
}

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
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rules' has no attribute {name!r}")

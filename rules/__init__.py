"""Intent rules: YAML rule packs and the matcher that turns a message's text into intents (SPEC §4).

Pure text in, intents out: this package imports nothing else of statushub.
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
]

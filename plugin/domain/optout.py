"""Opt-out keywords: a whole message of STOP or START, the way carriers read it (SPEC §3)."""

from __future__ import annotations

import unicodedata

STOP_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"})
START_WORDS = frozenset({"start", "unstop"})


def opt_change(text: str) -> str | None:
    """ "out" for a STOP-family message, "in" for START/UNSTOP, None for anything else.

    The whole body must be the keyword: case, surrounding spaces and punctuation are ignored,
    so "Stop." opts out but "Stop please" is an ordinary message.
    """
    # Most messages are several words: no keyword, and the cheap test first (normalizing never joins
    # two words into one, so a body of several words stays several).
    if len(text.split(maxsplit=1)) > 1:
        return None
    folded = unicodedata.normalize("NFKC", text).casefold()
    word = "".join(ch for ch in folded if not _is_punctuation_or_space(ch))
    if not word or len(folded.split()) != 1:
        return None
    if word in STOP_WORDS:
        return "out"
    if word in START_WORDS:
        return "in"
    return None


def _is_punctuation_or_space(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch)[0] in ("P", "S")

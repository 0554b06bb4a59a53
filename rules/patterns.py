"""The two forms of an intent pattern: a phrase, or a regular expression written `/.../`."""

from __future__ import annotations

import re
import unicodedata

from rules.text import normalize

# Probes that reveal a regex able to match the empty string somewhere, which would match every message.
_EMPTY_PROBES = ("", " ", "a", "a b", "1")


def is_regex(pattern: str) -> bool:
    """True when `pattern` is written as `/.../`."""
    return len(pattern) >= 2 and pattern.startswith("/") and pattern.endswith("/")


def compile_regex(pattern: str) -> re.Pattern[str]:
    """Compile a `/.../` pattern to run on normalized text; raises `re.error` or ValueError when unusable.

    The source is NFKC-normalized but not casefolded (casefolding would turn `\\S` into `\\s`), so the
    expression runs case-insensitively instead.
    """
    source = unicodedata.normalize("NFKC", pattern[1:-1]).replace("\u2019", "'")
    compiled = re.compile(source, re.IGNORECASE)
    if any(match.end() == match.start() for probe in _EMPTY_PROBES for match in compiled.finditer(probe)):
        raise ValueError("the regular expression matches the empty string, so it would match every message")
    return compiled


def phrase_key(pattern: str) -> str:
    """The normalized text a phrase is looked up as."""
    return normalize(pattern)

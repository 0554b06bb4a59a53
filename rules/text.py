"""Text normalization and word boundaries shared by patterns and messages, so both are compared alike."""

from __future__ import annotations

import re
import string
import unicodedata

# Apostrophe look-alikes that phones and word processors substitute for "'" ("don’t", "don`t"). The acute
# accent is mapped before NFKC, which would otherwise turn it into a space and a combining mark.
_APOSTROPHES = str.maketrans(
    {
        "\u2019": "'",  # right single quotation mark: iOS smart punctuation
        "\u2018": "'",
        "\u201b": "'",
        "\u02bc": "'",  # modifier letter apostrophe
        "\u2032": "'",  # prime
        "\u00b4": "'",  # acute accent
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        # Invisible characters that change nothing a reader sees: Thai text is often sprinkled with zero
        # width spaces as line-break hints, and emoji arrive with or without a variation selector.
        "\u200b": None,
        "\u00ad": None,
        "\u2060": None,
        "\ufeff": None,
        "\ufe0e": None,
        "\ufe0f": None,
    }
)

_TRANSLATED = re.compile("[" + re.escape("".join(chr(code) for code in _APOSTROPHES)) + "]")

# Scripts written without spaces between words: a phrase edge in one of them needs no word boundary,
# since "ราคา" (price) is followed directly by the next word. Hangul is spaced, but its particles attach
# to the noun ("가격은"), so it is treated the same way.
_NO_SPACE_RANGES = (
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x1000, 0x109F),  # Myanmar
    (0xA9E0, 0xA9FF),  # Myanmar extended-B
    (0xAA60, 0xAA7F),  # Myanmar extended-A
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer symbols
    (0x1100, 0x11FF),  # Hangul jamo
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x31FF),  # Bopomofo, Hangul compatibility jamo, Katakana extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)


def normalize(text: str) -> str:
    """The form patterns and messages are compared in: NFKC, casefolded, one space between words."""
    # str.translate costs ~10 us on a chat message, more than the rest of matching, so it runs only
    # on text that holds a character it changes; ASCII text needs neither NFKC nor casefolding.
    if text.isascii():
        if "`" in text:
            text = text.replace("`", "'")
        return " ".join(text.lower().split())
    if _TRANSLATED.search(text):
        text = text.translate(_APOSTROPHES)
    text = unicodedata.normalize("NFKC", text)
    # Casefolding can leave a string that NFKC would change again (e.g. "ǅ"), so normalize once more to
    # make normalize(normalize(x)) == normalize(x).
    text = unicodedata.normalize("NFKC", text.casefold())
    if _TRANSLATED.search(text):
        text = text.translate(_APOSTROPHES)
    return " ".join(text.split())


def is_word_char(char: str) -> bool:
    """True for characters that continue a word: letters, digits, "_" and combining marks."""
    if char.isalnum() or char == "_":
        return True
    # Combining marks (Thai vowel signs, Devanagari matras, decomposed accents) belong to the letter before.
    return char > "\u02ff" and unicodedata.category(char)[0] == "M"


def in_unspaced_script(char: str) -> bool:
    """True when `char` belongs to a script that does not separate words with spaces."""
    code = ord(char)
    return code >= 0x0E00 and any(low <= code <= high for low, high in _NO_SPACE_RANGES)


_ASCII_WORD = frozenset(string.ascii_letters + string.digits + "_")


def joins_words(char: str) -> bool:
    """Whether `char` is a word character of a spaced script.

    A phrase may not start or end in the middle of a word: it is refused where both its edge character
    and the text's neighbouring character join words. Edges in unspaced scripts (Thai, CJK, ...) and
    non-word edges (emoji, punctuation) therefore match anywhere, and so does a Latin word glued to Thai.
    """
    if char < "\x80":
        return char in _ASCII_WORD
    return is_word_char(char) and not in_unspaced_script(char)

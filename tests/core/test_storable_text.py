"""Storable text (SPEC §12): NUL and lone surrogates become U+FFFD, everything else is kept verbatim."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from plugin.domain.events import Media, MessageEvent, storable

UNSTORABLE = "\x00" + "".join(map(chr, range(0xD800, 0xE000)))
# Hypothesis leaves out surrogates by default: mix them (and NUL) into any text.
texts = st.text(st.one_of(st.characters(), st.just("\x00"), st.integers(0xD800, 0xDFFF).map(chr)))


@given(texts)
def test_storable_text_is_utf8_without_nul_and_keeps_every_other_character(text):
    kept = storable(text)
    assert len(kept) == len(text)
    assert "\x00" not in kept
    kept.encode("utf-8")  # never raises: no lone surrogate is left
    for before, after in zip(text, kept, strict=True):
        assert after == ("\ufffd" if before in UNSTORABLE else before)


@given(texts, st.sampled_from(["\x00", "\ud800", "\udfff", "\udc00"]))
def test_a_message_event_holds_only_storable_strings(text, bad):
    event = MessageEvent(
        1,
        "webchat",
        f"webchat:v{bad}",
        "inbound",
        "customer",
        text + bad,
        f"e{bad}",
        datetime(2026, 5, 4, tzinfo=UTC),
        name=f"Ada{bad}",
        media=(Media(f"https://x.test/{bad}", "image/jpeg"),),
    )
    for value in (event.identity, event.text, event.provider_id, event.name, event.media[0].url):
        assert value == storable(value) and value.endswith("\ufffd")


def test_storable_text_is_unchanged_when_there_is_nothing_to_replace():
    assert storable("price of the 🪑 table?\n\t") == "price of the 🪑 table?\n\t"

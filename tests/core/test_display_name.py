"""A customer known only by a phone number is named by it in international format, as phonenumbers
formats it, whether or not the number takes the fast path."""

from __future__ import annotations

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from plugin.domain.identities import display_name


def _formatted(e164: str) -> str:
    return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@settings(max_examples=2000)
@given(st.from_regex(r"\A\+1[2-9][0-9]{2}[2-9][0-9]{6}\Z"))
def test_a_north_american_number_is_named_as_phonenumbers_names_it(e164):
    assert display_name(f"sms:{e164}") == _formatted(e164)


@given(st.from_regex(r"\A\+[2-9][0-9]{7,12}\Z"))
def test_any_other_number_is_named_as_phonenumbers_names_it(e164):
    try:
        expected = _formatted(e164)
    except phonenumbers.NumberParseException:
        expected = e164
    assert display_name(f"sms:{e164}") == expected


def test_other_identities_are_named_by_their_value():
    assert display_name("sms:+15550001111") == "+1 555-000-1111"
    assert display_name("sms:+390612345678") == "+39 06 1234 5678"
    assert display_name("webchat:visitor-42") == "visitor-42"
    assert display_name("slack:T1/U2") == "T1/U2"

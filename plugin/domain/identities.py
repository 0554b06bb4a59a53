"""Customer identities (`sms:+1555…`, `whatsapp:+1555…`, `webchat:<id>`, `slack:<team>/<user>`): their
stored form, the name a customer known only by one gets, and which identities are one person (SPEC §2,
§6, §11). Pure."""

from __future__ import annotations

import re

import phonenumbers

from plugin.domain.errors import StatushubError

IDENTITY_KINDS = ("sms", "whatsapp", "webchat", "slack")
# One phone number is one person, whichever of these channels it writes on (SPEC §11).
PHONE_KINDS = ("sms", "whatsapp")


def same_person(identity: str) -> tuple[str, ...]:
    """The other identities that are the same person: `sms:+1555…` ↔ `whatsapp:+1555…`."""
    kind, _, value = identity.partition(":")
    if kind not in PHONE_KINDS or not value.startswith("+"):
        return ()
    return tuple(f"{other}:{value}" for other in PHONE_KINDS if other != kind)


def phone_identity(raw: str, region: str = "US") -> str | None:
    """`sms:+15551234567` for a phone number in any common format, or None if it is not one."""
    text = raw.strip()
    if not text or not any(ch.isdigit() for ch in text):
        return None
    if sum(ch.isdigit() for ch in text) < 7 or any(ch.isalpha() for ch in text.replace("ext", "")):
        return None
    try:
        number = phonenumbers.parse(text, region or "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return "sms:" + phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_identity(raw: str, region: str = "US") -> str:
    """A `channel:id` identity in its stored form; phone numbers become E.164."""
    kind, sep, value = raw.partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in IDENTITY_KINDS or not value.strip():
        raise StatushubError(
            f"identity {raw!r} must be channel:id with channel one of {', '.join(IDENTITY_KINDS)}",
            field="identity",
            choices=list(IDENTITY_KINDS),
        )
    if kind in PHONE_KINDS:
        phone = phone_identity(value, region)
        if phone is None:
            raise StatushubError(f"{value!r} is not a phone number", field="identity")
        return kind + phone.removeprefix("sms")
    return f"{kind}:{value.strip()}"


# A North American number in E.164 (+1, then ten digits, area code and exchange not starting 0 or 1)
# needs no parsing, which was most of what creating a customer cost (bench/FIGURES.md).
_NANP = re.compile(r"\+1([2-9][0-9]{2})([2-9][0-9]{2})([0-9]{4})")


def display_name(identity: str) -> str:
    """How a customer known only by an identity is named: a phone number in international format."""
    kind, _, value = identity.partition(":")
    if kind not in PHONE_KINDS:
        return value
    nanp = _NANP.fullmatch(value)
    if nanp:
        return "+1 {}-{}-{}".format(*nanp.groups())
    try:
        number = phonenumbers.parse(value)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return value


# `<platform>:<id>` for token ingest: the platform is also the message's channel (16 characters).
_PLATFORM = re.compile(r"[a-z][a-z0-9_-]{0,15}")


def ingest_identity(raw: str, region: str = "US") -> tuple[str, str]:
    """(channel, identity) for an identity a bot builder sends (SPEC §11): `sms:` and `whatsapp:`
    numbers in E.164, `webchat:<id>`, or any `<platform>:<id>`. StatushubError names `identity`."""
    kind, sep, value = raw.partition(":")
    kind, value = kind.strip().lower(), value.strip()
    if not sep or not _PLATFORM.fullmatch(kind) or not value or len(value) > 200 or not value.isprintable():
        raise StatushubError(
            f"identity {raw[:80]!r} must be <platform>:<id>, e.g. whatsapp:+15551234567, sms:+15551234567 "
            "or webchat:visitor-42 (platform: lower-case letters, digits, - or _, up to 16)",
            field="identity",
        )
    if kind in PHONE_KINDS:
        phone = phone_identity(value.removeprefix("whatsapp:"), region)
        if phone is None:
            raise StatushubError(f"identity: {value[:40]!r} is not a phone number", field="identity")
        return kind, f"{kind}:{phone.removeprefix('sms:')}"
    return kind, f"{kind}:{value}"

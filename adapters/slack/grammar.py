"""A forgiving parser for `/status`, `/log` and `/leads` text (SPEC §6); pure: no I/O of its own.

A customer may be named by several words ("Jane Doe", "(555) 123-4567") and a status too ("Hot
Lead", "Left a Voicemail"), so the parser tries the splits from the longest customer down and asks
`find_customer` (a callable the caller backs with the database) which one names somebody. Every
mistake raises a `Misunderstood`, a domain error that also says what was understood.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from plugin.customers.activities import resolve_interaction, resolve_outcome
from plugin.domain.catalog import Catalog, StatusInfo
from plugin.domain.errors import AmbiguousCustomer, StatushubError, UnknownCustomer

FindCustomer = Callable[[str], int]
"""Resolves a customer reference to an id or raises UnknownCustomer / AmbiguousCustomer."""

MAX_CUSTOMER_WORDS = 6
MAX_STATUS_WORDS = 4
QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»"}
HELP_WORDS = ("help", "?", "-h", "--help")


@dataclass(frozen=True)
class Help:
    command: str


@dataclass(frozen=True)
class ShowCard:
    customer_id: int


@dataclass(frozen=True)
class SetStatus:
    customer_id: int
    status: StatusInfo
    note: str


@dataclass(frozen=True)
class LinkChannel:
    customer_id: int


@dataclass(frozen=True)
class LogActivity:
    customer_id: int
    outcome: StatusInfo
    interaction: str
    note: str


@dataclass(frozen=True)
class ListLeads:
    status: StatusInfo


@dataclass(frozen=True)
class Funnel:
    pass


class Misunderstood(StatushubError):
    """A domain error plus what the parser did understand, for the Slack hint."""

    def __init__(self, error: StatushubError, understood: list[str]):
        super().__init__(error.message, choices=error.choices, field=error.field, suggestion=error.suggestion)
        self.code = error.code
        self.http_status = error.http_status
        self.understood = understood


def words(text: str) -> list[str]:
    """Splits on spaces; quoted parts (straight or curly quotes) stay one word; an unclosed quote
    runs to the end rather than failing."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in QUOTES:
            end = text.find(QUOTES[ch], i + 1)
            end = n if end < 0 else end
            part = text[i + 1 : end].strip()
            if part:
                out.append(part)
            i = end + 1
            continue
        j = i
        while j < n and not text[j].isspace():
            j += 1
        out.append(text[i:j])
        i = j
    return out


def is_help(parts: list[str]) -> bool:
    return bool(parts) and parts[0].lower() in HELP_WORDS


def parse_status(
    text: str, catalog: Catalog, find_customer: FindCustomer, linked: int | None = None
) -> Help | ShowCard | SetStatus | LinkChannel:
    """`/status [customer] [status [note…]]`, `/status link <customer>`, `/status help`."""
    parts = words(text)
    if is_help(parts):
        return Help("status")
    if parts and parts[0].lower() == "link" and len(parts) > 1:
        customer_id, rest = _customer(parts[1:], catalog, find_customer, None, track=None)
        return LinkChannel(customer_id)
    if not parts:
        if linked is None:
            raise Misunderstood(
                UnknownCustomer("name a customer: a phone number, #id, @mention or name", field="customer"),
                ["nothing after /status"],
            )
        return ShowCard(linked)
    customer_id, rest = _customer(parts, catalog, find_customer, linked, track=None)
    if not rest:
        return ShowCard(customer_id)
    status, note = _status(rest, catalog, [f"customer #{customer_id}"], None)
    return SetStatus(customer_id, status, " ".join(note))


def parse_log(
    text: str, catalog: Catalog, find_customer: FindCustomer, linked: int | None = None
) -> Help | LogActivity:
    """`/log [customer] <outcome> [call|sms|email|in-store] [note…]`."""
    parts = words(text)
    if is_help(parts):
        return Help("log")
    if not parts:
        raise Misunderstood(
            StatushubError(
                "say who and what happened: /log <customer> <outcome> [call|sms|email|in-store] [note]",
                choices=catalog.choices([catalog.track("outcome")]),
                field="outcome",
            ),
            ["nothing after /log"],
        )
    customer_id, rest = _customer(parts, catalog, find_customer, linked, track="outcome")
    understood = [f"customer #{customer_id}"]
    if not rest:
        raise Misunderstood(
            StatushubError(
                "what was the outcome?", choices=catalog.choices([catalog.track("outcome")]), field="outcome"
            ),
            understood,
        )
    outcome, rest = _status(rest, catalog, understood, "outcome")
    interaction = "call"
    if rest:
        try:
            interaction = resolve_interaction(rest[0])
            rest = rest[1:]
        except StatushubError:
            pass  # not a channel word: it is the start of the note
    return LogActivity(customer_id, outcome, interaction, " ".join(rest))


def parse_leads(text: str, catalog: Catalog) -> Help | ListLeads | Funnel:
    """`/leads [status]` (default hot_lead), `/leads funnel`."""
    parts = words(text)
    if is_help(parts):
        return Help("leads")
    if parts and parts[0].lower() == "funnel":
        return Funnel()
    if not parts:
        default = catalog.status("stage", "hot_lead") or catalog.track("stage").active[-1]
        return ListLeads(default)
    status, _ = _status(parts, catalog, [], None, manual=False)
    return ListLeads(status)


def _customer(
    parts: list[str],
    catalog: Catalog,
    find_customer: FindCustomer,
    linked: int | None,
    *,
    track: str | None,
) -> tuple[int, list[str]]:
    """The customer named by the leading words (longest match first) and the words left over."""
    if linked is not None and _starts_with_status(parts, catalog, track):
        return linked, parts
    ambiguous: AmbiguousCustomer | None = None
    for k in range(min(len(parts), MAX_CUSTOMER_WORDS), 0, -1):
        if not any(ch.isalnum() for ch in parts[k - 1]):
            continue  # a reference never ends in a bare emoji or symbol: that is the status (🔥)
        try:
            return find_customer(" ".join(parts[:k])), parts[k:]
        except AmbiguousCustomer as exc:
            ambiguous = ambiguous or exc
        except UnknownCustomer:
            continue
    if ambiguous is not None:
        raise Misunderstood(ambiguous, [])
    if linked is not None:
        return linked, parts
    # Name what we took for the customer: the words before the first that reads as a status.
    k = next((i for i in range(1, len(parts)) if _starts_with_status(parts[i:], catalog, track)), len(parts))
    ref = " ".join(parts[:k])
    understood = []
    if k < len(parts):
        understood.append(f"status {' '.join(parts[k:])!r}")
    raise Misunderstood(
        UnknownCustomer(
            f"no customer matches {ref!r} (try a phone number, #id, @mention or full name)", field="customer"
        ),
        understood,
    )


def _starts_with_status(parts: list[str], catalog: Catalog, track: str | None) -> bool:
    try:
        _status(parts, catalog, [], track)
    except StatushubError:
        return False
    return True


def _status(
    parts: list[str], catalog: Catalog, understood: list[str], track: str | None, *, manual: bool = True
) -> tuple[StatusInfo, list[str]]:
    """The status named by the leading words (longest first) and the words left over (the note)."""
    errors: list[StatushubError] = []
    for k in range(min(len(parts), MAX_STATUS_WORDS), 0, -1):
        name = " ".join(parts[:k])
        try:
            if track == "outcome":
                return resolve_outcome(catalog, name), parts[k:]
            return catalog.resolve(name, track=track, manual=manual), parts[k:]
        except StatushubError as exc:
            errors.append(exc)
    # The longest reading that has a suggestion explains best; else what the first word gave.
    error = next((e for e in errors if e.suggestion), errors[-1] if errors else None)
    raise Misunderstood(error or StatushubError("no status given", field="status"), understood)

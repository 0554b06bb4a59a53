"""Domain errors: each carries the user-facing message and, where there are any, the valid choices.

Every edge translates them in one place: HTTP → 4xx JSON, Slack → an ephemeral hint, CLI → stderr.
"""

from __future__ import annotations


class StatushubError(Exception):
    """A mistake the user can fix; `message` says what, `choices` what would be valid."""

    code = "invalid"
    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        choices: list[str] | None = None,
        field: str | None = None,
        suggestion: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.choices = choices or []
        self.field = field
        self.suggestion = suggestion

    def details(self) -> dict:
        out: dict = {}
        if self.field:
            out["field"] = self.field
        if self.choices:
            out["choices"] = self.choices
        if self.suggestion:
            out["suggestion"] = self.suggestion
        return out


class NotFound(StatushubError):
    code = "not_found"
    http_status = 404


class UnknownWorkspace(NotFound):
    code = "unknown_workspace"


class UnknownCustomer(NotFound):
    code = "unknown_customer"


class AmbiguousCustomer(StatushubError):
    code = "ambiguous_customer"
    http_status = 409


class UnknownTrack(StatushubError):
    code = "unknown_track"


class UnknownStatus(StatushubError):
    code = "unknown_status"


class ArchivedStatus(StatushubError):
    code = "archived_status"
    http_status = 409


class NotAllowed(StatushubError):
    code = "not_allowed"
    http_status = 403


class Conflict(StatushubError):
    code = "conflict"
    http_status = 409


class OptedOut(StatushubError):
    code = "opted_out"
    http_status = 409

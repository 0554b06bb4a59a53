"""The automation policy as one pure function: current status, target, kind of change → decision (SPEC §3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

AUTOMATIONS = ("any", "upgrade_only", "manual_only")


@dataclass(frozen=True, slots=True)
class StatusRef:
    """What the policy needs to know of a status."""

    key: str
    position: int
    automation: str = "any"
    archived: bool = False


class Ref(Protocol):
    """A StatusRef, or the catalog's StatusInfo itself (the engine passes those: no copy per move)."""

    @property
    def key(self) -> str: ...
    @property
    def position(self) -> int: ...
    @property
    def automation(self) -> str: ...
    @property
    def archived(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Decision:
    applied: bool
    reason: str


SAME = Decision(False, "already there")


def decide(current: Ref | None, target: Ref | None, *, automatic: bool) -> Decision:
    """May a change from `current` to `target` happen?

    Manual changes (agents, activities) always apply to an existing, non-archived status;
    automatic ones (intent rules, time rules) also respect the current status's automation setting.
    A target of None is a status that no longer exists.
    """
    if target is None:
        return Decision(False, "the target status no longer exists")
    if current is not None and current.key == target.key:
        return SAME
    if target.archived:
        return Decision(False, f"{target.key} is archived")
    if not automatic or current is None:
        return Decision(True, "manual change" if not automatic else "first status")
    if current.automation == "manual_only":
        return Decision(False, f"{current.key} is manual only: automation never moves a customer out of it")
    if current.automation == "upgrade_only" and target.position < current.position:
        return Decision(False, f"{current.key} is upgrade only: {target.key} would be a downgrade")
    return Decision(True, "upgrade" if target.position > current.position else "automation allowed")

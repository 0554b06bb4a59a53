"""The built-in tracks, the five `stage` templates and their outcome mappings (SPEC §2, §3).

Each template's default time rules live in rules/time_rules.yaml, beside the rule packs (SPEC §9)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class StatusSpec:
    key: str
    emoji: str
    label: str
    color: str = "#9ca3af"
    description: str = ""
    automation: str = "any"  # any | upgrade_only | manual_only
    alert: bool = False
    terminal: bool = False


@dataclass(frozen=True)
class TrackSpec:
    key: str
    label: str
    statuses: tuple[StatusSpec, ...]
    manual: bool = True  # False: only the system sets it (reply)


@dataclass(frozen=True)
class TemplateSpec:
    key: str
    label: str
    stage: tuple[StatusSpec, ...]
    outcome_map: dict[str, str] = field(default_factory=dict)


S = StatusSpec

REPLY = TrackSpec(
    "reply",
    "Reply",
    (
        S("new", "🆕", "New", "#60a5fa", "No message yet."),
        S("no_reply", "⏳", "No Reply", "#f59e0b", "We sent the last message; waiting on the customer."),
        S("in_progress", "💬", "In Progress", "#10b981", "The customer wrote last; it is our turn."),
    ),
    manual=False,
)

OUTCOME = TrackSpec(
    "outcome",
    "Outcome",
    (
        S("none", "—", "No outcome", "#9ca3af", "Nothing logged yet."),
        S("no_answer", "📵", "No Answer", "#6b7280"),
        S("left_voicemail", "📼", "Left a Voicemail", "#8b5cf6"),
        S("wrong_number", "☎️", "Wrong Number", "#ef4444"),
        S("no_sale", "🚫", "No Sale", "#dc2626"),
        S("satisfied", "🙂", "Satisfied", "#22c55e"),
        S("sale_in_progress", "⏳", "Sale in Progress", "#f97316"),
        S("sold", "💰", "Sold", "#16a34a"),
    ),
)

ATTENTION = TrackSpec(
    "attention",
    "Attention",
    (
        S("active", "🟢", "Active", "#22c55e"),
        S("vip", "💎", "VIP", "#6366f1"),
        S("caution", "⚠️", "Caution", "#f59e0b", alert=True),
        S("do_not_serve", "⛔", "Do Not Serve", "#b91c1c", alert=True),
    ),
)

UP = "upgrade_only"
MANUAL = "manual_only"

TEMPLATES: dict[str, TemplateSpec] = {
    t.key: t
    for t in (
        TemplateSpec(
            "online-store",
            "Online store",
            (
                S("greeting", "👋", "Greeting", "#60a5fa", "Just started talking; browsing."),
                S("cold_lead", "❄️", "Cold Lead", "#93c5fd", "Not ready to buy now."),
                S("hot_lead", "🔥", "Hot Lead", "#ef4444", "Ready to buy: reply first.", UP, alert=True),
                S("closed_won", "🎉", "Closed Won", "#16a34a", "Deal closed.", UP, terminal=True),
                S("passed", "😴", "Passed", "#6b7280", "Not buying; conversation over.", terminal=True),
            ),
            {
                "sold": "closed_won",
                "sale_in_progress": "hot_lead",
                "no_sale": "passed",
                "satisfied": "passed",
            },
        ),
        TemplateSpec(
            "service",
            "Service business",
            (
                S("inquiry", "❓", "Inquiry", "#60a5fa"),
                S("quotation_sent", "🧾", "Quotation Sent", "#a78bfa"),
                S("ready_to_book", "📅", "Ready to Book", "#ef4444", automation=UP, alert=True),
                S("confirmed", "✅", "Confirmed", "#16a34a", automation=UP, terminal=True),
                S("cancelled", "❌", "Cancelled", "#6b7280", terminal=True),
            ),
            {"sold": "confirmed", "sale_in_progress": "ready_to_book", "no_sale": "cancelled"},
        ),
        TemplateSpec(
            "b2b",
            "B2B sales",
            (
                S("first_contact", "🤝", "First Contact", "#60a5fa"),
                S("qualified_lead", "🎯", "Qualified Lead", "#f59e0b"),
                S("proposal_sent", "📨", "Proposal Sent", "#a78bfa"),
                S("negotiation", "💬", "Negotiation", "#ef4444", automation=UP, alert=True),
                S("deal_closed", "🏆", "Deal Closed", "#16a34a", automation=UP, terminal=True),
                S("lost", "🪦", "Lost", "#6b7280", terminal=True),
            ),
            {"sold": "deal_closed", "sale_in_progress": "negotiation", "no_sale": "lost"},
        ),
        TemplateSpec(
            "field-service",
            "Field service",
            (
                S("potential", "🌱", "Potential", "#60a5fa"),
                S("active", "🛠️", "Active", "#16a34a", automation=UP),
                S("on_hold", "⏸️", "On Hold", "#f59e0b", automation=MANUAL),
                S("not_interested", "🙅", "Not Interested", "#6b7280", terminal=True),
                S("bad_fit", "🧩", "Bad Fit", "#6b7280", terminal=True),
                S("churned", "🍂", "Churned", "#6b7280", terminal=True),
            ),
            {"sold": "active", "sale_in_progress": "active", "no_sale": "not_interested"},
        ),
        TemplateSpec(
            "lead-response",
            "Lead response",
            (
                S(
                    "hot_lead",
                    "🔥",
                    "Hot Lead",
                    "#ef4444",
                    "Interested and ready for contact.",
                    UP,
                    alert=True,
                ),
                S(
                    "lead_to_review",
                    "🔎",
                    "Lead to Review",
                    "#f59e0b",
                    "A reply needs a person to read it.",
                    MANUAL,
                ),
                S("further_action", "📌", "Further Action", "#a78bfa", "Has questions to follow up."),
                S("satisfied", "🙂", "Satisfied", "#16a34a", terminal=True),
                S("disqualified", "🚷", "Disqualified", "#6b7280", terminal=True),
                S("no_further_action", "🛑", "No Further Action", "#6b7280", terminal=True),
            ),
            {
                "sold": "satisfied",
                "sale_in_progress": "hot_lead",
                "no_sale": "no_further_action",
                "satisfied": "satisfied",
            },
        ),
    )
}

DEFAULT_TEMPLATE = "online-store"


def tracks_for(template: str) -> tuple[TrackSpec, ...]:
    """The four built-in tracks of a new workspace using `template` for `stage`."""
    stage = TrackSpec("stage", "Stage", TEMPLATES[template].stage)
    return (stage, REPLY, OUTCOME, ATTENTION)


def known_statuses(template: str | None = None) -> dict[str, set[str]]:
    """Status keys per track: of one template, or of all templates together (for pack validation)."""
    templates = [TEMPLATES[template]] if template else list(TEMPLATES.values())
    known = {t.key: {s.key for s in t.statuses} for t in (REPLY, OUTCOME, ATTENTION)}
    known["stage"] = {s.key for t in templates for s in t.stage}
    return known

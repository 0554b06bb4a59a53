"""Block Kit builders (pure): the customer card, leads, funnel, App Home, help, hints and alerts.

Every text a customer or user wrote goes through `escape` before it lands in mrkdwn, so an SMS
saying `<!channel>` pings nobody (https://api.slack.com/reference/surfaces/formatting#escaping).
"""

from __future__ import annotations

import re
from datetime import datetime

from plugin.customers.cards import Card, Lead
from plugin.domain.catalog import Catalog, StatusInfo
from plugin.domain.errors import StatushubError

OUTCOME_BUTTONS = ("sold", "left_voicemail", "no_answer", "no_sale")
SELECT_TRACKS = ("stage", "attention")
MAX_TEXT = 2900  # a section's text is capped at 3000 characters

HELP = {
    "status": (
        "*/status <customer>* shows the customer's card.\n"
        "*/status <customer> <status> [note…]* sets a status: by key, label, emoji or prefix "
        "(`hot`, `Hot Lead`, `🔥`); another track as `attention:vip` (attention needs a note).\n"
        "*/status link <customer>* (admins) links this channel to the customer, "
        "so the customer may be left out here.\n"
        "A customer is a phone number in any format, `#id`, an @mention or a unique name."
    ),
    "log": (
        "*/log <customer> <outcome> [call|sms|email|in-store] [note…]* logs what happened.\n"
        "Outcomes: `sold`, `in-progress`, `no-sale`, `satisfied`, `no-answer`, `voicemail`/`vm`, "
        "`wrong-number`. The default channel is a call."
    ),
    "leads": (
        "*/leads [status]* lists customers on a status (default 🔥 Hot Lead), highest priority first.\n"
        "*/leads funnel* counts customers per stage."
    ),
}


def escape(text: str) -> str:
    """Slack's three control characters, so user text can never mention, link or ping."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_TEXT]}}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:MAX_TEXT]}]}


def _plain(text: str) -> dict:
    return {"type": "plain_text", "text": text[:75] or " ", "emoji": True}


def waited(since: datetime, now: datetime) -> str:
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} d {hours % 24} h"


def customer_card(card: Card, catalog: Catalog, now: datetime, notice: str = "") -> list[dict]:
    """The card `/status <customer>` answers with: who, where they stand, what they said, what to do."""
    blocks: list[dict] = []
    if notice:
        blocks.append(_section(notice))
    badges = "  ".join(f"{s.badge}" for s in card.statuses.values())
    title = f"*{escape(card.name)}*  (#{card.id})" + ("  · 🔕 opted out" if card.opted_out else "")
    blocks.append(_section(f"{title}\n{escape(badges)}"))
    if card.identities:
        blocks.append(_context(" · ".join(escape(i) for i in card.identities)))
    for warning in card.warnings:
        blocks.append(_section(f"⚠️ {escape(warning)}"))
    if card.waiting_since:
        blocks.append(_context(f"⏱️ waiting for us {waited(card.waiting_since, now)}"))
    if card.messages:
        lines = [
            f"{'←' if m.direction == 'inbound' else '→'} {m.sender}: {escape(_clip(m.text))}"
            for m in card.messages
        ]
        blocks.append(_section("*Last messages*\n" + "\n".join(lines)))
    if card.history:
        lines = [
            f"{h.at:%Y-%m-%d %H:%M} {escape(h.track)}: {escape(h.from_status or '—')} → "
            f"{escape(h.to_status)} ({escape(h.source)}, {escape(h.actor)})"
            for h in card.history
        ]
        blocks.append(_context("\n".join(lines)))
    blocks.append(status_menus(card, catalog))
    buttons = outcome_buttons(card.id, catalog)
    if buttons["elements"]:
        blocks.append(buttons)
    return blocks


def _clip(text: str, size: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


def status_menus(card: Card, catalog: Catalog) -> dict:
    elements = []
    for track in SELECT_TRACKS:
        info = catalog.tracks.get(track)
        if info is None or not info.active:
            continue
        options = [{"text": _plain(s.badge), "value": f"{card.id}:{s.key}"} for s in info.active[:100]]
        element = {
            "type": "static_select",
            "action_id": f"set_{track}",
            "placeholder": _plain(f"Set {info.label.lower()}"),
            "options": options,
        }
        current = card.statuses.get(track)
        if current is not None and not current.archived:
            element["initial_option"] = {"text": _plain(current.badge), "value": f"{card.id}:{current.key}"}
        elements.append(element)
    return {"type": "actions", "block_id": f"status_menus:{card.id}", "elements": elements}


def outcome_buttons(customer_id: int, catalog: Catalog) -> dict:
    elements = []
    for key in OUTCOME_BUTTONS:
        status = catalog.status("outcome", key)
        if status is None or status.archived:
            continue
        elements.append(
            {
                "type": "button",
                "action_id": f"log_outcome:{key}",
                "text": _plain(status.badge),
                "value": f"{customer_id}:{key}",
            }
        )
    return {"type": "actions", "block_id": f"outcomes:{customer_id}", "elements": elements}


def leads_list(status: StatusInfo, leads: list[Lead], now: datetime) -> list[dict]:
    if not leads:
        return [_section(f"No customers on {escape(status.badge)}.")]
    lines = []
    for lead in leads:
        wait = f" · waiting {waited(lead.waiting_since, now)}" if lead.waiting_since else ""
        lines.append(f"• *{escape(lead.name)}* (#{lead.id}){wait}")
    return [_section(f"*{escape(status.badge)}* — highest priority first"), _section("\n".join(lines))]


def funnel(counts: list[tuple[StatusInfo, int]]) -> list[dict]:
    lines = [f"{escape(s.badge)}: *{n}*" for s, n in counts]
    return [_section("*Funnel* (customers per stage)\n" + "\n".join(lines))]


def home_view(
    counts: list[tuple[StatusInfo, int]], hot: list[Lead], waiting: list[Lead], now: datetime
) -> dict:
    """The App Home tab: the status board."""
    blocks: list[dict] = [{"type": "header", "text": _plain("Status board")}]
    blocks += funnel(counts)
    blocks.append({"type": "divider"})
    blocks += _lead_lines("🔥 Hot leads", hot, now)
    blocks.append({"type": "divider"})
    blocks += _lead_lines("⏱️ Waiting longest for a reply", waiting, now)
    return {"type": "home", "blocks": blocks}


def _lead_lines(title: str, leads: list[Lead], now: datetime) -> list[dict]:
    if not leads:
        return [_section(f"*{title}*\nnobody right now")]
    lines = [
        f"• *{escape(lead.name)}* (#{lead.id})"
        + (f" · waiting {waited(lead.waiting_since, now)}" if lead.waiting_since else "")
        for lead in leads
    ]
    return [_section(f"*{title}*\n" + "\n".join(lines))]


def help_blocks(command: str) -> list[dict]:
    return [_section(escape(HELP.get(command, HELP["status"])))]


def mistake(exc: StatushubError, understood: list[str] | None = None) -> list[dict]:
    """The one Slack rendering of a domain error: what was understood, what is wrong, what is valid."""
    blocks = [_section(f"🤔 {escape(exc.message)}")]
    if understood:
        blocks.append(_context("Understood: " + "; ".join(escape(u) for u in understood)))
    if exc.choices:
        shown = ", ".join(f"`{escape(c)}`" for c in exc.choices[:25])
        more = f" and {len(exc.choices) - 25} more" if len(exc.choices) > 25 else ""
        blocks.append(_context(f"Valid: {shown}{more}"))
    if exc.suggestion and "did you mean" not in exc.message:
        blocks.append(_context(f"Did you mean `{escape(exc.suggestion)}`?"))
    return blocks


def refusal(what: str) -> list[dict]:
    return [_section(f"🙏 Sorry, only workspace admins can {escape(what)}. Ask an admin to do it.")]


def attention_modal(customer_id: int, status: StatusInfo, private_metadata: str) -> dict:
    """Asks for the note a change of `attention` needs (SPEC §3)."""
    return {
        "type": "modal",
        "callback_id": "attention_note",
        "private_metadata": private_metadata,
        "title": _plain("Attention"),
        "submit": _plain("Set"),
        "close": _plain("Cancel"),
        "blocks": [
            _section(f"Set customer #{customer_id} to *{escape(status.badge)}*. Say why:"),
            {
                "type": "input",
                "block_id": "note",
                "label": _plain("Note"),
                "element": {"type": "plain_text_input", "action_id": "note", "multiline": True},
            },
        ],
    }


_SLACK_ACTOR = re.compile(r"\Aslack:[A-Z0-9]+/([UW][A-Z0-9]{2,20})\Z")
QUOTE_SIZE = 500  # characters of the triggering message an alert quotes


def actor_text(actor: str) -> str:
    """Who made a change, for an alert: a Slack user as a mention (their name, in Slack), otherwise
    the API token's name, the console's token, the command line's user, or "automatically"."""
    found = _SLACK_ACTOR.match(actor or "")
    if found:
        return f"<@{found.group(1)}>"
    kind, _, name = (actor or "").partition(":")
    if actor in ("", "system"):
        return "automatically"
    if kind == "console" and name:
        return f"{escape(name)} (console)"
    if kind == "cli" and name:
        return f"{escape(name)} (command line)"
    if kind == "slack":
        return f"a Slack user ({escape(name)})"
    return f"API token *{escape(actor)}*"


def source_text(source: str) -> str:
    """Why the change happened, in words: `rule:ask_price` → "intent ask_price (rules)"."""
    kind, _, name = (source or "").partition(":")
    words = {
        "rule": f"intent {name} (rules)",
        "model": f"intent {name} (learned model)",
        "time": f"time rule {name}",
        "activity": "logged outcome",
        "reply": "reply",
        "import": "import",
    }
    return escape(words.get(kind, "" if kind == "manual" else source or ""))


def alert_message(
    name: str, customer_id: int, payload: dict, catalog: Catalog, message_text: str | None = None
) -> tuple[str, list[dict]]:
    """The alert channel's post for a customer entering an alerting status: the status's label and
    emoji, who moved them (a mention for a Slack user) and why, the note, and the message that
    triggered it, quoted and clipped (Block Kit: 3,000 characters a text, 50 blocks)."""
    track_key = str(payload.get("track") or "")
    to_key, from_key = str(payload.get("to") or ""), payload.get("from")
    to = catalog.status(track_key, to_key)
    was = catalog.status(track_key, from_key) if from_key else None
    track = catalog.tracks.get(track_key)
    badge = to.badge if to else to_key
    text = f"{badge}: {name} (#{customer_id})"
    change = f"{escape(track.label if track else track_key)}: {escape(was.badge if was else from_key or '—')} → *{escape(badge)}*"
    actor = str(payload.get("actor") or "")
    why = source_text(str(payload.get("source") or ""))
    who = actor_text(actor)
    if who == "automatically":
        change += f" · automatically{': ' + why if why else ''}"
    else:
        change += f" · by {who}{' (' + why + ')' if why else ''}"
    found = [_section(f"*{escape(badge)}*: *{escape(name)}* (#{customer_id})"), _context(change)]
    if payload.get("note"):
        found.append(_context("📝 " + escape(_clip(str(payload["note"]), QUOTE_SIZE))))
    if message_text is not None and message_text.strip():
        quoted = escape(_clip(message_text, QUOTE_SIZE))
        found.append(_section(f"> {quoted}"))
    return escape(text), found

"""A small demo workspace for `statushub init --demo` when the bundled demo (plugin.demo) is not
installed: a few customers and conversations, fed through the same inbox every channel uses."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Connection

from plugin.domain.clock import utcnow
from plugin.domain.events import MessageEvent
from plugin.engine import receive
from plugin.workspace.workspaces import create_workspace

# (identity, name, [(minutes ago, direction, sender, text)])
CONVERSATIONS = [
    (
        "sms:+15555550101",
        "Maria Lopez",
        [
            (180, "inbound", "customer", "Hi! Do you have the blue running shoes in size 8?"),
            (170, "outbound", "agent", "We do! Want me to hold a pair for you?"),
            (160, "inbound", "customer", "Yes please, how much are they and can I pay by card?"),
        ],
    ),
    (
        "webchat:visitor-42",
        "Sam Chen",
        [(90, "inbound", "customer", "hello"), (88, "outbound", "bot", "Hi there! How can we help today?")],
    ),
    (
        "sms:+15555550102",
        "Priya Patel",
        [(30, "inbound", "customer", "What time do you open on Saturday?")],
    ),
]


def load_starter_data(conn: Connection, slug: str = "demo") -> int:
    """Creates workspace `slug` with sample customers and messages; returns its id."""
    now = utcnow()
    ws = create_workspace(conn, slug, name="Demo Store", now=now)
    events = [
        MessageEvent(
            workspace_id=ws,
            channel=identity.split(":", 1)[0],
            identity=identity,
            direction=direction,
            sender=sender,
            text=text,
            provider_id=f"demo-{n}-{i}",
            provider_at=now - timedelta(minutes=ago),
            name=name,
        )
        for n, (identity, name, messages) in enumerate(CONVERSATIONS)
        for i, (ago, direction, sender, text) in enumerate(messages)
    ]
    receive(conn, ws, events, now=now)
    return ws

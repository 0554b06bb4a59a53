"""Migration 0008 keeps what was stored (SPEC §11): each workspace's Twilio number becomes its first
sender, media URLs gain a content type (unknown: null), and old STOP/START messages get the opt-out
flag replays now read only from the store."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import create_engine, text

from plugin.store.db import alembic_config, upgrade

AT = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def test_0008_moves_numbers_media_and_opt_flags_forward(db_url):
    command.downgrade(alembic_config(db_url), "0007")
    engine = create_engine(db_url)
    with engine.begin() as conn:
        ws = conn.execute(
            text(
                "INSERT INTO workspaces (slug, name, template, default_region, twilio_number, settings,"
                " catalog_version, created_at) VALUES ('acme', 'Acme', 'online-store', 'US', '+15550001111',"
                " '{}', 1, :at) RETURNING id"
            ),
            {"at": AT},
        ).scalar_one()
        cid = conn.execute(
            text(
                "INSERT INTO customers (workspace_id, name, opted_out, priority_open, priority_rank, created_at)"
                " VALUES (:w, 'Dana', false, true, 0, :at) RETURNING id"
            ),
            {"w": ws, "at": AT},
        ).scalar_one()
        rows = [
            ("SM1", "inbound", "here", '["https://api.twilio.com/Media/ME1"]'),
            ("SM2", "inbound", "Stop.", "[]"),
            ("SM3", "inbound", "stop please", "[]"),
            ("SM4", "outbound", "STOP", "[]"),
        ]
        for pid, direction, body, media in rows:
            conn.execute(
                text(
                    "INSERT INTO messages (workspace_id, customer_id, channel, direction, sender, text,"
                    " provider_id, provider_at, received_at, intents, media)"
                    " VALUES (:w, :c, 'sms', :d, :s, :t, :p, :at, :at, '[]', :m)"
                ),
                {
                    "w": ws,
                    "c": cid,
                    "d": direction,
                    "s": "customer" if direction == "inbound" else "agent",
                    "t": body,
                    "p": pid,
                    "at": AT,
                    "m": media,
                },
            )
    upgrade(db_url)
    with engine.connect() as conn:
        senders = conn.execute(text("SELECT workspace_id, sender, kind FROM twilio_senders")).all()
        stored = dict(conn.execute(text("SELECT provider_id, opt FROM messages")).all())
        media = conn.execute(text("SELECT media FROM messages WHERE provider_id = 'SM1'")).scalar_one()
    engine.dispose()
    assert senders == [(ws, "+15550001111", "number")]
    assert stored == {"SM1": None, "SM2": "out", "SM3": None, "SM4": None}
    media = media if isinstance(media, list) else json.loads(media)
    assert media == [{"url": "https://api.twilio.com/Media/ME1", "content_type": None}]

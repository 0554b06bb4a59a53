"""`statushub demo`: replays the bundled traffic through the real, signed webhooks and prints the board."""

from __future__ import annotations

import click

from plugin.cli.output import print_json, read_only, session
from plugin.demo import board_lines, replay, status_board
from plugin.store.db import upgrade


@click.command("demo")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document, for scripts.")
def demo_command(as_json: bool) -> None:
    """Replays a bundled, realistic set of SMS and web chat traffic, signed, through the hub's webhooks,
    then prints the status board. Run it again: every delivery is a duplicate and nothing changes."""
    engine = session().engine
    upgrade(engine.url.render_as_string(hide_password=False))
    result = replay(engine)
    with read_only() as conn:
        board = status_board(conn, result.workspace_id)
    if as_json:
        print_json(
            {
                "workspace": "demo",
                "delivered": result.delivered,
                "new": result.new,
                "duplicate": result.duplicate,
                "refused": result.refused,
                "counts": {
                    track: {key: count for key, _, count in statuses}
                    for track, statuses in board.counts.items()
                },
                "hot_leads": [
                    {"id": lead.id, "name": lead.name, "waiting_since": lead.waiting_since}
                    for lead in board.hot_leads
                ],
            }
        )
        return
    click.echo(
        f"demo: {result.delivered} deliveries replayed: {result.new} new, {result.duplicate} duplicate"
        + (f", {result.refused} refused" if result.refused else "")
    )
    for line in board_lines(board):
        click.echo(line)

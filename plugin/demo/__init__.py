"""The bundled demo: a workspace, realistic SMS and web chat traffic, and the status board it ends in."""

from __future__ import annotations

from plugin.demo.board import Board, board_lines, status_board
from plugin.demo.replay import SLUG, Replay, load_demo, replay

__all__ = ["SLUG", "Board", "Replay", "board_lines", "load_demo", "replay", "status_board"]

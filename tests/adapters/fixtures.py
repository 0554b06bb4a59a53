"""Recorded payloads (tests/adapters/<name>/fixtures/*.json), each naming where it was captured."""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent


def fixture(adapter: str, name: str) -> dict:
    document = json.loads((HERE / adapter / "fixtures" / f"{name}.json").read_text(encoding="utf-8"))
    assert document["_source"], "every fixture says where it was recorded"
    return document

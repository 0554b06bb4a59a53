"""tools/layers, the check `make lint` runs: the repository passes it, and each rule catches its break."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "layers"


def run(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL)], cwd=cwd, capture_output=True, text=True, check=False)


def test_the_repository_keeps_its_layers():
    done = run(ROOT)
    assert done.returncode == 0, done.stdout


def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in {"plugin/__init__.py": "", **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("path", "source", "says"),
    [
        ("rules/matcher.py", "import plugin.domain.events\n", "rules imports plugin"),
        ("adapters/sms/parse.py", "from adapters.slack import blocks\n", "adapter sms imports adapter slack"),
        ("adapters/sms/parse.py", "from plugin.store.schema import Message\n", "never the store"),
        ("plugin/engine/write_path.py", "from adapters.sms import send\n", "outside its wiring module"),
        ("plugin/app/api/customers.py", "from adapters.sms import send\n", "outside its wiring module"),
        ("plugin/domain/fold.py", "from sqlalchemy import select\n", "the domain is pure"),
        ("plugin/domain/fold.py", "import flask\n", "the domain is pure"),
        ("plugin/store/db.py", "from plugin.workspace.catalog import load_catalog\n", "a layer above it"),
        ("plugin/engine/inbox.py", "from plugin.customers.naming import resolve_customer\n", "a layer above"),
        ("plugin/app/health.py", "from plugin.cli import main\n", "a layer above it"),
        (
            "plugin/customers/merge.py",
            "from plugin.engine.replay import load_history\n",
            "private to engine/",
        ),
        ("plugin/customers/merge.py", "from plugin.engine import replay\n", "private to engine/"),
    ],
)
def test_each_break_is_reported(tmp_path, path, source, says):
    files = {path: source}
    if "engine" in source:
        files["plugin/engine/replay.py"] = ""
    done = run(tree(tmp_path, files))
    assert done.returncode == 1
    assert says in done.stdout


def test_imports_that_point_inward_pass(tmp_path):
    files = {
        "plugin/engine/replay.py": "",
        "plugin/engine/__init__.py": "from plugin.engine.replay import load_history\n",
        "plugin/customers/merge.py": "from plugin.engine import load_history\nfrom plugin.domain import fold\n",
        "plugin/app/__init__.py": "def create_app():\n    from adapters import sms\n",
        "adapters/sms/routes.py": "from plugin.engine import receive\nfrom plugin.app import hub\n",
        "rules/matcher.py": "import re\n",
    }
    done = run(tree(tmp_path, files))
    assert done.returncode == 0, done.stdout

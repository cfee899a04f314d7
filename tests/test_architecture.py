"""The import rules that keep the shape simple: a pure engine, storage below bot, channels apart from storage."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).parent.parent


def imports(folder: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(REPO))] = names
    return found


def test_the_engine_imports_only_the_standard_library_and_itself() -> None:
    for path, names in imports(REPO / "bot" / "engine").items():
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or name.startswith("bot.engine") or top == "__future__", (path, name)


def test_storage_never_imports_bot() -> None:
    for path, names in imports(REPO / "storage").items():
        assert not any(n == "bot" or n.startswith("bot.") for n in names), path


def test_channels_never_import_storage() -> None:
    for path, names in imports(REPO / "bot" / "channels").items():
        assert not any(n == "storage" or n.startswith("storage.") for n in names), path


def test_importing_the_package_has_no_side_effects(tmp_path: Path) -> None:
    import subprocess

    code = ("import os, bot.app, bot.cli, bot.service, storage.unit_of_work; "
            "assert not os.path.exists('data'), 'importing created the data folder'")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr

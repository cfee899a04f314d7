"""The import rules that keep the shape simple: a pure engine, storage below bot, channels apart from storage, the
composition root imported only by the command line."""

from __future__ import annotations

import ast
import re
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
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
            elif isinstance(node, ast.ImportFrom):  # relative: resolved, so `from .channels import x` counts too
                package = path.relative_to(REPO).with_suffix("").parts[:-node.level]
                names.add(".".join((*package, *([node.module] if node.module else []))))
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

    code = ("import os, bot.app, bot.cli, bot.services.service, storage.unit_of_work; "
            "assert not os.path.exists('data'), 'importing created the data folder'")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_domain_imports_only_the_standard_library_and_itself() -> None:
    for path, names in imports(REPO / "bot" / "domain").items():
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or name.startswith("bot.domain") or top == "__future__", (path, name)


def test_only_the_channels_and_the_composition_root_import_the_channels() -> None:
    """Services reach people through bot.domain's protocols; only bot.app (which builds the channels) and bot.cli
    (which runs the console and draws posters) may name a channel, and the web console (bot/console/), which draws
    its survey preview with the web chat's drawing. `imports` walks every node, so an import inside a function counts
    too."""
    allowed = ("bot/channels/", "bot/app.py", "bot/cli/__init__.py", "bot/console/")
    found = {**imports(REPO / "bot"), **imports(REPO / "storage")}
    wrong = sorted((path, name) for path, names in found.items() if not path.startswith(allowed)
                   for name in names if name == "bot.channels" or name.startswith("bot.channels."))
    assert not wrong, wrong


def test_only_the_command_line_imports_the_composition_root() -> None:
    """The admin side (chat admin, report delivery, campaign commands) works on bot.services.core.Core, which `App`
    satisfies, so nothing but bot/cli/ names bot.app: no cycle through the composition root, lazy imports included."""
    found = {**imports(REPO / "bot"), **imports(REPO / "storage")}
    wrong = sorted((path, name) for path, names in found.items() if not path.startswith(("bot/cli/", "bot/app.py"))
                   for name in names if name == "bot.app" or name.startswith("bot.app."))
    assert not wrong, wrong


def test_services_import_neither_the_command_line_nor_what_builds_on_them() -> None:
    """bot/services/ is below bot/reporting/, the composition roots and bot/cli/ (import-linter's layers contract
    says the same for every layer); this catches it with a readable message."""
    above = ("bot.cli", "bot.reporting", "bot.app", "bot.reading", "bot.channels", "bot.console")
    wrong = sorted((path, name) for path, names in imports(REPO / "bot" / "services").items()
                   for name in names if any(name == a or name.startswith(a + ".") for a in above))
    assert not wrong, wrong


def paths_in_code(markdown: str) -> set[str]:
    """The file paths a page writes as inline code: `bot/app.py`, `tests/fakes/`, `deploy/.env.example`. Fenced
    blocks (the diagram) and inline code with a space or starting with / (a command or a chat command) are not paths;
    names of files that do not exist yet are written in italics, not code."""
    inline = re.sub(r"^```.*?^```", "", markdown, flags=re.S | re.M)
    return {code for code in re.findall(r"`([^`\s]+)`", inline) if "/" in code and not code.startswith("/")}


def test_every_path_in_the_architecture_page_exists() -> None:
    """docs/architecture.md sends a new engineer to files by path: a moved or renamed file must fail here until the
    page is updated, rather than leave it quietly wrong."""
    page = (REPO / "docs" / "architecture.md").read_text()
    paths = paths_in_code(page)
    assert len(paths) > 20, "the page should name the files it describes"
    assert sorted(path for path in paths if not (REPO / path).exists()) == []


def test_paths_in_code_reads_inline_code_only() -> None:
    page = "See `bot/app.py` and `gone/file.py`, not `/start`, `a b/c`, *new/pkg/* or\n```\nfenced/x.py\n```\n"
    assert paths_in_code(page) == {"bot/app.py", "gone/file.py"}

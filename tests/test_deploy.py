"""The deployment files, parsed and linted: no container engine runs here, so the Dockerfile is read with Docker's own
parser (the `dockerfile` package), the compose file as YAML against what compose needs, and the systemd unit with
systemd's own analyser when it is installed. And deploy/.env.example documents every setting bot/config.py reads."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import dockerfile
import pytest
import yaml

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
PINNED_PYTHON = re.compile(r"^python:3\.(1[1-9])\.\d+-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?$")
PINNED = re.compile(r"^[a-z0-9./-]+:\d+(\.\d+)+[a-z0-9.-]*(@sha256:[0-9a-f]{64})?$")


# --- settings ---------------------------------------------------------------------------------------------------------

def settings_read() -> set[str]:
    source = (ROOT / "bot" / "config.py").read_text()
    return set(re.findall(r"""get\(\s*["']([A-Z][A-Z0-9_]+)["']""", source)) | set(
        re.findall(r"""whole\(\s*["']([A-Z][A-Z0-9_]+)["']""", source)) | set(
        re.findall(r"""(?:_seconds|_line)\(get,\s*["']([A-Z][A-Z0-9_]+)["']""", source))


def settings_documented() -> set[str]:
    text = (DEPLOY / ".env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_every_setting_is_documented_in_env_example_and_none_is_stale() -> None:
    read = settings_read()
    assert len(read) >= 30, read  # the pattern found the settings at all
    assert read - settings_documented() == set(), "settings read by bot/config.py but missing from .env.example"
    assert settings_documented() - read == set(), ".env.example documents settings nothing reads"


def test_env_example_as_written_is_valid_settings() -> None:
    values = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    settings = Settings.from_env(values)
    assert settings.sweep_seconds == 30 and settings.leader_retry_seconds == 15 and settings.log_format == "text"


# --- Dockerfile -------------------------------------------------------------------------------------------------------

def instructions() -> tuple[dockerfile.Command, ...]:
    return dockerfile.parse_file(str(DEPLOY / "Dockerfile"))


def final_stage(commands: tuple[dockerfile.Command, ...]) -> list[dockerfile.Command]:
    starts = [i for i, c in enumerate(commands) if c.cmd == "FROM"]
    return list(commands[starts[-1]:])


def test_dockerfile_bases_are_pinned_slim_python_of_a_supported_version() -> None:
    bases = [c.value[0] for c in instructions() if c.cmd == "FROM"]
    assert len(bases) == 2, "a build stage and a clean runtime stage"
    for base in bases:
        assert PINNED_PYTHON.match(base), f"{base}: pin an exact slim Python 3.11+ release, never :latest"


def test_dockerfile_runs_as_a_non_root_user_with_a_health_check() -> None:
    stage = final_stage(instructions())
    users = [c.value[0] for c in stage if c.cmd == "USER"]
    assert users, "the runtime stage must switch to a non-root USER"
    assert users[-1].split(":")[0] not in ("root", "0")
    checks = [c for c in stage if c.cmd == "HEALTHCHECK"]
    assert len(checks) == 1 and checks[0].value[0] == "CMD" and "/healthz" in checks[0].value[1]
    assert any("--interval" in flag for flag in checks[0].flags)
    entry = [c for c in stage if c.cmd in ("ENTRYPOINT", "CMD")]
    assert [c.value for c in entry] == [("surveybot",), ("run",)] and all(c.json for c in entry)


def test_dockerfile_fetches_nothing_by_url_and_leaves_no_build_tools() -> None:
    commands = instructions()
    for command in commands:
        assert command.cmd != "ADD", "COPY local files; ADD of a URL or archive is not reproducible"
        if command.cmd == "RUN":
            text = " ".join(command.value)
            assert not re.search(r"\b(curl|wget)\b", text), f"line {command.start_line} downloads: {text}"
            assert not re.search(r"apt-get install|gcc|build-essential", text), f"line {command.start_line}"
    stage = final_stage(commands)
    runtime = " ".join(" ".join(c.value) for c in stage if c.cmd == "RUN")
    assert "pip uninstall --yes pip setuptools wheel" in runtime, "the runtime image keeps no pip"
    copies = [c for c in stage if c.cmd == "COPY"]
    assert copies and all(any(f.startswith("--from=") for f in c.flags) for c in copies), (
        "the runtime stage copies only the built environment, no sources or build files")
    env = dict(pair for c in stage if c.cmd == "ENV" for pair in zip(c.value[::2], c.value[1::2], strict=True))
    assert env["SURVEYBOT_HOST"] == "0.0.0.0" and env["SURVEYBOT_ENV"] == "production"
    exposed = [c.value[0] for c in stage if c.cmd == "EXPOSE"]
    assert exposed == [env["SURVEYBOT_PORT"]] == ["8080"]
    Settings.from_env({k: v for k, v in env.items() if k.startswith("SURVEYBOT_")})  # valid settings


def test_dockerfile_copies_exist_and_are_what_the_package_needs() -> None:
    build = [c for c in instructions() if c.cmd == "COPY" and not c.flags]
    sources = {s for c in build for s in c.value[:-1]}
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
    from tomllib import loads

    found = loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {p.split(".")[0] for p in found} <= sources, "every package in pyproject.toml is copied in"


def test_psycopg_comes_with_the_postgresql_extra_only_and_the_image_installs_it() -> None:
    """A default install serves SQLite and does without a PostgreSQL driver; the image (compose runs it on
    PostgreSQL) and the test install (CI runs the PostgreSQL tests) bring it."""
    from tomllib import loads

    project = loads((ROOT / "pyproject.toml").read_text())["project"]

    def psycopg(requirements: list[str]) -> bool:
        return any(re.match(r"psycopg\b", requirement) for requirement in requirements)

    assert not psycopg(project["dependencies"]), "psycopg is in the default install"
    assert psycopg(project["optional-dependencies"]["postgresql"])
    assert psycopg(project["optional-dependencies"]["test"])
    installs = [" ".join(c.value) for c in instructions() if c.cmd == "RUN" and "pip install" in " ".join(c.value)]
    wanted = re.compile(r"""pip install ["']?\.\[([\w,]+)\]""")
    extras = [set(m[1].split(",")) for text in installs if (m := wanted.search(text))]
    assert any("postgresql" in found for found in extras), installs
    assert any("teams" in found for found in extras), "the image can run the Teams channel (the Agents SDK)"


# --- compose ----------------------------------------------------------------------------------------------------------

def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_runs_migrations_then_the_bot_after_a_healthy_database() -> None:
    spec = compose()
    services = spec["services"]
    assert set(services) == {"db", "migrate", "bot"}
    db = services["db"]
    assert PINNED.match(db["image"]) and db["image"].startswith("postgres:"), "pin PostgreSQL's exact release"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume, _, target = db["volumes"][0].partition(":")
    assert target == "/var/lib/postgresql/data" and volume in spec["volumes"], "the data lives in a named volume"
    migrate, bot = services["migrate"], services["bot"]
    assert migrate["command"] == ["db", "upgrade"] and migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["command"] == ["run"]
    assert bot["depends_on"] == {"db": {"condition": "service_healthy"},
                                 "migrate": {"condition": "service_completed_successfully"}}
    assert "/healthz" in " ".join(bot["healthcheck"]["test"])
    for service in (migrate, bot):
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert (DEPLOY / ".." / service["build"]["dockerfile"]).resolve().exists()
        env = service["environment"]
        assert env["SURVEYBOT_AUTO_MIGRATE"] == "false" and env["SURVEYBOT_ENV"] == "production"
        assert env["DATABASE_URL"].startswith("postgresql://") and "@db:5432/" in env["DATABASE_URL"]
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in service["security_opt"] and "privileged" not in service


def test_compose_publishes_the_bot_only_on_loopback_and_needs_a_database_password() -> None:
    services = compose()["services"]
    for port in services["bot"]["ports"]:
        assert str(port).startswith("127.0.0.1:"), "the reverse proxy reaches the bot; the internet does not"
    assert "ports" not in services["db"], "the database is reachable only by the bot"
    text = (DEPLOY / "compose.yaml").read_text()
    variables = set(re.findall(r"\$\{([A-Z_]+)", text))
    assert variables == {"POSTGRES_PASSWORD"}
    assert "${POSTGRES_PASSWORD:?" in text, "compose stops with a message when the password is not set"


# --- systemd ----------------------------------------------------------------------------------------------------------

def unit() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "surveybot.service")
    return parser


def test_systemd_unit_migrates_then_runs_as_an_unprivileged_user() -> None:
    service = unit()["Service"]
    assert service["ExecStartPre"].endswith("surveybot db upgrade")
    assert service["ExecStart"].endswith("surveybot run")
    assert service["User"] not in ("root", "0") and service["KillSignal"] == "SIGTERM"
    assert service["Restart"] == "on-failure" and "EnvironmentFile" in service
    for option, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                          "PrivateTmp": "yes", "PrivateDevices": "yes", "CapabilityBoundingSet": "",
                          "RestrictSUIDSGID": "yes", "UMask": "0077"}.items():
        assert service.get(option) == value, f"{option} should be {value!r}"
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_systemd_judges_the_unit_well_protected() -> None:
    judged = subprocess.run(["systemd-analyze", "security", "--offline=true", "--threshold=20",
                             str(DEPLOY / "surveybot.service")], capture_output=True, text=True, timeout=60)
    assert judged.returncode == 0, judged.stdout[-2000:] + judged.stderr
    assert "Overall exposure level" in judged.stdout

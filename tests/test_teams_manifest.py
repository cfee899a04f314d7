"""`surveybot teams manifest`: the Teams app package, made by the real command in a subprocess and checked the way
Teams would check it, and the readers of its options and settings, as properties.

The manifest is validated against Microsoft's own Teams app manifest schema for the version it declares. The schema
comes from Microsoft's npm package @microsoft/app-manifest (MIT licence; pinned in tests/web/package.json and
installed by `npm ci --prefix tests/web`, as .ci/run does), which carries every released version of
MicrosoftTeams.schema.json, the same files as github.com/OfficeDev/microsoft-teams-app-schema. On a machine without
it these tests skip, saying so; in CI they fail instead. The icons are read back with Pillow, a PNG reader that
shares nothing with the code that wrote them.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft4Validator, Draft6Validator, validators
from PIL import Image

from bot.channels.teams import manifest as teams
from bot.engine.commands import COMMANDS

from .test_web_browser import need

REPO = Path(__file__).parent.parent
SCHEMAS = REPO / "tests" / "web" / "node_modules" / "@microsoft" / "app-manifest" / "build" / "json-schemas" / "teams"
SCHEMA = SCHEMAS / f"v{teams.MANIFEST_VERSION}" / "MicrosoftTeams.schema.json"
APP_ID = "0b5d5600-7e57-4a11-9c0d-5eedf00dcafe"
PUBLIC_URL = "https://surveys.example.org"
ENTRIES = ["manifest.json", "color.png", "outline.png"]


@functools.cache
def validator() -> Any:
    """The schema's own validator. It says it is draft-04 but uses `const` (draft-06) for manifestVersion, which a
    draft-04 validator would silently ignore, so `const` is added: a manifest of another version fails. (The schema
    is not checked against the draft's meta-schema: a few patterns for Office add-ins use JavaScript's \\p{L}, which
    Python's re cannot compile; a manifest without those parts never meets them.)"""
    need(SCHEMA.exists(), f"the Teams manifest schema v{teams.MANIFEST_VERSION} is not installed "
         "(npm ci --prefix tests/web)")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return validators.extend(Draft4Validator, {"const": Draft6Validator.VALIDATORS["const"]})(schema)


def problems(manifest: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, error.path))}: {error.message}" for error in validator().iter_errors(manifest)]


def make(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`surveybot teams manifest` in a subprocess with only the settings given, and umask 0, so a file made without
    care would be readable by everyone."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SURVEYBOT_", "DATABASE_URL"))}
    environment.update({"SURVEYBOT_DATA_DIR": str(tmp_path / "data"), **env})
    return subprocess.run([sys.executable, "-m", "bot.cli", "teams", "manifest", *args], cwd=tmp_path, text=True,
                          capture_output=True, env=environment, timeout=120, umask=0)


SETTINGS = {"SURVEYBOT_TEAMS_APP_ID": APP_ID, "SURVEYBOT_PUBLIC_URL": PUBLIC_URL}


def test_the_package_holds_a_valid_manifest_and_two_icons(tmp_path: Path) -> None:
    result = make(tmp_path, "--out", "surveybot-teams.zip", "--app-version", "1.2.3",
                  "--developer", "Anytown  Safeguarding Partnership", **SETTINGS)
    assert result.returncode == 0, result.stderr
    assert "Wrote the Teams app package to surveybot-teams.zip" in result.stderr and "Traceback" not in result.stderr
    made = tmp_path / "surveybot-teams.zip"
    assert made.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["surveybot-teams.zip"]  # no data folder, no partial file

    with zipfile.ZipFile(made) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == ENTRIES  # exactly three files, no folders
        manifest = json.loads(archive.read("manifest.json").decode("utf-8"))
        color, outline = archive.read("color.png"), archive.read("outline.png")
    assert problems(manifest) == []
    assert manifest["manifestVersion"] == teams.MANIFEST_VERSION and manifest["version"] == "1.2.3"
    assert manifest["id"] == APP_ID and manifest["developer"]["name"] == "Anytown Safeguarding Partnership"
    bot = manifest["bots"][0]
    assert bot["botId"] == APP_ID and bot["scopes"] == ["personal", "team"]
    assert bot["commandLists"] == [{"scopes": ["personal"], "commands": [
        {"title": f"{c.word} {c.only}" if c.only else f"/{c.word}" if c.word == "help" else c.word,
         "description": c.help} for c in COMMANDS]}]
    assert manifest["validDomains"] == ["surveys.example.org"]
    assert manifest["developer"]["privacyUrl"] == f"{PUBLIC_URL}/privacy"
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}

    accent = tuple(int(manifest["accentColor"][i:i + 2], 16) for i in (1, 3, 5))
    with Image.open(io.BytesIO(color)) as image:
        assert image.format == "PNG" and image.size == (192, 192) and image.mode == "RGB"
        assert image.getpixel((0, 0)) == accent == image.getpixel((191, 191))  # full bleed, in the accent colour
        assert image.getpixel((96, 96)) == (255, 255, 255)  # the bubble, in the middle
    with Image.open(io.BytesIO(outline)) as image:
        assert image.format == "PNG" and image.size == (32, 32) and image.mode == "RGBA"
        raw = image.tobytes()
    pixels = [tuple(raw[i:i + 4]) for i in range(0, len(raw), 4)]
    assert {pixel[:3] for pixel in pixels} == {(255, 255, 255)}  # white only
    opacity = [pixel[3] for pixel in pixels]
    assert opacity[0] == opacity[-1] == 0 and opacity.count(0) > 400 and opacity.count(255) > 200


def test_the_same_settings_make_the_same_bytes(tmp_path: Path) -> None:
    first = make(tmp_path, "--out", "one.zip", **SETTINGS)
    second = make(tmp_path, "--out", str(tmp_path / "two.zip"), **SETTINGS)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()


def test_app_id_option_is_used_over_the_setting_and_an_old_package_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "surveybot-teams.zip").write_bytes(b"an older package")
    (tmp_path / "surveybot-teams.zip").chmod(0o644)
    other = str(uuid.UUID(int=7))
    result = make(tmp_path, "--out", "surveybot-teams.zip", "--app-id", other.upper(), **SETTINGS)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "surveybot-teams.zip") as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["id"] == manifest["bots"][0]["botId"] == other
    assert (tmp_path / "surveybot-teams.zip").stat().st_mode & 0o777 == 0o600


SECRET = "Xy7~a-secret.that-was-pasted-in-the-wrong-place"


@pytest.mark.parametrize(("args", "settings", "message"), [
    ((), {"SURVEYBOT_PUBLIC_URL": PUBLIC_URL}, "SURVEYBOT_TEAMS_APP_ID is not set (nor was --app-id given)"),
    ((), {**SETTINGS, "SURVEYBOT_TEAMS_APP_ID": SECRET}, "SURVEYBOT_TEAMS_APP_ID should be a GUID"),
    (("--app-id", SECRET), SETTINGS, "--app-id should be a GUID"),
    (("--app-id", APP_ID[:-1]), SETTINGS, "--app-id should be a GUID"),
    ((), {"SURVEYBOT_TEAMS_APP_ID": APP_ID}, "SURVEYBOT_PUBLIC_URL is not set"),
    ((), {**SETTINGS, "SURVEYBOT_PUBLIC_URL": "http://surveys.example.org"}, "SURVEYBOT_PUBLIC_URL should be a plain"),
    (("--app-version", "1.0"), SETTINGS, "--app-version should be three whole numbers"),
    (("--developer", "x" * 33), SETTINGS, "--developer should be a name of 1 to 32 characters"),
])
def test_bad_settings_and_options_get_one_line_and_no_file(tmp_path: Path, args: tuple[str, ...],
                                                            settings: dict[str, str], message: str) -> None:
    result = make(tmp_path, "--out", "surveybot-teams.zip", *args, **settings)
    assert_one_line(result, message)
    assert SECRET not in result.stderr + result.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("out", "message"), [
    ("no-such-folder/surveybot-teams.zip", "--out no-such-folder/surveybot-teams.zip: cannot write it"),
    ("a-file/surveybot-teams.zip", "--out a-file/surveybot-teams.zip: cannot write it"),
    ("a-folder", "--out a-folder is a folder"),
    ("", "is a folder"),
])
def test_an_unwritable_out_gets_one_line(tmp_path: Path, out: str, message: str) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "a-folder").mkdir()
    result = make(tmp_path, "--out", out, **SETTINGS)
    assert_one_line(result, message)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a-file", "a-folder"]


def assert_one_line(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("surveybot: ") and message in lines[0], result.stderr
    assert result.stdout == ""


def test_the_schema_check_can_fail() -> None:
    """The check the package passes is a real one: the wrong manifest version, a colour by name, a bot id that is
    not a GUID and a long command title are each refused."""
    good = teams.manifest(teams.Details(APP_ID, PUBLIC_URL, "surveys.example.org", "1.0.0", "Surveybot"))
    assert problems(good) == []
    bot = good["bots"][0]
    long_title = [{"scopes": ["personal"], "commands": [{"title": "x" * 129}]}]
    for change in ({"manifestVersion": "1.16"}, {"accentColor": "teal"}, {"bots": [{**bot, "botId": "bot"}]},
                   {"bots": [{**bot, "commandLists": long_title}]}):
        assert problems({**good, **change}) != [], change


# Properties of the readers: whatever is typed or set, each either gives what the schema accepts or says, in one
# line that names the option or setting, what it should be, without repeating what was given.

def schema_pattern(name: str) -> re.Pattern[str]:
    return re.compile(json.loads(SCHEMA.read_text(encoding="utf-8"))["definitions"][name]["pattern"])


def refused(call: Any, *args: Any) -> str | None:
    try:
        call(*args)
    except teams.ManifestError as exc:
        assert "\n" not in str(exc)
        return str(exc)
    return None


@given(st.uuids(), st.booleans(), st.sampled_from(["", " ", "\t"]))
def test_any_guid_is_read_in_lower_case(value: uuid.UUID, upper: bool, space: str) -> None:
    text = f"{space}{str(value).upper() if upper else value}{space}"
    assert teams.read_app_id(text, None) == teams.read_app_id(None, text) == str(value)


@given(st.one_of(st.text(max_size=60), st.uuids().map(str).map(lambda s: s + "x"), st.uuids().map(lambda u: u.hex)),
       st.booleans())
def test_an_app_id_is_a_guid_or_a_line_naming_where_it_came_from(text: str, as_option: bool) -> None:
    need(SCHEMA.exists(), "the Teams manifest schema is not installed (npm ci --prefix tests/web)")
    def read(value: str) -> str:
        return teams.read_app_id(value, None) if as_option else teams.read_app_id(None, value)

    message = refused(read, text)
    if message is None:
        assert schema_pattern("guid").fullmatch(read(text))
    else:  # the same line whatever was given, so it never repeats a secret pasted in by mistake
        assert message == refused(read, "not a guid")
        assert message.startswith("--app-id" if as_option else "SURVEYBOT_TEAMS_APP_ID")


HOSTS = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?){0,3}", fullmatch=True)
URLS = st.one_of(
    st.text(max_size=60),
    st.builds(lambda host, rest: f"https://{host}{rest}", HOSTS, st.sampled_from(["", "/", "/surveybot", ":8443"])),
    st.builds(lambda scheme, host, rest: f"{scheme}{host}{rest}", st.sampled_from(["https://", "http://", "https:/"]),
              HOSTS, st.sampled_from(["", "/", "/surveybot", "/a/b/", "?x=1", "#top", ":8443", " x"])),
)


NAMES = st.one_of(st.text(max_size=40), st.text(st.sampled_from("Anytown LSCP &'-\t"), min_size=1, max_size=40))


@given(st.one_of(st.none(), URLS), st.integers(0, 10**6), st.integers(0, 99), st.integers(0, 99), NAMES)
def test_whatever_is_accepted_makes_a_manifest_the_schema_accepts(url: str | None, major: int, minor: int,
                                                                   patch: int, developer: str) -> None:
    """The property that matters to an IT officer: if `surveybot teams manifest` writes a package, Teams will take
    its manifest. Anything refused is refused in one line naming the setting or option."""
    validator()
    public = refused(teams.read_public_url, url)
    name = refused(teams.read_developer, developer)
    if public is not None:
        assert public.startswith("SURVEYBOT_PUBLIC_URL")
    if name is not None:
        assert name.startswith("--developer")
    if public is None and name is None:
        assert url is not None
        base, host = teams.read_public_url(url)
        assert base.startswith("https://") and not base.endswith("/") and host in base.lower()
        details = teams.Details(APP_ID, base, host, teams.read_version(f"{major}.{minor}.{patch}"),
                                teams.read_developer(developer))
        assert problems(teams.manifest(details)) == []


@given(st.one_of(st.text(max_size=20), st.from_regex(r"[0-9]{1,4}(\.[0-9]{1,4}){0,3}", fullmatch=True)))
def test_a_version_is_accepted_exactly_when_the_schema_would_accept_it(text: str) -> None:
    need(SCHEMA.exists(), "the Teams manifest schema is not installed (npm ci --prefix tests/web)")
    message = refused(teams.read_version, text)
    assert (message is None) == bool(schema_pattern("semver").fullmatch(text))
    assert message is None or message.startswith("--app-version")


def test_the_package_is_three_files_of_fixed_date_and_mode() -> None:
    made = teams.package(teams.Details(APP_ID, PUBLIC_URL, "surveys.example.org", "1.0.0", "Surveybot"))
    assert made == teams.package(teams.Details(APP_ID, PUBLIC_URL, "surveys.example.org", "1.0.0", "Surveybot"))
    with zipfile.ZipFile(io.BytesIO(made)) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == ENTRIES and not any(i.is_dir() for i in infos)
    assert {(i.date_time, i.external_attr >> 16) for i in infos} == {((1980, 1, 1, 0, 0, 0), 0o100600)}

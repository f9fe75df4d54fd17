"""`wartezone privacy-sheet`: the demo's sheet in docs/ is what the command writes, a changed config
shows in it, no address, password or token ever does, German is German, every test it names exists,
and its reading of the API's settings agrees with the API's own."""

from __future__ import annotations

import ast
import copy
import os
import re
import subprocess
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.service import RETENTION_S
from api.settings import ENV_PREFIX, AuthSettings, ReadingsSettings, load_settings
from edge.privacy_sheet import (
    API_ENV_PREFIX,
    API_EVENTS_KEPT_DAYS,
    API_READINGS_RETENTION_DAYS,
    API_SESSION_MAX_AGE_S,
    MEASURES,
    Sources,
    T,
    api_facts,
    load_site,
    render,
    stack_facts,
)

REPO = Path(__file__).resolve().parents[2]
DEMO = ("-c", "examples/demo.yaml", "--api", "deploy/config/api.yaml", "--compose", "deploy/compose.yaml")
DESK = "desk-9Qv3xT7mLp2sKw8R"
LEAD = "lead-4Hn6bZc1Yr5jUe0F"
PASSWORD = "S3cret-camera-pass"
HOOK_SECRET = "hook-secret-7Wq2Lm9Xz4"
# Words of the English sheet that a German reader must not meet in the German one.
ENGLISH_WORDS = {
    "the", "and", "of", "with", "for", "who", "what", "where", "sees", "kept", "stored", "never",
    "frames", "memory", "picture", "share", "people", "counts", "camera", "cameras", "zone", "zones",
    "mask", "masks", "purpose", "retention", "controller", "rights", "token", "tokens", "reception",
    "lead", "desk", "loitering", "limit", "display", "installer", "measure", "sign", "entrance",
}  # fmt: skip


def wartezone(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command as a DPO runs it in a checkout, without any WARTEZONE_API__ variable of this shell."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(API_ENV_PREFIX)}
    return subprocess.run(
        [sys.executable, "-m", "edge", "privacy-sheet", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
        env=clean | (env or {}),
    )


def test_the_demo_sheet_in_docs_is_what_the_command_writes(tmp_path: Path) -> None:
    done = wartezone(*DEMO, "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr
    committed = REPO / "docs" / "privacy-sheet"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "demo.de.html",
        "demo.de.md",
        "demo.en.html",
        "demo.en.md",
    ]
    for written in tmp_path.iterdir():
        assert written.read_text(encoding="utf-8") == (committed / written.name).read_text(
            encoding="utf-8"
        ), (
            f"docs/privacy-sheet/{written.name} is out of date: run wartezone privacy-sheet {' '.join(DEMO)} "
            "-o docs/privacy-sheet"
        )


@pytest.fixture
def demo() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "examples" / "demo.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _sheet(data: dict[str, Any], tmp_path: Path, lang: str = "en") -> str:
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return render(Sources(config=load_site(path), config_path="site.yaml"), lang)  # type: ignore[arg-type]


def _new_camera(data: dict[str, Any]) -> None:
    data["cameras"].append(
        {
            "id": "counter-2",
            "source": {"type": "usb", "device": 0},
            "zones": [{"id": "bench", "name": "Bank am Fenster", "polygon": [[0, 0], [0.5, 0], [0.5, 0.5]]}],
        }
    )


def _renamed_zone(data: dict[str, Any]) -> None:
    data["cameras"][0]["zones"][0]["name"] = "Wartebereich Nord"


def _no_masks(data: dict[str, Any]) -> None:
    data["cameras"][0]["privacy_masks"] = []


def _metrics_everywhere(data: dict[str, Any]) -> None:
    data["metrics"]["host"] = "0.0.0.0"


def _region_zones(data: dict[str, Any]) -> None:
    data["detector"] = {"region": "zones"}


def _no_fixtures(data: dict[str, Any]) -> None:
    data["detector"] = {"fixtures": None}


def _a_room(data: dict[str, Any]) -> None:
    data["floor"] = {
        "rooms": [{"id": "halle", "name": "Wartehalle", "polygon": [[0, 0], [10, 0], [10, 8], [0, 8]]}]
    }
    pairs = [((0.1, 0.9), (1, 1)), ((0.9, 0.9), (9, 1)), ((0.9, 0.3), (9, 7)), ((0.1, 0.3), (1, 7))]
    data["cameras"][0]["floor_calibration"] = {"points": [{"image": i, "floor": f} for i, f in pairs]}


def _a_room_camera_without_zones(data: dict[str, Any]) -> None:
    _a_room(data)
    data["cameras"][0]["zones"] = []


@pytest.mark.parametrize(
    ("change", "present", "absent"),
    [
        (None, [], []),
        (
            _new_camera,
            [
                "### Camera counter-2",
                "a USB camera",
                "| `bench` | Bank am Fenster | 12 % | 10 minutes |",
                "2 camera(s)",
            ],
            ["1 camera(s)"],
        ),
        (_renamed_zone, ["| `path-west` | Wartebereich Nord | 14 % |"], ["Weg West"]),
        (_no_masks, ["No privacy masks."], ["mask 1 covers"]),
        (_region_zones, ["Only the area around the zones is analysed"], ["The whole picture outside"]),
        (
            _a_room,
            [
                "Positions on the floor plan",
                "(rooms: `halle`)",
                "someone only it saw up to 30 s (its `max_gap_s`)",
            ],
            [],
        ),
        (
            _a_room_camera_without_zones,
            [
                "No zones of its own: its people are counted only in the rooms its floor calibration "
                "reaches (`halle`)."
            ],
            ["| Zone | Display name |"],
        ),
        (_no_fixtures, [], ["a faint box but never a person", "until 1 minute after"]),
        (
            _metrics_everywhere,
            ["listens on 0.0.0.0:9464: reachable from the network"],
            ["this machine only; no"],
        ),
    ],
)
def test_a_config_change_shows_in_the_sheet(
    demo: dict[str, Any],
    tmp_path: Path,
    change: Callable[[dict[str, Any]], None] | None,
    present: list[str],
    absent: list[str],
) -> None:
    before = _sheet(demo, tmp_path)
    changed = copy.deepcopy(demo)
    if change is not None:
        change(changed)
    after = _sheet(changed, tmp_path)
    assert (after == before) == (change is None)
    for text in present:
        assert text in after and text not in before
    for text in absent:
        assert text in before and text not in after


def test_the_sheet_shows_no_address_password_or_token(demo: dict[str, Any], tmp_path: Path) -> None:
    demo["cameras"][0]["source"] = {
        "type": "rtsp",
        "url": f"rtsp://admin:{PASSWORD}@192.0.2.10:554/Streaming/Channels/101",
    }
    demo["cameras"].append(
        {
            "id": "hall",
            "source": {"type": "http", "url": "http://viewer:${HALL_PASSWORD}@cam-hall.example:8080/mjpg"},
            "zones": [{"id": "queue", "polygon": [[0, 0], [1, 0], [1, 1]]}],
        }
    )
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(demo), encoding="utf-8")
    api = tmp_path / "api.yaml"
    api.write_text(
        yaml.safe_dump(
            {
                "auth": {"desk_tokens": [DESK, DESK[::-1]], "lead_tokens": [LEAD]},
                "webhooks": [{"name": "tickets", "url": "https://hooks.example/in", "secret": HOOK_SECRET}],
                "input": {"targets": ["http://192.0.2.11:9464/metrics"]},
            }
        ),
        encoding="utf-8",
    )
    done = wartezone("-c", str(site), "--api", str(api), env={"HALL_PASSWORD": PASSWORD})
    assert done.returncode == 0, done.stderr
    assert "| 2 token(s) in the API's settings |" in done.stdout
    assert "| 2 Zugangsschlüssel in den Einstellungen des Dienstes |" in done.stdout
    assert "a network camera (RTSP)" in done.stdout and "eine Netzwerkkamera (HTTP, MJPEG)" in done.stdout
    assert "Webhook receivers: tickets" in done.stdout
    for secret in (
        PASSWORD,
        "admin",
        "viewer",
        "192.0.2",
        "cam-hall",
        "hooks.example",
        HOOK_SECRET,
        DESK,
        LEAD,
    ):
        assert secret not in done.stdout + done.stderr
    assert not re.search(r"(rtsp|https?)://", done.stdout)


def _words(markdown: str) -> set[str]:
    """The words a reader reads: code spans (ids, metric names, file names, options) left out."""
    prose = re.sub(r"`[^`]*`", " ", markdown)
    return {word.lower() for word in re.findall(r"[A-Za-zÄÖÜäöüß]+", prose)}


@pytest.mark.parametrize(
    "options", [(), ("--controller", "Stadt Musterstadt, Markt 1", "--contact", "ds@x.de")]
)
def test_the_german_sheet_has_no_english_words(options: tuple[str, ...]) -> None:
    done = wartezone(*DEMO, "--lang", "de", *options)
    assert done.returncode == 0, done.stderr
    assert _words(done.stdout) & ENGLISH_WORDS == set()
    # The list is the English sheet's: it would catch an untranslated sentence.
    english = wartezone(*DEMO, "--lang", "en", *options).stdout
    assert _words(english) >= ENGLISH_WORDS


def test_both_languages_say_the_same_things() -> None:
    assert T["de"].keys() == T["en"].keys()
    for key, text in T["en"].items():
        assert re.findall(r"\{\w+\}", text) == re.findall(r"\{\w+\}", T["de"][key]), key


@pytest.mark.parametrize("named", [test for _, tests in MEASURES for test in tests])
def test_every_test_the_sheet_names_exists(named: str) -> None:
    file, function = named.split("::")
    tree = ast.parse((REPO / file).read_text(encoding="utf-8"))
    functions = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    assert function in functions, f"{named}: no such test"


def test_the_api_defaults_are_the_apis_own() -> None:
    assert API_ENV_PREFIX == ENV_PREFIX
    assert ReadingsSettings.model_fields["retention_days"].default == API_READINGS_RETENTION_DAYS
    assert AuthSettings.model_fields["session_max_age_s"].default == API_SESSION_MAX_AGE_S
    assert RETENTION_S == API_EVENTS_KEPT_DAYS * 86400


@pytest.mark.parametrize(
    ("data", "environ"),
    [
        ({"auth": {"desk_tokens": [DESK], "lead_tokens": [LEAD]}}, {}),
        (
            {"auth": {"desk_tokens": [DESK], "lead_tokens": [LEAD]}, "readings": {"retention_days": 30}},
            {"WARTEZONE_API__READINGS__RETENTION_DAYS": "14"},
        ),
        (
            {"input": {"type": "prometheus", "url": "http://127.0.0.1:9090"}},
            {
                "WARTEZONE_API__AUTH__DESK_TOKENS": f'["{DESK}", "{DESK[::-1]}"]',
                "WARTEZONE_API__AUTH__LEAD_TOKENS": f'["{LEAD}"]',
                "WARTEZONE_API__AUTH__SESSION_MAX_AGE_S": "86400",
            },
        ),
    ],
)
def test_the_api_settings_are_read_as_the_api_reads_them(
    tmp_path: Path, data: dict[str, Any], environ: dict[str, str]
) -> None:
    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    facts, settings = api_facts(path, environ), load_settings(path, environ)
    assert facts.readings_retention_days == settings.readings.retention_days
    assert facts.desk_tokens == len(settings.auth.desk_tokens)
    assert facts.lead_tokens == len(settings.auth.lead_tokens)
    assert facts.session_max_age_s == settings.auth.session_max_age_s
    assert facts.stores_readings == (settings.input.type == "scrape")


def test_tokens_given_where_the_api_runs_are_said_so(tmp_path: Path) -> None:
    path = tmp_path / "api.yaml"
    path.write_text("{}", encoding="utf-8")
    facts = api_facts(path, {})
    assert (facts.desk_tokens, facts.lead_tokens, facts.readings_retention_days) == (None, None, 90)


@pytest.mark.parametrize(
    ("compose", "expected"),
    [
        (
            {},
            [
                "keeps them for its `--storage.tsdb.retention.time`, 15 days unless set",
                "| Prometheus | the counts of section 3, over time | as set up where they run",
                "| Grafana dashboards | the counts of section 3, as charts | as set up where they run",
            ],
        ),
        (
            {"services": {"prometheus": {"image": "prom/prometheus"}}},
            [
                "15 days unless set",
                "| Prometheus | the counts of section 3, over time | not published outside",
            ],
        ),
        (
            {
                "services": {
                    "prometheus": {"command": ["--storage.tsdb.retention.time=1y"], "ports": ["9090:9090"]},
                    "grafana": {
                        "environment": ["GF_AUTH_ANONYMOUS_ENABLED=true"],
                        "ports": [{"target": 3000, "published": 3000, "host_ip": "127.0.0.1"}],
                    },
                }
            },
            [
                "Prometheus keeps them for 1 year (`--storage.tsdb.retention.time` in `compose.yaml`)",
                "| Prometheus | the counts of section 3, over time | published on the network |",
                "anonymous access on, sign-up off; published on this machine only (127.0.0.1)",
                "for 1 year and 90 days. No images",
            ],
        ),
    ],
)
def test_prometheus_and_grafana_as_the_compose_file_starts_them(
    tmp_path: Path, compose: dict[str, Any], expected: list[str]
) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(compose), encoding="utf-8")
    api = tmp_path / "api.yaml"
    api.write_text("{}", encoding="utf-8")
    sheet = render(
        Sources(
            config=load_site(REPO / "examples" / "demo.yaml"),
            config_path="site.yaml",
            api=api_facts(api, {}),
            api_path="api.yaml",
            stack=stack_facts(path),
            compose_path="compose.yaml",
        ),
        "en",
    )
    for text in expected:
        assert text in sheet


@pytest.mark.parametrize(
    ("args", "files", "message"),
    [
        (("-o", "{tmp}/sheet.md"), {}, "-o: --lang both writes several files: name a folder"),
        (("--lang", "de", "-o", "{tmp}/sheet.txt"), {}, "-o: a folder, or a file ending in .md or .html"),
        (("--api", "{tmp}/missing.yaml"), {}, "--api: cannot read"),
        (
            ("--api", "{tmp}/api.yaml"),
            {"api.yaml": "readings: {retention_days: soon}"},
            "--api readings.retention_days: must be a whole number above 0, got 'soon'",
        ),
        (
            ("--api", "{tmp}/api.yaml"),
            {"api.yaml": "auth: {session_max_age_s: -5}"},
            "--api auth.session_max_age_s: must be a whole number above 0, got -5",
        ),
        (("--compose", "{tmp}/c.yaml"), {"c.yaml": "services: [1]"}, "--compose services: must be a mapping"),
        (("--api", "{tmp}/api.yaml"), {"api.yaml": "auth: {desk_tokens: ["}, "not valid YAML"),
    ],
)
def test_bad_input_is_named_and_exits_2(
    tmp_path: Path, args: tuple[str, ...], files: dict[str, str], message: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    done = wartezone("-c", "examples/demo.yaml", *(a.format(tmp=tmp_path) for a in args))
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_one_language_into_one_file(tmp_path: Path) -> None:
    done = wartezone("-c", "examples/demo.yaml", "--lang", "de", "-o", str(tmp_path / "blatt.md"))
    assert done.returncode == 0, done.stderr
    assert (
        (tmp_path / "blatt.md").read_text(encoding="utf-8").startswith("# Datenschutzblatt: Standort demo\n")
    )


class _Tags(HTMLParser):
    """The open elements, to find one left open or closed out of order; and the text."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.text: list[str] = []
        self.tables: list[list[int]] = []  # per table, per row, its cells

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        if tag == "tr":
            self.tables[-1].append(0)
        if tag in ("td", "th"):
            self.tables[-1][-1] += 1
        if tag not in ("meta", "br"):  # the void elements the page has
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open.pop() == tag, f"</{tag}> closes nothing open"

    def handle_data(self, data: str) -> None:
        if not self.open or self.open[-1] not in ("style", "title"):
            self.text.append(data)


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_html_sheet_is_whole_and_says_what_the_markdown_says(
    demo: dict[str, Any], tmp_path: Path, lang: str
) -> None:
    demo["cameras"][0]["zones"][0]["name"] = "<b>Warten & Sitzen</b> | `x`"
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(demo), encoding="utf-8")
    done = wartezone("-c", str(site), "--lang", lang, "-o", str(tmp_path / "sheet.html"))
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "sheet.html").read_text(encoding="utf-8")
    tags = _Tags()
    tags.feed(page)
    assert tags.open == []
    assert [set(rows) for rows in tags.tables] == [{3}, {2}, {3}, {4}, {2}]  # every row whole
    assert "&lt;b&gt;Warten &amp; Sitzen&lt;/b&gt; | <code>x</code>" in page and "<b>" not in page
    markdown = wartezone("-c", str(site), "--lang", lang).stdout
    assert _words(" ".join(tags.text)) == _words(re.sub(r"`|\*\*|<br>", " ", markdown))

"""`wartezone privacy-sheet`: the data-protection sheet of a site, for its data-protection officer.

Written from the configuration alone (the site's YAML, optionally the API's settings and the compose
file that starts Prometheus and Grafana), in German and English: purpose, what is processed and
what is kept for how long, who sees what, where each camera looks, the measures with the tests
that prove them, and the text of an information sign (Art. 13 GDPR). Nothing in it is kept by hand,
so it is generated again after every change of those files. It never shows a camera's address,
a password or a token.

edge and api do not import each other: the API's settings are read here with yaml alone, for the
few facts the sheet needs; their defaults are pinned against api.settings by a test.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from edge.config import CameraConfig, Config, ConfigError, parse_config, room_cameras
from edge.zones.accounting import MAX_PEOPLE_PER_ZONE
from edge.zones.fixtures import FIXTURE_FORGET_S, MAX_PLACES
from edge.zones.geometry import polygon_area
from wartezone_contract import (
    ZONE_DWELL,
    ZONE_ENTRIES,
    ZONE_EXITS,
    ZONE_INFO,
    ZONE_LABELS,
    ZONE_LOITERING,
    ZONE_LONGEST_DWELL,
    ZONE_OCCUPANCY,
)

Language = Literal["de", "en"]
LANGUAGES: tuple[Language, ...] = ("de", "en")

# The API's defaults where its settings file says nothing (docs/integration.md "Settings"; pinned by a test
# against api.settings and api.service, which edge may not import).
API_ENV_PREFIX = "WARTEZONE_API__"
API_READINGS_RETENTION_DAYS = 90
API_EVENTS_KEPT_DAYS = 90  # delivered webhook events (api.service.RETENTION_S)
API_SESSION_MAX_AGE_S = 30 * 86400
PROMETHEUS_DEFAULT_RETENTION = "15d"  # Prometheus' own default of --storage.tsdb.retention.time
RETENTION_FLAG = "--storage.tsdb.retention.time="

# Each measure and the tests that prove it (file::function; a test checks that each one exists).
MEASURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "frames_in_memory",
        (
            "tests/edge/test_privacy.py::test_service_writes_nothing_listens_once_and_labels_only_aggregates",
            "tests/edge/test_privacy.py::test_edge_run_serves_no_image_at_any_path",
        ),
    ),
    (
        "masks",
        (
            "tests/edge/test_pipeline.py::test_the_detector_never_sees_masked_pixels",
            "tests/edge/test_pipeline.py::test_privacy_mask_blanks_only_the_polygons",
        ),
    ),
    (
        "tracks_bounded",
        (
            "tests/edge/zones/test_accounting.py::test_per_person_state_is_bounded_dropping_the_longest_unseen",
        ),
    ),
    ("replay", ("tests/edge/test_privacy.py::test_replay_writes_only_its_timeline_and_chart",)),
    (
        "setup_picture",
        (
            "tests/edge/test_privacy.py::test_setup_writes_only_the_yaml_and_its_backup_and_shows_pictures_only_with_its_token",
            "tests/edge/setup/test_server.py::test_without_the_token_every_route_answers_401_and_no_picture",
            "tests/edge/setup/test_server.py::test_the_picture_blacks_out_the_masks_and_pixelates_every_person",
            "tests/edge/setup/test_picture.py::test_in_the_served_picture_no_face_is_found_and_no_face_matches",
        ),
    ),
    (
        "api_counts_only",
        (
            "tests/api/test_api_http.py::test_storage_holds_counts_and_times_only",
            "tests/api/test_api_readings.py::test_readings_are_deleted_after_the_retention",
            "tests/api/test_api_sessions.py::test_the_database_holds_hashes_of_ids_and_tokens_only",
        ),
    ),
    ("roles", ("tests/api/test_api_http.py::test_roles",)),
    ("sheet", ("tests/edge/test_privacy_sheet.py::test_the_sheet_shows_no_address_password_or_token",)),
)


@dataclass(frozen=True, slots=True)
class ApiFacts:
    """What the sheet says of the staffing-alert API, from its settings file and the environment."""

    readings_retention_days: int
    stores_readings: bool  # only where it scrapes the edge itself; reading Prometheus it stores none
    desk_tokens: int | None  # None: not in the file nor the environment here (given where it runs)
    lead_tokens: int | None
    webhooks: tuple[str, ...]  # their names; never their addresses or secrets
    session_max_age_s: int


@dataclass(frozen=True, slots=True)
class StackFacts:
    """What the compose file says of Prometheus and Grafana."""

    prometheus: bool  # the file starts one
    prometheus_retention: str | None  # a Prometheus duration (90d); None: Prometheus' default
    prometheus_loopback: bool | None  # published on 127.0.0.1 only; None: not published
    grafana_anonymous: bool | None  # None: no Grafana in the file
    grafana_sign_up: bool | None
    grafana_loopback: bool | None


@dataclass(frozen=True, slots=True)
class Sources:
    """The files (as named on the command line) and values the sheet is made from."""

    config: Config
    config_path: str
    api: ApiFacts | None = None
    api_path: str | None = None
    stack: StackFacts | None = None
    compose_path: str | None = None
    controller: str | None = None
    contact: str | None = None


# -- reading the configuration ------------------------------------------------------------------


class _AnyVariable(Mapping[str, str]):
    """Every ${VAR} of a camera URL is 'set': the sheet needs no credentials and shows no URL."""

    def __getitem__(self, key: str) -> str:
        return "***"

    def __contains__(self, key: object) -> bool:
        return True

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0


def _read_yaml(path: Path, option: str) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError([(option, f"cannot read {path}: {error.strerror}")]) from None
    except yaml.YAMLError as error:
        raise ConfigError([(option, f"{path} is not valid YAML: {error}")]) from None


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError([(where, f"must be a mapping, got {type(value).__name__}")])
    return value


def load_site(path: Path) -> Config:
    """The site's config, validated as `edge run` does, without needing its URLs' ${VAR}s set."""
    return parse_config(_read_yaml(path, "-c"), path.resolve().parent, _AnyVariable())


def api_facts(path: Path, environ: Mapping[str, str]) -> ApiFacts:
    """The facts of the API's settings file, each overlaid by its WARTEZONE_API__* variable as the
    API does; only what the sheet needs is read, and no token is kept, only how many."""
    data = _mapping(_read_yaml(path, "--api"), "--api")
    auth = _mapping(data.get("auth"), "--api auth")
    readings = _mapping(data.get("readings"), "--api readings")
    source = _mapping(data.get("input"), "--api input")
    days = _overlaid(environ, "readings.retention_days", readings.get("retention_days"))
    max_age = _overlaid(environ, "auth.session_max_age_s", auth.get("session_max_age_s"))
    webhooks = data.get("webhooks") or []
    if not isinstance(webhooks, list):
        raise ConfigError([("--api webhooks", "must be a list")])
    kind = _overlaid(environ, "input.type", source.get("type")) or "scrape"
    return ApiFacts(
        readings_retention_days=_whole(days, "readings.retention_days", API_READINGS_RETENTION_DAYS),
        stores_readings=kind == "scrape",
        desk_tokens=_count(_overlaid(environ, "auth.desk_tokens", auth.get("desk_tokens")), "desk_tokens"),
        lead_tokens=_count(_overlaid(environ, "auth.lead_tokens", auth.get("lead_tokens")), "lead_tokens"),
        webhooks=tuple(str(_mapping(w, "--api webhooks[]").get("name", "?")) for w in webhooks),
        session_max_age_s=_whole(max_age, "auth.session_max_age_s", API_SESSION_MAX_AGE_S),
    )


def _overlaid(environ: Mapping[str, str], path: str, value: Any) -> Any:
    """The environment's value for a settings path (JSON for lists), else the file's."""
    raw = environ.get(API_ENV_PREFIX + path.upper().replace(".", "__"))
    if raw is None:
        return value
    if raw.strip()[:1] in ("[", "{"):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            raise ConfigError([(API_ENV_PREFIX + path.upper(), "not valid JSON")]) from None
    return raw


def _whole(value: Any, path: str, default: int) -> int:
    """A positive whole number of the settings (a file's int, an environment's digits), or the default."""
    if value is None:
        return default
    if (
        isinstance(value, bool)
        or not isinstance(value, int | str)
        or not str(value).isdigit()
        or int(value) < 1
    ):
        raise ConfigError([(f"--api {path}", f"must be a whole number above 0, got {value!r}")])
    return int(value)


def _count(tokens: Any, name: str) -> int | None:
    if tokens is None:
        return None
    if not isinstance(tokens, list):
        raise ConfigError([(f"--api auth.{name}", "must be a list of tokens")])
    return len(tokens)


def stack_facts(path: Path) -> StackFacts:
    """Prometheus' retention and who reaches Prometheus and Grafana, from a compose file."""
    services = _mapping(
        _mapping(_read_yaml(path, "--compose"), "--compose").get("services"), "--compose services"
    )
    prometheus = _mapping(services.get("prometheus"), "--compose services.prometheus")
    grafana = _mapping(services.get("grafana"), "--compose services.grafana")
    command = prometheus.get("command") or []
    if isinstance(command, str):
        command = command.split()
    retention = next(
        (str(a)[len(RETENTION_FLAG) :] for a in command if str(a).startswith(RETENTION_FLAG)), None
    )
    environment = grafana.get("environment") or {}
    if isinstance(environment, list):  # ["KEY=value", ...]
        environment = dict(str(item).partition("=")[::2] for item in environment)
    flags = {
        str(k): str(v).lower() == "true" for k, v in _mapping(environment, "grafana.environment").items()
    }
    return StackFacts(
        prometheus=bool(prometheus),
        prometheus_retention=retention,
        prometheus_loopback=_loopback(prometheus.get("ports")),
        grafana_anonymous=flags.get("GF_AUTH_ANONYMOUS_ENABLED", False) if grafana else None,
        grafana_sign_up=flags.get("GF_USERS_ALLOW_SIGN_UP", False) if grafana else None,
        grafana_loopback=_loopback(grafana.get("ports")),
    )


def _loopback(ports: Any) -> bool | None:
    """Whether every published port is bound to 127.0.0.1 (None: nothing published)."""
    if not ports:
        return None

    def local(port: Any) -> bool:
        if isinstance(port, dict):  # the long syntax
            return port.get("host_ip") == "127.0.0.1"
        return str(port).startswith("127.0.0.1:")

    return all(local(port) for port in ports)


# -- words ----------------------------------------------------------------------------------------

_UNITS: dict[Language, dict[str, tuple[str, str]]] = {
    "en": {
        "y": ("year", "years"),
        "w": ("week", "weeks"),
        "d": ("day", "days"),
        "h": ("hour", "hours"),
        "m": ("minute", "minutes"),
        "s": ("second", "seconds"),
    },
    "de": {
        "y": ("Jahr", "Jahre"),
        "w": ("Woche", "Wochen"),
        "d": ("Tag", "Tage"),
        "h": ("Stunde", "Stunden"),
        "m": ("Minute", "Minuten"),
        "s": ("Sekunde", "Sekunden"),
    },
}


def _duration(text: str, lang: Language) -> str:
    """A Prometheus duration (90d, 2w, 1y6m is rare: shown as written) in words."""
    found = re.fullmatch(r"(\d+)([ywdhms])", text)
    if found is None:
        return text
    n, unit = int(found[1]), found[2]
    one, many = _UNITS[lang][unit]
    return f"{n} {one if n == 1 else many}"


def _seconds(value: float, lang: Language) -> str:
    """Seconds as the largest whole unit (600 s: 10 minutes)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if value >= size and value % size == 0:
            return _duration(f"{int(value // size)}{unit}", lang)
    number = f"{value:g}".replace(".", "," if lang == "de" else ".")
    return f"{number} s"


def _percent(share: float, lang: Language) -> str:
    if 0 < share < 0.005:
        return "< 1 %" if lang == "en" else "unter 1 %"
    return f"{share * 100:.0f} %"


# The sheet's text; {placeholders} are filled in from the facts. Both languages have the same keys.
T: dict[Language, dict[str, str]] = {
    "en": {
        "title": "Data-protection sheet: site {site}",
        "generated": "Generated by `wartezone privacy-sheet` from {sources}. Nothing in it is written by "
        "hand: generate it again after every change of these files.",
        "and": "and",
        "purpose_h": "1. Purpose",
        "purpose": "Wartezone counts how many people wait in the waiting zones of this site, how many enter "
        "and leave them and how long they stay, so that reception and the branch lead can open another "
        "counter in time. It identifies nobody: it keeps counts per zone, never a picture or anything "
        "about a person.",
        "processed_h": "2. What is processed, and for how long",
        "col_what": "What",
        "col_where": "Where",
        "col_how_long": "How long",
        "frames": "Video frames of {cameras} camera(s), {fps}",
        "frames_where": "in the memory of the edge process only",
        "frames_long": "until the next frame is analysed; never written to disk, never sent",
        "detections": "Person detections (box and body keypoints in one frame)",
        "in_memory": "in memory",
        "detections_long": "discarded with the frame",
        "tracks": "Short-lived tracks (to measure how long someone stays in a zone)",
        "tracks_long": "dropped {lost} after the person was last seen, a visit {grace} after leaving "
        "the zone; at most {most} per zone",
        "floor": "Positions on the floor plan, to count each person once in a room several cameras see "
        "(rooms: {rooms})",
        "floor_long": "for one frame; a room's people are tracked as above, and while a camera of the "
        "room is down, someone only it saw up to {gap} (its `max_gap_s`)",
        "fixtures": "Places in a camera's picture where it keeps finding a faint box but never a person "
        "(a bollard), so that the thing is not counted",
        "fixtures_long": "until {forget} after the last such box, at most {places} per camera",
        "fps_each": "{camera}: {fps} frames a second",
        "kept_h": "3. What is kept",
        "kept_intro": "Counts per zone only, labelled {labels}, exported by the edge at `/metrics`:",
        "col_figure": "Figure",
        "col_metric": "Metric",
        "m_occupancy": "People in the zone now",
        "m_entries": "Entries into the zone (counter)",
        "m_exits": "Exits from the zone (counter)",
        "m_dwell": "Completed stays, as a histogram of durations",
        "m_longest": "Longest current stay",
        "m_loitering": "People in the zone longer than its limit",
        "m_info": "The zone's display name (configuration text)",
        "where_kept": "Where these are kept:",
        "prom_kept": "Prometheus keeps them for {retention} (`--storage.tsdb.retention.time` in {file}).",
        "prom_default": "Prometheus keeps them for its `--storage.tsdb.retention.time`, {retention} unless "
        "set where Prometheus is started (deploy/compose.yaml sets it).",
        "api_readings": "The staffing-alert API stores per zone and minute the first, mean and peak "
        "count, the entries and exits, and deletes them after {days} (`readings.retention_days`).",
        "api_no_readings": "The staffing-alert API reads Prometheus and stores no counts of its own.",
        "api_alerts": "The API's alerts (zone, times, peak count, acknowledged by the role desk or lead) "
        "are kept without automatic deletion; its events (what webhooks are sent) are deleted {events} "
        "after they happened, once delivered; page logins are kept as hashes only, at most {sessions}.",
        "api_unknown": "The staffing-alert API, where one is used, stores per zone and minute the mean and "
        "peak count, entries and exits for `readings.retention_days` of its settings ({default} unless "
        "set); generate this sheet with `--api` to name its settings.",
        "who_h": "4. Who sees what",
        "col_who": "Who",
        "col_sees": "Sees",
        "col_how": "Access",
        "desk": "Reception (role `desk`)",
        "desk_sees": "state and count of each zone, alerts; acknowledges alerts",
        "lead": "Branch lead (role `lead`)",
        "lead_sees": "everything reception sees; sets the alert rules; the report per zone and hour",
        "tokens": "{n} token(s) in the API's settings",
        "tokens_env": "tokens given to the API where it runs (not in its settings file)",
        "api_unknown_roles": "the API's tokens (generate with `--api` to count them)",
        "webhooks": "Webhook receivers: {names}",
        "webhooks_sees": "alert events: zone, times, counts",
        "webhooks_how": "signed with a shared secret",
        "metrics_who": "Whoever reaches the edge's `/metrics`",
        "metrics_sees": "the counts of section 3",
        "metrics_how": "listens on {host}:{port}: {reach}; no login",
        "this_box": "this machine only",
        "network": "reachable from the network",
        "prometheus": "Prometheus",
        "prometheus_sees": "the counts of section 3, over time",
        "grafana": "Grafana dashboards",
        "grafana_sees": "the counts of section 3, as charts",
        "published_local": "published on this machine only (127.0.0.1)",
        "published_network": "published on the network",
        "not_published": "not published outside its containers",
        "grafana_accounts": "Grafana accounts; anonymous access {anon}, sign-up {signup}",
        "on": "on",
        "off": "off",
        "stack_unknown": "as set up where they run (generate with `--compose` to name it)",
        "installer": "Installer (`wartezone setup`)",
        "installer_sees": "each camera's current picture, every person pixelated, masks black",
        "installer_how": "only while the installer runs it, on 127.0.0.1 with a token made for the run",
        "cameras_h": "5. Where each camera looks",
        "camera_h": "Camera {camera}",
        "source": "Source: {source}; analysed {fps} frames a second.",
        "src_file": "a video file",
        "src_rtsp": "a network camera (RTSP)",
        "src_http": "a network camera (HTTP, MJPEG)",
        "src_usb": "a USB camera",
        "col_zone": "Zone",
        "col_name": "Display name",
        "col_share": "Share of the picture",
        "col_limit": "Loitering limit",
        "region_frame": "The whole picture outside the masks is analysed; people are counted only inside "
        "the zones.",
        "region_zones": "Only the area around the zones is analysed; people are counted only inside them.",
        "masks": "Privacy masks, blacked out before any analysis: {masks}.",
        "mask_item": "mask {n} covers {share}",
        "no_masks": "No privacy masks.",
        "no_zones": "No zones of its own: its people are counted only in the rooms its floor calibration "
        "reaches ({rooms}).",
        "measures_h": "6. Measures and the tests that prove them",
        "col_measure": "Measure",
        "col_tests": "Tests (run with `pytest`)",
        "frames_in_memory": "Frames stay in the edge's memory: it writes no file, listens only on its "
        "metrics port, serves no picture at any address, and every label it exports is a configured site, "
        "camera or zone id.",
        "masks_measure": "Privacy masks are black before the detector sees the frame.",
        "tracks_bounded": "What is held per person is bounded and dropped when the person leaves.",
        "replay": "A replay of a video writes only its counts over time and their chart.",
        "setup_picture": "The installer's picture is shown only on 127.0.0.1 with the run's token, every "
        "person pixelated (no face is found in it) and the masks black; nothing but the YAML file is "
        "written.",
        "api_counts_only": "The API's database holds counts, times, zone ids and roles only; stored "
        "minutes are deleted after their retention; logins are stored as hashes.",
        "roles": "Without a token nothing is shown; a desk token cannot change rules.",
        "sheet": "This sheet shows no camera address, password or token.",
        "sign_h": "7. Information sign for the entrance (Art. 13 GDPR)",
        "sign_title": "Counting in this waiting area",
        "sign_what": "Cameras in this area count how many people are waiting, so that we can open "
        "another counter in time. They record no images: pictures are analysed in the device's memory "
        "and discarded at once; nobody is identified.",
        "sign_controller": "Controller: {controller}",
        "sign_contact": "Data-protection officer: {contact}",
        "sign_basis": "Legal basis: {basis}",
        "basis": "Art. 6(1)(e) GDPR (a task in the public interest) with [the law that gives this task] - "
        "the usual basis for a public body, to be confirmed by the data-protection officer",
        "sign_kept": "Kept: only the number of people per zone, for {retention}. No images, no "
        "recordings, nothing about you.",
        "sign_rights": "Your rights: access (Art. 15), erasure (Art. 17), restriction (Art. 18) and "
        "objection (Art. 21 GDPR), and complaint to a supervisory authority (Art. 77 GDPR). As the counts "
        "cannot be linked to anyone, we cannot find you in them (Art. 11 GDPR).",
        "controller_missing": "[name and address of the controller: `--controller`]",
        "contact_missing": "[contact of the data-protection officer: `--contact`]",
        "retention_unknown": "[retention, see section 3]",
    },
    "de": {
        "title": "Datenschutzblatt: Standort {site}",
        "generated": "Erzeugt mit `wartezone privacy-sheet` aus {sources}. Nichts darin ist von Hand "
        "geschrieben: nach jeder Änderung dieser Dateien neu erzeugen.",
        "and": "und",
        "purpose_h": "1. Zweck",
        "purpose": "Wartezone zählt, wie viele Personen in den Wartebereichen dieses Standorts warten, wie "
        "viele sie betreten und verlassen und wie lange sie bleiben, damit Empfang und Leitung "
        "rechtzeitig einen weiteren Schalter öffnen können. Es erkennt niemanden: Gespeichert werden "
        "Zahlen je Bereich, nie ein Bild oder eine Angabe zu einer Person.",
        "processed_h": "2. Was verarbeitet wird, und wie lange",
        "col_what": "Was",
        "col_where": "Wo",
        "col_how_long": "Wie lange",
        "frames": "Videobilder von {cameras} Kamera(s), {fps}",
        "frames_where": "nur im Arbeitsspeicher des Edge-Prozesses",
        "frames_long": "bis das nächste Bild ausgewertet ist; nie auf Datenträger geschrieben, nie "
        "übertragen",
        "detections": "Erkannte Personen (Rahmen und Körperpunkte in einem Bild)",
        "in_memory": "im Arbeitsspeicher",
        "detections_long": "verworfen mit dem Bild",
        "tracks": "Kurzlebige Spuren (um zu messen, wie lange jemand in einem Bereich bleibt)",
        "tracks_long": "gelöscht {lost}, nachdem die Person zuletzt gesehen wurde, ein Aufenthalt {grace} "
        "nach Verlassen des Bereichs; höchstens {most} je Bereich",
        "floor": "Positionen auf dem Grundriss, um in einem Raum, den mehrere Kameras sehen, jede Person "
        "einmal zu zählen (Räume: {rooms})",
        "floor_long": "ein Bild lang; die Personen eines Raums werden wie oben verfolgt, und solange eine "
        "Kamera des Raums ausfällt, wer nur von ihr gesehen wurde, bis zu {gap} (ihr `max_gap_s`)",
        "fixtures": "Stellen im Bild einer Kamera, an denen sie immer wieder ein schwaches Kästchen, aber "
        "nie eine Person findet (ein Poller), damit das Ding nicht mitgezählt wird",
        "fixtures_long": "bis {forget} nach dem letzten solchen Kästchen, höchstens {places} je Kamera",
        "fps_each": "{camera}: {fps} Bilder je Sekunde",
        "kept_h": "3. Was gespeichert wird",
        "kept_intro": "Nur Zahlen je Bereich, gekennzeichnet mit {labels}, vom Edge unter `/metrics` "
        "bereitgestellt:",
        "col_figure": "Größe",
        "col_metric": "Metrik",
        "m_occupancy": "Personen jetzt im Bereich",
        "m_entries": "Zugänge in den Bereich (Zähler)",
        "m_exits": "Abgänge aus dem Bereich (Zähler)",
        "m_dwell": "Beendete Aufenthalte, als Häufigkeitsverteilung der Dauer",
        "m_longest": "Längster laufender Aufenthalt",
        "m_loitering": "Personen, die länger als die Grenze des Bereichs darin sind",
        "m_info": "Anzeigename des Bereichs (Konfigurationstext)",
        "where_kept": "Wo sie gespeichert werden:",
        "prom_kept": "Prometheus speichert sie {retention} lang (`--storage.tsdb.retention.time` in {file}).",
        "prom_default": "Prometheus speichert sie so lange, wie `--storage.tsdb.retention.time` beim Start "
        "von Prometheus sagt, ohne Angabe {retention} (deploy/compose.yaml setzt den Wert).",
        "api_readings": "Der Alarmdienst (API) speichert je Bereich und Minute die erste, mittlere und "
        "höchste Zahl, die Zugänge und Abgänge, und löscht sie, wenn sie {days} alt sind "
        "(`readings.retention_days`).",
        "api_no_readings": "Der Alarmdienst (API) liest Prometheus und speichert selbst keine Zahlen.",
        "api_alerts": "Die Alarme des Dienstes (Bereich, Zeiten, höchste Zahl, gesehen von der Rolle Empfang "
        "oder Leitung) werden ohne automatische Löschung aufbewahrt; seine Ereignisse (was Webhooks "
        "gesendet wird) werden {events} nach ihrem Eintreten gelöscht, sobald sie zugestellt sind; "
        "Anmeldungen der Seiten nur als Hashwerte, höchstens {sessions}.",
        "api_unknown": "Der Alarmdienst (API), wo er genutzt wird, speichert je Bereich und Minute die "
        "mittlere und höchste Zahl, Zugänge und Abgänge für `readings.retention_days` seiner "
        "Einstellungen (ohne Angabe {default}); mit `--api` erzeugt, nennt dieses Blatt seine Einstellungen.",
        "who_h": "4. Wer was sieht",
        "col_who": "Wer",
        "col_sees": "Sieht",
        "col_how": "Zugang",
        "desk": "Empfang (Rolle `desk`)",
        "desk_sees": "Lage und Zahl je Bereich, Alarme; bestätigt Alarme",
        "lead": "Leitung (Rolle `lead`)",
        "lead_sees": "alles, was der Empfang sieht; legt die Alarmregeln fest; Bericht je Bereich und Stunde",
        "tokens": "{n} Zugangsschlüssel in den Einstellungen des Dienstes",
        "tokens_env": "Zugangsschlüssel, die dem Dienst dort gegeben werden, wo er läuft (nicht in seiner "
        "Einstellungsdatei)",
        "api_unknown_roles": "die Zugangsschlüssel des Dienstes (mit `--api` erzeugt, werden sie gezählt)",
        "webhooks": "Empfänger von Webhooks: {names}",
        "webhooks_sees": "Alarmereignisse: Bereich, Zeiten, Zahlen",
        "webhooks_how": "signiert mit einem gemeinsamen Geheimnis",
        "metrics_who": "Wer `/metrics` des Edge erreicht",
        "metrics_sees": "die Zahlen aus Abschnitt 3",
        "metrics_how": "wartet auf {host}:{port}: {reach}; ohne Anmeldung",
        "this_box": "nur dieser Rechner",
        "network": "aus dem Netz erreichbar",
        "prometheus": "Prometheus",
        "prometheus_sees": "die Zahlen aus Abschnitt 3, im Zeitverlauf",
        "grafana": "Grafana-Übersichten",
        "grafana_sees": "die Zahlen aus Abschnitt 3, als Diagramme",
        "published_local": "nur auf diesem Rechner freigegeben (127.0.0.1)",
        "published_network": "im Netz freigegeben",
        "not_published": "außerhalb seiner Container nicht freigegeben",
        "grafana_accounts": "Konten in Grafana; anonymer Zugang {anon}, Selbstregistrierung {signup}",
        "on": "an",
        "off": "aus",
        "stack_unknown": "wie dort eingerichtet, wo sie laufen (mit `--compose` erzeugt, nennt dieses Blatt "
        "es)",
        "installer": "Einrichtung (`wartezone setup`)",
        "installer_sees": "das aktuelle Bild jeder Kamera, jede Person verpixelt, Masken schwarz",
        "installer_how": "nur während der Einrichtung, auf 127.0.0.1 mit einem für diesen Lauf erzeugten "
        "Schlüssel",
        "cameras_h": "5. Wohin jede Kamera blickt",
        "camera_h": "Kamera {camera}",
        "source": "Quelle: {source}; ausgewertet werden {fps} Bilder je Sekunde.",
        "src_file": "eine Videodatei",
        "src_rtsp": "eine Netzwerkkamera (RTSP)",
        "src_http": "eine Netzwerkkamera (HTTP, MJPEG)",
        "src_usb": "eine USB-Kamera",
        "col_zone": "Bereich",
        "col_name": "Anzeigename",
        "col_share": "Anteil am Bild",
        "col_limit": "Verweildauer-Grenze",
        "region_frame": "Ausgewertet wird das ganze Bild außerhalb der Masken; gezählt werden Personen nur "
        "in den Bereichen.",
        "region_zones": "Ausgewertet wird nur die Umgebung der Bereiche; gezählt werden Personen nur darin.",
        "masks": "Datenschutzmasken, vor jeder Auswertung geschwärzt: {masks}.",
        "mask_item": "Maske {n} deckt {share} ab",
        "no_masks": "Keine Datenschutzmasken.",
        "no_zones": "Keine eigenen Bereiche: Personen werden nur in den Räumen gezählt, die ihre "
        "Bodenkalibrierung erreicht ({rooms}).",
        "measures_h": "6. Maßnahmen und die Tests, die sie belegen",
        "col_measure": "Maßnahme",
        "col_tests": "Tests (mit `pytest` auszuführen)",
        "frames_in_memory": "Bilder bleiben im Arbeitsspeicher des Edge: Er schreibt keine Datei, wartet "
        "nur auf seinem Metrik-Port, liefert unter keiner Adresse ein Bild, und jede Kennzeichnung, die er "
        "ausgibt, ist eine konfigurierte Kennung von Standort, Kamera oder Bereich.",
        "masks_measure": "Datenschutzmasken sind schwarz, bevor die Erkennung das Bild sieht.",
        "tracks_bounded": "Was je Person gehalten wird, ist begrenzt und wird gelöscht, wenn die Person "
        "geht.",
        "replay": "Die Wiedergabe eines Videos schreibt nur die Zahlen im Zeitverlauf und ihr Diagramm.",
        "setup_picture": "Das Bild der Einrichtung wird nur auf 127.0.0.1 mit dem Schlüssel des Laufs "
        "gezeigt, jede Person verpixelt (kein Gesicht wird darin gefunden), die Masken schwarz; geschrieben "
        "wird nur die YAML-Datei.",
        "api_counts_only": "Die Datenbank des Dienstes enthält nur Zahlen, Zeiten, Kennungen von Bereichen "
        "und Rollen; gespeicherte Minuten werden nach ihrer Frist gelöscht; Anmeldungen nur als Hashwerte.",
        "roles": "Ohne Zugangsschlüssel wird nichts gezeigt; mit dem Schlüssel des Empfangs lassen sich "
        "keine Regeln ändern.",
        "sheet": "Dieses Blatt zeigt keine Kameraadresse, kein Passwort und keinen Zugangsschlüssel.",
        "sign_h": "7. Hinweisschild für den Eingang (Art. 13 DSGVO)",
        "sign_title": "Zählung in diesem Wartebereich",
        "sign_what": "Kameras in diesem Bereich zählen, wie viele Personen warten, damit wir rechtzeitig "
        "einen weiteren Schalter öffnen können. Sie zeichnen keine Bilder auf: Die Bilder werden im "
        "Arbeitsspeicher des Geräts ausgewertet und sofort verworfen; niemand wird erkannt.",
        "sign_controller": "Verantwortlich: {controller}",
        "sign_contact": "Kontakt zur oder zum Datenschutzbeauftragten: {contact}",
        "sign_basis": "Rechtsgrundlage: {basis}",
        "basis": "Art. 6 Abs. 1 lit. e DSGVO (Aufgabe im öffentlichen Interesse) in Verbindung mit [dem "
        "Gesetz, das diese Aufgabe zuweist] - die übliche Grundlage einer öffentlichen Stelle, von der oder "
        "dem Datenschutzbeauftragten zu bestätigen",
        "sign_kept": "Gespeichert: nur die Zahl der Personen je Bereich, {retention} lang. Keine Bilder, "
        "keine Aufzeichnungen, nichts über Sie.",
        "sign_rights": "Ihre Rechte: Auskunft (Art. 15), Löschung (Art. 17), Einschränkung (Art. 18) und "
        "Widerspruch (Art. 21 DSGVO) sowie Beschwerde bei einer Aufsichtsbehörde (Art. 77 DSGVO). Da die "
        "Zahlen niemandem zugeordnet werden können, können wir Sie darin nicht finden (Art. 11 DSGVO).",
        "controller_missing": "[Name und Anschrift der verantwortlichen Stelle: `--controller`]",
        "contact_missing": "[Kontakt der oder des Datenschutzbeauftragten: `--contact`]",
        "retention_unknown": "[Speicherdauer, siehe Abschnitt 3]",
    },
}


# -- the sheet ------------------------------------------------------------------------------------


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [line(header), "|" + "---|" * len(header), *(line(r) for r in rows), ""]


def render(sources: Sources, lang: Language) -> str:
    """The sheet in one language, as Markdown."""
    t = T[lang]
    config = sources.config
    files = [f"`{p}`" for p in (sources.config_path, sources.api_path, sources.compose_path) if p]
    named = ", ".join(files[:-1]) + f" {t['and']} " + files[-1] if len(files) > 1 else files[0]
    out = [f"# {t['title'].format(site=config.site)}", "", t["generated"].format(sources=named), ""]
    out += [f"## {t['purpose_h']}", "", t["purpose"], ""]
    out += _processed(config, lang)
    out += _kept(sources, lang)
    out += _who(sources, lang)
    out += [f"## {t['cameras_h']}", ""]
    seeing = room_cameras(config)
    for camera in config.cameras:
        rooms = [room for room, cameras in seeing.items() if camera.id in cameras]
        out += _camera(camera, config.detector.region, rooms, lang)
    out += _measures(lang)
    out += _sign(sources, lang)
    return "\n".join(out).rstrip() + "\n"


def _processed(config: Config, lang: Language) -> list[str]:
    t = T[lang]
    fps = "; ".join(
        t["fps_each"].format(camera=c.id, fps=f"{c.fps:g}".replace(".", "," if lang == "de" else "."))
        for c in config.cameras
    )
    floor_rooms = config.floor.rooms if config.floor is not None else []
    grace = sorted(
        {z.exit_grace_s for c in config.cameras for z in c.zones} | {r.exit_grace_s for r in floor_rooms}
    )
    rows = [
        [t["frames"].format(cameras=len(config.cameras), fps=fps), t["frames_where"], t["frames_long"]],
        [t["detections"], t["in_memory"], t["detections_long"]],
        [
            t["tracks"],
            t["in_memory"],
            t["tracks_long"].format(
                lost=_seconds(config.tracker.lost_track_s, lang),
                grace=" / ".join(_seconds(g, lang) for g in grace),
                most=MAX_PEOPLE_PER_ZONE,
            ),
        ],
    ]
    if config.detector.fixtures is not None:
        forget = _seconds(FIXTURE_FORGET_S, lang)
        places = t["fixtures_long"].format(forget=forget, places=MAX_PLACES)
        rows.append([t["fixtures"], t["in_memory"], places])
    if config.floor is not None:
        rooms = ", ".join(f"`{room.id}`" for room in config.floor.rooms)
        # a room holds those only a camera that is down saw for as long as the camera's max_gap_s
        gaps = sorted({c.max_gap_s for c in config.cameras if c.floor_calibration is not None})
        held = t["floor_long"].format(gap=" / ".join(_seconds(g, lang) for g in gaps) or "-")
        rows.append([t["floor"].format(rooms=rooms), t["in_memory"], held])
    return [f"## {t['processed_h']}", "", *_table([t["col_what"], t["col_where"], t["col_how_long"]], rows)]


def _kept(sources: Sources, lang: Language) -> list[str]:
    t = T[lang]
    metrics = [
        ("m_occupancy", ZONE_OCCUPANCY),
        ("m_entries", f"{ZONE_ENTRIES}_total"),
        ("m_exits", f"{ZONE_EXITS}_total"),
        ("m_dwell", ZONE_DWELL),
        ("m_longest", ZONE_LONGEST_DWELL),
        ("m_loitering", ZONE_LOITERING),
        ("m_info", f"{ZONE_INFO}_info"),
    ]
    labels = ", ".join(f"`{label}`" for label in ZONE_LABELS)
    out = [f"## {t['kept_h']}", "", t["kept_intro"].format(labels=labels), ""]
    out += _table([t["col_figure"], t["col_metric"]], [[t[key], f"`{name}`"] for key, name in metrics])
    out += [t["where_kept"], ""]
    out.append(f"- {_prometheus_retention(sources, lang)}")
    api = sources.api
    if api is None:
        out.append(f"- {t['api_unknown'].format(default=_duration(f'{API_READINGS_RETENTION_DAYS}d', lang))}")
    else:
        days = _duration(f"{api.readings_retention_days}d", lang)
        out.append(
            f"- {t['api_readings'].format(days=days) if api.stores_readings else t['api_no_readings']}"
        )
        out.append(
            "- "
            + t["api_alerts"].format(
                events=_duration(f"{API_EVENTS_KEPT_DAYS}d", lang),
                sessions=_seconds(api.session_max_age_s, lang),
            )
        )
    return [*out, ""]


def _prometheus_retention(sources: Sources, lang: Language) -> str:
    t = T[lang]
    stack = sources.stack
    if stack is not None and stack.prometheus_retention is not None:
        return t["prom_kept"].format(
            retention=_duration(stack.prometheus_retention, lang), file=f"`{sources.compose_path}`"
        )
    return t["prom_default"].format(retention=_duration(PROMETHEUS_DEFAULT_RETENTION, lang))


def _who(sources: Sources, lang: Language) -> list[str]:
    t = T[lang]
    api, stack, metrics = sources.api, sources.stack, sources.config.metrics

    def tokens(n: int | None) -> str:
        if api is None:
            return t["api_unknown_roles"]
        return t["tokens"].format(n=n) if n is not None else t["tokens_env"]

    local = metrics.host in ("127.0.0.1", "localhost", "::1")
    rows = [
        [t["desk"], t["desk_sees"], tokens(api.desk_tokens if api else None)],
        [t["lead"], t["lead_sees"], tokens(api.lead_tokens if api else None)],
    ]
    if api is not None and api.webhooks:
        rows.append(
            [t["webhooks"].format(names=", ".join(api.webhooks)), t["webhooks_sees"], t["webhooks_how"]]
        )
    rows.append(
        [
            t["metrics_who"],
            t["metrics_sees"],
            t["metrics_how"].format(
                host=metrics.host or "*", port=metrics.port, reach=t["this_box"] if local else t["network"]
            ),
        ]
    )
    prometheus, grafana = t["stack_unknown"], t["stack_unknown"]
    if stack is not None and stack.prometheus:
        prometheus = _published(stack.prometheus_loopback, lang)
    if stack is not None and stack.grafana_anonymous is not None:
        accounts = t["grafana_accounts"].format(
            anon=t["on"] if stack.grafana_anonymous else t["off"],
            signup=t["on"] if stack.grafana_sign_up else t["off"],
        )
        grafana = f"{accounts}; {_published(stack.grafana_loopback, lang)}"
    rows.append([t["prometheus"], t["prometheus_sees"], prometheus])
    rows.append([t["grafana"], t["grafana_sees"], grafana])
    rows.append([t["installer"], t["installer_sees"], t["installer_how"]])
    return [f"## {t['who_h']}", "", *_table([t["col_who"], t["col_sees"], t["col_how"]], rows)]


def _published(loopback: bool | None, lang: Language) -> str:
    t = T[lang]
    if loopback is None:
        return t["not_published"]
    return t["published_local"] if loopback else t["published_network"]


def _camera(camera: CameraConfig, region: str, rooms: list[str], lang: Language) -> list[str]:
    """rooms: the rooms the camera's floor calibration reaches."""
    t = T[lang]
    fps = f"{camera.fps:g}".replace(".", "," if lang == "de" else ".")
    out = [f"### {t['camera_h'].format(camera=camera.id)}", ""]
    out += [t["source"].format(source=t[f"src_{camera.source.type}"], fps=fps), ""]
    if not camera.zones:
        out += [t["no_zones"].format(rooms=", ".join(f"`{room}`" for room in rooms)), ""]
        return out + _masks(camera, lang)
    rows = [
        [
            f"`{zone.id}`",
            zone.name or "-",
            _percent(polygon_area(list(zone.polygon)), lang),
            _seconds(zone.loiter_limit_s, lang),
        ]
        for zone in camera.zones
    ]
    out += _table([t["col_zone"], t["col_name"], t["col_share"], t["col_limit"]], rows)
    out += [t["region_zones"] if region == "zones" else t["region_frame"], ""]
    return out + _masks(camera, lang)


def _masks(camera: CameraConfig, lang: Language) -> list[str]:
    t = T[lang]
    masks = [
        t["mask_item"].format(n=n, share=_percent(polygon_area(list(mask)), lang))
        for n, mask in enumerate(camera.privacy_masks, 1)
    ]
    return [t["masks"].format(masks="; ".join(masks)) if masks else t["no_masks"], ""]


def _measures(lang: Language) -> list[str]:
    t = T[lang]
    key = {"masks": "masks_measure"}
    rows = [[t[key.get(name, name)], "<br>".join(f"`{test}`" for test in tests)] for name, tests in MEASURES]
    return [f"## {t['measures_h']}", "", *_table([t["col_measure"], t["col_tests"]], rows)]


def _sign(sources: Sources, lang: Language) -> list[str]:
    t = T[lang]
    kept = (
        [_duration(sources.stack.prometheus_retention, lang)]
        if sources.stack and sources.stack.prometheus_retention
        else []
    )
    if sources.api is not None and sources.api.stores_readings:
        kept.append(_duration(f"{sources.api.readings_retention_days}d", lang))
    retention = f" {t['and']} ".join(dict.fromkeys(kept)) if kept else t["retention_unknown"]
    lines = [
        f"**{t['sign_title']}**",
        "",
        t["sign_what"],
        "",
        t["sign_controller"].format(controller=sources.controller or t["controller_missing"]),
        "",
        t["sign_contact"].format(contact=sources.contact or t["contact_missing"]),
        "",
        t["sign_basis"].format(basis=t["basis"]),
        "",
        t["sign_kept"].format(retention=retention),
        "",
        t["sign_rights"],
    ]
    return [f"## {t['sign_h']}", "", *(f"> {line}".rstrip() for line in lines), ""]


# -- the command ----------------------------------------------------------------------------------


def to_html(markdown: str, lang: Language) -> str:
    """The sheet's Markdown as one HTML page to open or print: only the few forms `render` writes
    (headings, paragraphs, tables, lists, a quote; `code`, **bold**, <br> in a cell), all text escaped."""
    body: list[str] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line:
            i += 1
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{_inline(line[level + 1 :])}</h{level}>")
            i += 1
        else:
            block = [line]
            i += 1
            while i < len(lines) and lines[i] and lines[i][0] == line[0] and line[0] in "|->":
                block.append(lines[i])
                i += 1
            body.append(_html_block(block))
    title = html.escape(lines[0].lstrip("# "))
    return (
        f'<!doctype html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
        f"<style>{_CSS}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


# Readable on screen and on paper: tables ruled, the sign framed and printed on a page of its own.
_CSS = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
    "table{border-collapse:collapse}th,td{border:1px solid #888;padding:.3em .5em;text-align:left;"
    "vertical-align:top}td code{overflow-wrap:anywhere}blockquote{border:2px solid #000;margin:0;"
    "padding:.5em 1em}@media print{blockquote{break-before:page}}"
)


def _html_block(block: list[str]) -> str:
    if block[0].startswith("| "):
        rows = [
            [_inline(c.strip()) for c in re.split(r"(?<!\\)\|", row)[1:-1]]
            for row in block
            if row[:4] != "|---"
        ]
        head = "".join(f"<th>{c}</th>" for c in rows[0])
        cells = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows[1:])
        return f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>"
    if block[0].startswith("- "):
        return "<ul>" + "".join(f"<li>{_inline(item[2:])}</li>" for item in block) + "</ul>"
    if block[0].startswith(">"):
        paragraphs = "\n".join(line[2:] for line in block).split("\n\n")
        return "<blockquote>" + "".join(f"<p>{_inline(p)}</p>" for p in paragraphs) + "</blockquote>"
    return f"<p>{_inline(' '.join(block))}</p>"


def _inline(text: str) -> str:
    escaped = html.escape(text.replace("\\|", "|"), quote=False).replace("&lt;br&gt;", "<br>")
    escaped = re.sub(r"`([^`]*)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)


SUFFIXES = (".md", ".html")


def write_sheets(sources: Sources, languages: Sequence[Language], out: Path) -> list[Path]:
    """Write the sheet in each language: into folder `out` as SITE.LANG.md and SITE.LANG.html, or
    into file `out` (one language; .md or .html). Returns the files written."""
    if out.suffix in SUFFIXES:
        if len(languages) != 1:
            raise ConfigError([("-o", f"--lang both writes several files: name a folder, not {out}")])
        targets = [(languages[0], out)]
    elif out.suffix:
        raise ConfigError([("-o", f"a folder, or a file ending in .md or .html, not {out}")])
    else:
        targets = [
            (lang, out / f"{sources.config.site}.{lang}{suffix}") for lang in languages for suffix in SUFFIXES
        ]
    for lang, path in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        markdown = render(sources, lang)
        path.write_text(to_html(markdown, lang) if path.suffix == ".html" else markdown, encoding="utf-8")
    return [path for _, path in targets]


def _run(args: argparse.Namespace) -> int:
    sources = Sources(
        config=load_site(args.config),
        config_path=str(args.config),
        api=api_facts(args.api, os.environ) if args.api else None,
        api_path=str(args.api) if args.api else None,
        stack=stack_facts(args.compose) if args.compose else None,
        compose_path=str(args.compose) if args.compose else None,
        controller=args.controller,
        contact=args.contact,
    )
    languages: list[Language] = list(LANGUAGES) if args.lang == "both" else [args.lang]
    if args.out is None:
        print("\n---\n\n".join(render(sources, lang) for lang in languages), end="")
        return 0
    for path in write_sheets(sources, languages, args.out):
        print(f"written: {path}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `wartezone privacy-sheet` to the command's subcommands."""
    ps = commands.add_parser(
        "privacy-sheet",
        help="the site's data-protection sheet (German and English) from its configuration",
        description="Writes, from the configuration only, what the data-protection officer needs: "
        "purpose, what is processed and kept and for how long, who sees what, where each camera looks "
        "(zones and masks, no image), the measures with the tests that prove them, and the text of an "
        "information sign (Art. 13 GDPR). Never a camera address, password or token.",
        epilog="example: wartezone privacy-sheet -c site.yaml --api api.yaml --compose deploy/compose.yaml "
        '--controller "Stadt Musterstadt, Markt 1" --contact datenschutz@musterstadt.de -o privacy/',
    )
    ps.add_argument("-c", "--config", type=Path, required=True, help="the site's YAML config")
    ps.add_argument("--api", type=Path, help="the staffing-alert API's settings (retention, roles)")
    ps.add_argument("--compose", type=Path, help="the compose file starting Prometheus and Grafana")
    ps.add_argument("--controller", help='name and address of the controller, e.g. "Stadt X, Markt 1"')
    ps.add_argument("--contact", help="contact of the data-protection officer")
    ps.add_argument("--lang", choices=("de", "en", "both"), default="both", help="default: both")
    ps.add_argument(
        "-o",
        "--out",
        type=Path,
        help="a folder (SITE.de.md, SITE.de.html, SITE.en.md, SITE.en.html) or, for one language, a .md "
        "or .html file; default: print the Markdown",
    )
    ps.set_defaults(handler=_run)

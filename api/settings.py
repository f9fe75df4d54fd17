"""One validated model of the API's settings: a YAML file, overlaid by WARTEZONE_API__* variables."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    ValidationError,
    model_validator,
)

from api.domain import Strict
from wartezone_contract import ID_PATTERN

ENV_PREFIX = "WARTEZONE_API__"
DEFAULT_PORT = 8088
MIN_TOKEN_CHARS = 16
MIN_TOKEN_KINDS = 8  # different characters in a token
T = TypeVar("T")


class SettingsError(Exception):
    """Settings that cannot run; each problem is (field path, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{path}: {message}" for path, message in problems))


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http:// or https:// URL with a host, got {value!r}")
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (an IANA name such as Europe/Berlin)") from None
    return value


def _secret_long_enough(value: SecretStr) -> SecretStr:
    if len(value.get_secret_value()) < MIN_TOKEN_CHARS:
        raise ValueError(f"too short to be a secret: use at least {MIN_TOKEN_CHARS} random characters")
    return value


def token_problem(token: str) -> str | None:
    """Why a token is too weak to guard the API, or None. Length alone lets `aaaaaaaaaaaaaaaa` through;
    random tokens of 16 or more characters practically never have fewer than 8 different ones."""
    how = "`wartezone api token` prints a random one"
    if len(token) < MIN_TOKEN_CHARS:
        return f"too short to be a token ({len(token)} characters, at least {MIN_TOKEN_CHARS}): {how}"
    kinds = len(set(token))
    if kinds < MIN_TOKEN_KINDS:
        return (
            f"too few different characters to be a token ({kinds}, at least {MIN_TOKEN_KINDS}; "
            f"repeated or patterned tokens are guessed first): {how}"
        )
    return None


def _token_strong_enough(value: SecretStr) -> SecretStr:
    problem = token_problem(value.get_secret_value())
    if problem is not None:
        raise ValueError(problem)
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
Secret = Annotated[SecretStr, AfterValidator(_secret_long_enough)]
Token = Annotated[SecretStr, AfterValidator(_token_strong_enough)]
Identifier = Annotated[
    str, Field(pattern=ID_PATTERN, description="Lower-case id: letters, digits, '-', '_'.")
]


class ScrapeInput(Strict):
    """Read the edge boxes' own /metrics pages: one machine runs the whole product."""

    type: Literal["scrape"] = "scrape"
    targets: Annotated[list[HttpUrl], AfterValidator(lambda v: _unique(v, "target"))] = Field(
        default_factory=lambda: ["http://127.0.0.1:9464/metrics"],
        min_length=1,
        description="Edge /metrics URLs.",
    )
    interval_s: float = Field(1.0, ge=0.1, le=300, description="Seconds between two reads.")
    timeout_s: float = Field(2.0, gt=0, le=60, description="Seconds one scrape may take.")
    stale_after_s: float = Field(
        30.0, gt=0, le=3600, description="A camera whose last analysed frame is older than this is unknown."
    )


class PrometheusInput(Strict):
    """Ask a Prometheus server that scrapes the edge boxes (PromQL over its HTTP API)."""

    type: Literal["prometheus"]
    url: HttpUrl = Field(description="Base URL of the Prometheus server, e.g. http://127.0.0.1:9090.")
    interval_s: float = Field(5.0, ge=0.1, le=300, description="Seconds between two queries.")
    timeout_s: float = Field(5.0, gt=0, le=60, description="Seconds one query may take.")
    stale_after_s: float = Field(
        60.0, gt=0, le=3600, description="A camera whose last analysed frame is older than this is unknown."
    )


class LimitSettings(Strict):
    """What an edge box (or anything answering on its port) can make the API hold, and how many
    rules it keeps: so one broken or hostile edge cannot slow the API for everyone."""

    zones_per_target: int = Field(
        200,
        ge=1,
        le=10000,
        description="Zones read from one edge box (a scrape target; with Prometheus, one instance): "
        "the first this many in its answer, the rest ignored and named as a problem of that edge.",
    )
    rules: int = Field(500, ge=1, le=100000, description="Rules in all; a new one beyond is refused (409).")
    name_chars: int = Field(
        100,
        ge=8,
        le=1000,
        description="Display names longer than this are cut (ids: the contract's 63 characters, "
        "checked against its pattern; a series with another id is ignored).",
    )


def _input_type(value: Any) -> str | None:
    if isinstance(value, dict):
        return str(value.get("type", "scrape"))  # scraping the edge directly is the default
    return getattr(value, "type", None)


InputSettings = Annotated[
    Annotated[ScrapeInput, Tag("scrape")] | Annotated[PrometheusInput, Tag("prometheus")],
    Discriminator(_input_type),
]


class WebhookSettings(Strict):
    name: Identifier = Field(description="Names the webhook in logs, errors and its outbox rows.")
    url: HttpUrl = Field(description="Receiver URL; gets one POST per event, in order.")
    secret: Secret = Field(description="Shared secret of the X-Wartezone-Signature HMAC-SHA256.")
    timeout_s: float = Field(5.0, gt=0, le=60, description="Seconds one delivery attempt may take.")


class RetrySettings(Strict):
    initial_s: float = Field(1.0, gt=0, le=3600, description="Wait after the first failed attempt.")
    max_s: float = Field(300.0, gt=0, le=86400, description="The wait doubles per failure up to this.")

    @model_validator(mode="after")
    def _max_not_below_initial(self) -> RetrySettings:
        if self.max_s < self.initial_s:
            raise ValueError("max_s must be at least initial_s")
        return self


class AuthSettings(Strict):
    """Who may do what. A token is for API clients (`Authorization: Bearer`) and for logging a page
    in; a page then holds a session (a random id in an HttpOnly cookie, its hash in the database)
    that ends on logout, after session_idle_s without use, after session_max_age_s in any case,
    and when its token leaves these settings (at the next start)."""

    desk_tokens: list[Token] = Field(
        min_length=1, description="Tokens of the reception desk: read state, acknowledge alerts."
    )
    lead_tokens: list[Token] = Field(
        min_length=1, description="Tokens of the branch lead: everything the desk may, and edit rules."
    )
    plain_http: bool = Field(
        False,
        description="Browsers reach the API over plain HTTP from other machines (no HTTPS proxy in "
        "front): the login cookie then goes without Secure. Listening on loopback (host 127.0.0.1, "
        "::1, localhost) it always does; otherwise the cookie is Secure (HTTPS only) unless this is set.",
    )
    session_max_age_s: int = Field(
        30 * 86400,
        ge=2,
        le=400 * 86400,
        description="A page's session ends this long after its login, however often it was renewed "
        "or used: then the page asks for the token again.",
    )
    session_idle_s: int = Field(
        3600,
        ge=2,
        le=400 * 86400,
        description="A page's session ends after this long without a request; an open page renews it "
        "every quarter of this (at most hourly), so only a closed or cut-off page reaches it.",
    )
    free_failures: int = Field(
        5,
        ge=1,
        le=1_000_000,
        description="Failed token or session checks a client address may make before it has to wait "
        "(1 s after the next failure, doubling up to 5 min; forgotten after 15 min without one). "
        "Raise it only for a test bench that sends wrong tokens on purpose (schemathesis).",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_cookie_secure(cls, data: Any) -> Any:
        # The old switch was off by default, so it mostly stood in files as `false`: name what replaced it.
        if isinstance(data, dict) and "cookie_secure" in data:
            raise ValueError(
                "cookie_secure was replaced by plain_http: the login cookie is Secure unless the API "
                "listens on loopback or plain_http is true; remove cookie_secure"
            )
        return data

    @model_validator(mode="after")
    def _roles_distinct(self) -> AuthSettings:
        desk = {t.get_secret_value() for t in self.desk_tokens}
        if any(t.get_secret_value() in desk for t in self.lead_tokens):
            raise ValueError("a token is both a desk and a lead token; give each role its own")
        return self


class HttpSettings(Strict):
    cors_origins: list[HttpUrl] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser; none by default."
    )
    max_body_bytes: int = Field(16384, ge=256, le=1 << 20, description="Largest request body accepted.")


class ReadingsSettings(Strict):
    """Where the API scrapes the edge itself, it stores per zone and minute what the report needs
    (occupancy first, mean and peak, entries, exits: counts only)."""

    retention_days: int = Field(
        90, ge=1, le=3650, description="Stored minutes older than this many days are deleted."
    )


class Settings(Strict):
    host: str = Field("127.0.0.1", description="Listen address.")
    port: int = Field(DEFAULT_PORT, ge=1, le=65535, description="Listen port.")
    timezone: Annotated[str, AfterValidator(_timezone)] = Field(
        "Europe/Berlin", description="Time zone of the opening hours."
    )
    database: Path = Field(Path("wartezone-api.sqlite3"), description="SQLite file; created on start.")
    input: InputSettings = Field(default_factory=ScrapeInput, description="Where occupancy comes from.")
    limits: LimitSettings = Field(
        default_factory=LimitSettings, description="What the input and rules may hold."
    )
    webhooks: Annotated[
        list[WebhookSettings], AfterValidator(lambda v: _unique(v, "webhook name", lambda w: w.name))
    ] = Field(default_factory=list, description="Receivers of alert events.")
    retry: RetrySettings = Field(default_factory=RetrySettings)
    auth: AuthSettings
    http: HttpSettings = Field(default_factory=HttpSettings)
    readings: ReadingsSettings = Field(default_factory=ReadingsSettings)


def _unique(values: list[T], what: str, key: Callable[[T], str] = str) -> list[T]:
    seen: set[str] = set()
    for value in values:
        if key(value) in seen:
            raise ValueError(f"duplicate {what} {key(value)!r}")
        seen.add(key(value))
    return values


def _field_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in ("scrape", "prometheus", "function-after"):  # union tags add nothing
            path += f".{part}" if path else str(part)
    return path or "(settings)"


def _env_value(raw: str) -> Any:
    """Lists and objects are written as JSON; anything else is a plain string pydantic converts."""
    stripped = raw.strip()
    if stripped[:1] in ("[", "{"):
        return json.loads(stripped)
    return raw


def apply_environment(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Overlay WARTEZONE_API__A__B=value onto data["a"]["b"] (list items by index)."""
    problems: list[tuple[str, str]] = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        try:
            value = _env_value(environ[name])
        except json.JSONDecodeError as error:
            problems.append((name, f"not valid JSON: {error.msg}"))
            continue
        node: Any = data
        for i, part in enumerate(path):
            last = i == len(path) - 1
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    problems.append((name, f"no item {part} in the list at {'.'.join(path[:i])}"))
                    break
                key: Any = int(part)
            elif isinstance(node, dict):
                key = part
                if not last and key not in node:
                    node[key] = {}
            else:
                problems.append((name, f"{'.'.join(path[:i])} is not a section"))
                break
            if last:
                node[key] = value
            else:
                node = node[key]
    if problems:
        raise SettingsError(problems)
    return data


def parse_settings(data: object, base_dir: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Validate a parsed document plus the environment; a relative database path is taken from base_dir."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SettingsError([("(file)", "must be a mapping of setting names to values")])
    data = apply_environment(data, os.environ if environ is None else environ)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as error:
        raise SettingsError(
            [(_field_path(e["loc"]), e["msg"].removeprefix("Value error, ")) for e in error.errors()]
        ) from None
    if not settings.database.is_absolute():
        settings = settings.model_copy(update={"database": base_dir / settings.database})
    return settings


def load_settings(path: Path | None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the YAML file (or none: environment and defaults); every problem at once."""
    if path is None:
        return parse_settings({}, Path.cwd(), environ)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SettingsError([("(file)", f"cannot read {path}: {error.strerror}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SettingsError([("(file)", f"not valid YAML: {error}")]) from None
    return parse_settings(data, path.resolve().parent, environ)

"""MkDocs hooks: the reference pages are made from the code at every build, so they cannot drift.

- reference/configuration.md  the edge config model (edge/config.py): every key with its type,
  default, bounds and description, nested sections and the `type`-picked variants each in turn
- reference/api-settings.md   the same for the API's settings model (api/settings.py)
- reference/metrics.md        the edge's and the API's registries, as built, with their help texts;
  the recording rules' names from wartezone_contract
- reference/api.md            the OpenAPI description of create_app (with throwaway settings), and
  reference/openapi.json beside it
- reference/cli.md            the `wartezone` parser of edge/cli.py, with the subcommands the
  installed entry points add (`wartezone api`, `wartezone report`)
- changelog.md                CHANGELOG.md as it stands

The footer names the installed version (importlib.metadata, from pyproject.toml's).
tests/docs/test_docs.py loads this file to check the pages against the code.
"""

from __future__ import annotations

import argparse
import enum
import json
import re
import tempfile
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined, to_jsonable_python

REPO = Path(__file__).resolve().parent.parent
CHANGELOG = REPO / "CHANGELOG.md"
LICENCE = "AGPL-3.0-or-later"
# Page -> what makes it; the nav in mkdocs.yml names these paths.
CONFIG_PAGE = "reference/configuration.md"
SETTINGS_PAGE = "reference/api-settings.md"
METRICS_PAGE = "reference/metrics.md"
API_PAGE = "reference/api.md"
OPENAPI_FILE = "reference/openapi.json"
CLI_PAGE = "reference/cli.md"
CHANGELOG_PAGE = "changelog.md"
PRINTABLE_SHEETS = "privacy-sheet/print"
GENERATED_NOTE = "*Made from the code at every build of this site ({source}): edit the code, not this page.*"
# A key's row in a generated config table: | `cameras[].zones[].id` | ...
KEY_ROW = re.compile(r"^\| `([^`]+)` \|", re.MULTILINE)


def wartezone_version() -> str:
    return version("wartezone")


# ---- markdown helpers -----------------------------------------------------------------------------


def cell(text: str) -> str:
    """Text for a table cell: one line, pipes escaped, and < > & outside code spans as entities
    (a `<token>` in prose would otherwise be read as an HTML tag)."""
    parts = " ".join(text.split()).split("`")
    for i in range(0, len(parts), 2):  # outside code spans
        parts[i] = parts[i].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts).replace("|", "\\|")


def code(value: object) -> str:
    text = str(value)
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


# ---- configuration: the pydantic model tree -------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One model at one place in the file: its key path, and the variant it is (type: rtsp)."""

    path: str
    model: type[BaseModel]
    variant: str | None = None


def _models_in(annotation: object) -> list[type[BaseModel]]:
    """The models an annotation holds (X, X | None, list[X], Annotated[X | Y, ...])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]


def _is_list(annotation: object) -> bool:
    """A list of sections (list[X], list[X] | None, Annotated[list[X], ...])."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _is_list(args[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in args)
    return origin is list


def _variant(model: type[BaseModel]) -> str | None:
    """The `type` value that picks this model in a union, where it has one."""
    field = model.model_fields.get("type")
    if field is None:
        return None
    values = typing.get_args(field.annotation)
    return str(values[0]) if typing.get_origin(field.annotation) is Literal and len(values) == 1 else None


def _children(parent: str, name: str, field: FieldInfo) -> list[Section]:
    """The sections a field opens: none for a plain value, one per variant for a union."""
    models = _models_in(field.annotation)
    path = (f"{parent}.{name}" if parent else name) + ("[]" if _is_list(field.annotation) else "")
    union = len(models) > 1
    return [Section(path, model, _variant(model) if union else None) for model in models]


def sections(root: type[BaseModel]) -> Iterator[Section]:
    """Every section of the file in reading order, depth first; each union's variants in turn; a
    section the variants share (the detector's motion gate) once."""
    seen: set[tuple[str, type[BaseModel]]] = set()

    def walk(section: Section) -> Iterator[Section]:
        if (section.path, section.model) in seen:
            return
        seen.add((section.path, section.model))
        yield section
        for name, field in _fields(section.model):
            for child in _children(section.path, name, field):
                yield from walk(child)

    return walk(Section("", root))


def _fields(model: type[BaseModel]) -> list[tuple[str, FieldInfo]]:
    """A model's keys, `type` first: it says which variant the rest belong to."""
    return sorted(model.model_fields.items(), key=lambda item: item[0] != "type")


def _bounds(metadata: list[Any]) -> list[str]:
    words = []
    for item in metadata:
        if isinstance(item, FieldInfo):  # Annotated[float, Field(ge=0)] inside a list or tuple
            words += _bounds(item.metadata)
            continue
        for attribute, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            value = getattr(item, attribute, None)
            if value is not None and isinstance(item, annotated_types.BaseMetadata):
                words.append(f"{sign} {value:g}" if isinstance(value, float) else f"{sign} {value}")
        if isinstance(item, annotated_types.MultipleOf):
            words.append(f"multiple of {item.multiple_of}")
        if isinstance(item, annotated_types.MinLen) and item.min_length:
            words.append(f"at least {item.min_length} long")
        if isinstance(item, annotated_types.MaxLen):
            words.append(f"at most {item.max_length} long")
        pattern = getattr(item, "pattern", None)
        if isinstance(pattern, str):
            words.append(_pattern_words(pattern))
    return words


def _pattern_words(pattern: str) -> str:
    from edge.config import PATTERN_WORDS

    return PATTERN_WORDS.get(pattern, f"matching {code(pattern)}")


def type_words(annotation: object) -> str:
    """What a reader writes there, in a few words."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        bounds = _bounds(list(args[1:]))
        inner = type_words(args[0])
        return f"{inner} ({', '.join(bounds)})" if bounds else inner
    if origin is Literal:
        return " or ".join(code(value) for value in args)
    if origin in (typing.Union, types.UnionType):
        named = [type_words(arg) for arg in args if arg is not type(None)]
        text = " or ".join(dict.fromkeys(named))
        return f"{text} or `null`" if type(None) in args else text
    if origin is list:
        return f"list of {type_words(args[0])}"
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list of {type_words(args[0])}"
        return "[" + ", ".join(type_words(arg) for arg in args) + "]"
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return "section"
        if issubclass(annotation, enum.Enum):
            return " or ".join(code(member.value) for member in annotation)
        names = {bool: "true/false", int: "whole number", float: "number", str: "text", Path: "path"}
        if issubclass(annotation, SecretStr):
            return "secret text"
        return names.get(annotation, annotation.__name__)
    return str(annotation)


def _default_words(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "**required**"
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return "its defaults"
    if isinstance(value, Path) and value.is_absolute() and value.is_relative_to(REPO):
        value = value.relative_to(REPO)  # the shipped model, as a checkout names it
    if isinstance(value, enum.Enum):
        value = value.value
    return code(json.dumps(to_jsonable_python(value), ensure_ascii=False))


def _anchor(section: Section) -> str:
    return re.sub(r"[^a-z0-9]+", "-", f"{section.path or 'top'} {section.variant or ''}".lower()).strip("-")


def _title(section: Section) -> str:
    where = code(section.path) if section.path else "The top level"
    return f"{where} (type: {code(section.variant)})" if section.variant else where


def config_page(root: type[BaseModel], title: str, intro: str, source: str) -> str:
    """One table per section: key path, type, default, bounds and description of each key."""
    lines = [f"# {title}", "", GENERATED_NOTE.format(source=source), "", intro, ""]
    for section in sections(root):
        lines += [f"## {_title(section)} {{#{_anchor(section)}}}", ""]
        doc = section.model.__doc__
        if doc and section.model.__module__ != "pydantic.main" and doc != BaseModel.__doc__:
            lines += [" ".join(doc.split()), ""]
        rows = []
        for name, field in _fields(section.model):
            path = f"{section.path}.{name}" if section.path else name
            kind = type_words(field.annotation)
            bounds = ", ".join(_bounds(field.metadata))
            words = cell(field.description or "")
            children = _children(section.path, name, field)
            if children:
                links = [
                    f"[{'type: ' + c.variant if c.variant else 'its keys'}](#{_anchor(c)})" for c in children
                ]
                words = (words + " " if words else "") + "See " + ", ".join(links) + "."
            rows.append((code(path), cell(kind), _default_words(field), cell(bounds), words))
        lines += [*table(("key", "type", "default", "bounds", "meaning"), rows), ""]
    return "\n".join(lines)


def listed_keys(page: str) -> set[str]:
    """The key paths a generated config page lists (the first column of its tables)."""
    return set(KEY_ROW.findall(page))


def edge_config_page() -> str:
    from edge.config import Config

    intro = (
        "The edge box's YAML file (`wartezone edge run -c site.yaml`, `wartezone setup`, "
        "`wartezone check`). Unknown keys are refused, naming the nearest known one; a bad file exits "
        "with status 2 and one line per failing key path. `[]` marks a list of sections: "
        "`cameras[].zones[].id` is the `id` of each zone of each camera. Coordinates are fractions "
        "0..1 of the picture, x to the right, y down. Where a section is picked by its `type` "
        "(a camera's `source`, the `detector`), each type's keys are listed in turn."
    )
    return config_page(Config, "Configuration of the edge box", intro, "edge/config.py")


def api_settings_page() -> str:
    from api.settings import ENV_PREFIX, Settings

    intro = (
        "The API's YAML file (`wartezone api -c api.yaml`). Every key can come from the environment "
        f"instead, which wins: the key path in capitals after `{ENV_PREFIX}`, `__` between levels, "
        f"list items by index, lists and objects as JSON (`{ENV_PREFIX}AUTH__DESK_TOKENS='[\"...\"]'`, "
        f"`{ENV_PREFIX}PORT=9000`). Unknown keys are refused; bad settings exit with status 2 and one "
        "line per failing key path. `[]` marks a list of sections."
    )
    return config_page(Settings, "Settings of the staffing-alert API", intro, "api/settings.py")


# ---- metrics: the registries as the code builds them ------------------------------------------------


@dataclass(frozen=True)
class MetricDoc:
    name: str  # as exposed: counters with _total, info metrics with _info
    family: str  # the contract's name
    kind: str
    labels: tuple[str, ...]
    help: str


def _families(registry: Any) -> list[MetricDoc]:
    docs = []
    for family in registry.collect():
        kind = family.type
        exposed = {"counter": f"{family.name}_total", "info": f"{family.name}_info"}.get(kind, family.name)
        labels = sorted({label for s in family.samples for label in s.labels} - {"le", "quantile"})
        docs.append(MetricDoc(exposed, family.name, kind, tuple(labels), family.documentation))
    return docs


def edge_metrics() -> list[MetricDoc]:
    """The edge registry of a one-camera site after one analysed frame (every series present)."""
    from prometheus_client import CollectorRegistry

    from edge.config import WHOLE_FRAME, Config
    from edge.detect.base import ModelInfo
    from edge.metrics import EdgeMetrics
    from edge.zones.accounting import ZoneReading

    config = Config.model_validate(
        {
            "site": "site",
            "cameras": [
                {"id": "camera", "source": {"type": "file", "path": "v.mp4"}, "zones": [WHOLE_FRAME]}
            ],
        }
    )
    registry = CollectorRegistry()
    metrics = EdgeMetrics(registry, config, ModelInfo("model", "0" * 64, "openvino", "1088x1440"))
    metrics.record_frame("camera", 0.0, 0.1, [ZoneReading(WHOLE_FRAME.id, 1, 1, 0, 1.0, 1, (1.0,))])
    return _families(registry)


def api_metrics() -> list[MetricDoc]:
    """The API registry with one zone that has a rule."""
    from prometheus_client import CollectorRegistry

    from api.domain import State, ZoneKey
    from api.engine import ZoneView
    from api.metrics import ApiMetrics
    from api.rules import RuleSpec

    registry = CollectorRegistry()
    metrics = ApiMetrics(registry)
    key = ZoneKey("site", "camera", "zone")
    view = ZoneView(key, State.OK, None, 0.0, None, None, None, RuleSpec(raise_level=2, clear_level=1), None)
    metrics.attach(lambda: [view], lambda: 0)
    metrics.zone_seen(key)
    return _families(registry)


def contract_names() -> dict[str, str]:
    """The contract's constant -> name, for the metric families and the recording rules."""
    import wartezone_contract

    return {
        constant: value
        for constant, value in vars(wartezone_contract).items()
        if constant.isupper() and isinstance(value, str) and "wartezone_" in value
    }


def metrics_page() -> str:
    names = contract_names()
    families = set(names.values())
    lines = [
        "# Metrics",
        "",
        GENERATED_NOTE.format(source="edge/metrics.py, api/metrics.py, wartezone_contract.py"),
        "",
        "The names are pinned once in `wartezone_contract.py`, which the edge, the API, the "
        "dashboards and the tests import. Labels are aggregates only: site, camera, zone (and the "
        "API's state, channel, kind), never a person, a track or a face. A zone's occupancy series "
        "is absent while its camera is not analysed: unknown is not 0.",
        "",
    ]
    for title, where, docs in (
        ("Edge box", "`/metrics` of `wartezone edge run` (port 9464 by default)", edge_metrics()),
        ("Staffing-alert API", "`/metrics` of `wartezone api` (port 8088 by default)", api_metrics()),
    ):
        strays = [d.family for d in docs if d.family not in families and d.family.startswith("wartezone_")]
        if strays:
            raise ValueError(f"metrics not named in wartezone_contract: {strays}")
        rows = [
            (code(d.name), d.kind, ", ".join(code(label) for label in d.labels) or "none", cell(d.help))
            for d in docs
            if d.family.startswith("wartezone_")
        ]
        lines += [f"## {title}", "", f"Served at {where}.", ""]
        lines += [*table(("metric", "type", "labels", "meaning"), rows), ""]
    recorded = sorted(value for value in families if ":" in value)
    lines += [
        "## Recording rules",
        "",
        "Computed by Prometheus from the edge's series (`deploy/prometheus/rules/`), for the "
        "dashboards; the same formulas are functions in `wartezone_contract.py`.",
        "",
    ]
    lines += [f"- {code(name)}" for name in recorded] + [""]
    return "\n".join(lines)


def documented_metrics(page: str) -> set[str]:
    """The metric and recording-rule names a metrics page shows (code spans of its tables and lists)."""
    return set(re.findall(r"^(?:\| |- )`([a-z_:0-9]+)`", page, re.MULTILINE))


# ---- the API: its OpenAPI description -------------------------------------------------------------


def openapi() -> dict[str, Any]:
    """create_app's description, with throwaway settings (nothing is started or stored)."""
    from api.app import create_app
    from api.settings import parse_settings

    with tempfile.TemporaryDirectory() as folder:
        tokens = {
            "desk_tokens": ["desk-" + "0123456789abcdef"],
            "lead_tokens": ["lead-" + "0123456789abcdef"],
        }
        settings = parse_settings({"auth": tokens}, Path(folder), environ={})
        return dict(create_app(settings).openapi())


def _schema_words(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(_schema_words(s) for s in schema[key])
    if schema.get("type") == "array":
        return f"list of {_schema_words(schema.get('items', {}))}"
    if "enum" in schema:
        return " or ".join(code(json.dumps(v)) for v in schema["enum"])
    if "const" in schema:
        return code(json.dumps(schema["const"]))
    return str(schema.get("type", "any"))


def _operations(paths: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for path, operations in paths.items():
        for method, operation in operations.items():
            lines += [f"### {method.upper()} {code(path)}", ""]
            if operation.get("summary"):
                lines += [f"**{cell(operation['summary'])}**", ""]
            if operation.get("description"):
                lines += [operation["description"].strip(), ""]
            parameters = operation.get("parameters", [])
            if parameters:
                rows = [
                    (
                        code(p["name"]),
                        p["in"],
                        "yes" if p.get("required") else "no",
                        cell(_schema_words(p.get("schema", {}))),
                        cell(p.get("description", "")),
                    )
                    for p in parameters
                ]
                lines += [*table(("parameter", "in", "required", "type", "meaning"), rows), ""]
            body = operation.get("requestBody", {}).get("content", {})
            for media, content in body.items():
                lines += [f"Body ({code(media)}): {_schema_words(content.get('schema', {}))}", ""]
            answers = []
            for status, answer in operation.get("responses", {}).items():
                shapes = [
                    f"{code(media)} {_schema_words(content['schema'])}"
                    for media, content in answer.get("content", {}).items()
                    if content.get("schema")
                ]
                answers.append((code(status), cell(answer.get("description", "")), ", ".join(shapes)))
            lines += [*table(("status", "answer", "body"), answers), ""]
    return lines


def api_page(description: dict[str, Any]) -> str:
    info = description["info"]
    lines = [
        f"# {info['title']}",
        "",
        GENERATED_NOTE.format(source="api/app.py's OpenAPI description"),
        "",
        f"Version {info['version']}. The same description is served by a running API at "
        "`/openapi.json` and rendered at `/docs`; this site's copy: [openapi.json](openapi.json).",
        "",
        info.get("description", ""),
        "",
    ]
    lines += ["## Endpoints", "", *_operations(description["paths"])]
    if description.get("webhooks"):
        lines += ["## Webhooks", "", "What the API sends to each configured receiver.", ""]
        lines += _operations(description["webhooks"])
    lines += ["## Schemas", ""]
    for name, schema in description.get("components", {}).get("schemas", {}).items():
        lines += [f"### {name} {{#{name.lower()}}}", ""]
        if schema.get("description"):
            lines += [cell(schema["description"]), ""]
        required = set(schema.get("required", []))
        properties = schema.get("properties", {})
        if properties:
            rows = [
                (
                    code(key),
                    cell(_schema_words(value)),
                    "yes" if key in required else "no",
                    cell(value.get("description", "")),
                )
                for key, value in properties.items()
            ]
            lines += [*table(("field", "type", "required", "meaning"), rows), ""]
        elif "enum" in schema:
            lines += [f"One of {_schema_words(schema)}.", ""]
    return "\n".join(lines)


# ---- the command line: argparse ---------------------------------------------------------------------


def command_parsers() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Each command's parser by its words after `wartezone`: () the root, ("edge", "run"), ...
    with the subcommands the installed entry points register."""
    from edge.cli import parser

    found: dict[tuple[str, ...], argparse.ArgumentParser] = {}

    def walk(words: tuple[str, ...], node: argparse.ArgumentParser) -> None:
        found[words] = node
        for action in node._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk((*words, name), child)

    walk((), parser())
    return found


def _help_of(parent: argparse.ArgumentParser, name: str) -> str:
    for action in parent._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                if choice.dest == name and choice.help:
                    return choice.help
    return ""


def _usage(node: argparse.ArgumentParser) -> str:
    formatter = argparse.HelpFormatter(node.prog, width=80)  # fits the page's code block
    formatter.add_usage(node.usage, node._actions, node._mutually_exclusive_groups)
    return formatter.format_help().strip()


def _command_anchor(words: tuple[str, ...]) -> str:
    return "-".join(("wartezone", *words))


def cli_page() -> str:
    parsers = command_parsers()
    lines = [
        "# Command line",
        "",
        GENERATED_NOTE.format(source="edge/cli.py's parser and the wartezone.commands entry points"),
        "",
        "One command, `wartezone`, with a subcommand per task. `wartezone --version` prints the "
        "installed version; `-h` after any command prints what is below. An edge box installed "
        "without the `[api]` extra has no `api` and `report` commands.",
        "",
    ]
    for words, node in parsers.items():
        formatter = argparse.HelpFormatter(node.prog)
        lines += [f"## {code(' '.join(('wartezone', *words)))} {{#{_command_anchor(words)}}}", ""]
        summary = node.description or _help_of(parsers[words[:-1]], words[-1])
        if summary:
            lines += [cell(summary), ""]
        lines += ["```text", _usage(node), "```", ""]
        rows = []
        for action in node._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            name = ", ".join(action.option_strings) or (action.metavar or action.dest)
            text = formatter._expand_help(action) if action.help else ""
            rows.append((code(name), cell(str(text))))
        if rows:
            lines += [*table(("argument", "meaning"), rows), ""]
        commands = [
            (
                f"[{code(' '.join(('wartezone', *child)))}](#{_command_anchor(child)})",
                cell(_help_of(node, child[-1])),
            )
            for child in parsers
            if child[:-1] == words and len(child) == len(words) + 1
        ]
        if commands:
            lines += [*table(("command", "what it does"), commands), ""]
        if node.epilog:
            lines += ["```sh", node.epilog.removeprefix("example: ").strip(), "```", ""]
    return "\n".join(lines)


# ---- MkDocs hooks -----------------------------------------------------------------------------------


GENERATORS: dict[str, Callable[[], str]] = {
    CONFIG_PAGE: edge_config_page,
    SETTINGS_PAGE: api_settings_page,
    METRICS_PAGE: metrics_page,
    CLI_PAGE: cli_page,
    CHANGELOG_PAGE: lambda: CHANGELOG.read_text(encoding="utf-8"),
}


def on_config(config: Any) -> Any:
    config["copyright"] = f"Wartezone {wartezone_version()} · {LICENCE}"
    return config


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for page, make in GENERATORS.items():
        files.append(File.generated(config, page, content=make()))
    # The privacy sheet's printable pages, under a name that does not clash with its .md pages'.
    for sheet in sorted((REPO / "docs" / "privacy-sheet").glob("*.html")):
        files.append(File.generated(config, f"{PRINTABLE_SHEETS}/{sheet.name}", abs_src_path=str(sheet)))
    description = openapi()
    files.append(File.generated(config, API_PAGE, content=api_page(description)))
    files.append(File.generated(config, OPENAPI_FILE, content=json.dumps(description, indent=2)))
    return files

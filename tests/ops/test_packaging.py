"""The install splits by role: a small core both sides import, `[edge]` for the box (OpenVINO,
onnxruntime, OpenCV, the tracker), `[api]` for the staffing-alert API (FastAPI, uvicorn, httpx).

Checked two ways: every import in edge/ and api/, at any depth (a lazy import inside a function
included), against what the other side must never import and against what the side's own extras
install; and what an install of one extra brings, read from the installed metadata (the
requirements of wartezone and, transitively, of every distribution they name). A slow test installs
wartezone[api] for real into a fresh environment.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.ops.grafana_queries import REPO

PROJECT = "wartezone"
LOCAL = {"edge", "api", "wartezone_contract"}
# Each side and the extras that install what it imports: at module level the side's own; inside a
# function also the optional backends (edge/detect/ultralytics.py imports torch when it is chosen).
SIDES = {
    "edge": {"eager": {"edge"}, "lazy": {"edge", "ultralytics"}},
    "api": {"eager": {"api"}, "lazy": {"api"}},
}
# What a side never imports, at any depth: the other side's code and stack.
FORBIDDEN = {
    "edge": {"api", "fastapi", "starlette", "uvicorn", "httpx"},
    "api": {
        "edge",
        "cv2",
        "numpy",
        "openvino",
        "onnxruntime",
        "torch",
        "ultralytics",
    },
}
# What an install of one extra must not bring, directly or through a dependency.
NOT_INSTALLED = {
    "edge": {"fastapi", "starlette", "uvicorn", "httpx"},
    "api": {
        "opencv-python",
        "opencv-python-headless",
        "openvino",
        "onnxruntime",
        "numpy",
        "scipy",
        "matplotlib",
        "torch",
        "ultralytics",
    },
}
# Imported by tests but installed by Debian, not pip: GStreamer's bindings (scripts/setup.sh --dev).
SYSTEM_MODULES = {"gi"}


@dataclass(frozen=True)
class Import:
    module: str  # the top-level name: "cv2" for `from cv2.typing import MatLike`
    lazy: bool  # inside a function: runs only when it is called
    where: str


class _Imports(ast.NodeVisitor):
    def __init__(self, where: str) -> None:
        self.where = where
        self.depth = 0
        self.found: set[Import] = set()

    def _add(self, name: str, node: ast.AST) -> None:
        line = getattr(node, "lineno", 0)
        self.found.add(Import(name.split(".")[0], self.depth > 0, f"{self.where}:{line}"))

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:  # a relative import stays inside the package
            self._add(node.module, node)

    def visit_Call(self, node: ast.Call) -> None:
        """importlib.import_module("x") and __import__("x") with a literal name."""
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in {"import_module", "__import__"} and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                self._add(first.value, node)
        self.generic_visit(node)


def imports_in(source: str, where: str = "<text>") -> set[Import]:
    visitor = _Imports(where)
    visitor.visit(ast.parse(source))
    return visitor.found


def imports_of(paths: Iterable[Path]) -> set[Import]:
    found: set[Import] = set()
    for path in paths:
        found |= imports_in(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))
    return found


def side_files(side: str) -> list[Path]:
    return sorted((REPO / side).rglob("*.py"))


def installed_by(extras: Iterable[str]) -> set[str]:
    """Canonical names of the distributions that `pip install wartezone[EXTRAS]` brings, read from
    the metadata installed here (every requirement whose marker holds, followed transitively)."""
    found: set[str] = set()
    done: set[tuple[str, frozenset[str]]] = set()
    todo = [(PROJECT, frozenset(extras))]
    while todo:
        name, wanted = todo.pop()
        if (name, wanted) in done:
            continue
        done.add((name, wanted))
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            pytest.fail(f"{name} is required but not installed here: run scripts/setup.sh --dev")
        for text in requires:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is not None and not any(marker.evaluate({"extra": e}) for e in wanted | {""}):
                continue
            key = canonicalize_name(requirement.name)
            found.add(key)
            todo.append((key, frozenset(requirement.extras)))
    found.discard(PROJECT)
    return found


@cache
def _module_owners() -> Mapping[str, list[str]]:
    return packages_distributions()  # reads every installed distribution's file list: once


def distributions_of(module: str) -> set[str]:
    return {canonicalize_name(name) for name in _module_owners().get(module, [])}


def _third_party(found: set[Import], local: set[str] = LOCAL) -> set[Import]:
    # _typeshed: the standard library's types, importable only under TYPE_CHECKING
    standard = sys.stdlib_module_names | {"_typeshed"}
    return {i for i in found if i.module not in standard and i.module not in local}


# ---- the import scanner itself


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("", set()),
        ("import cv2", {("cv2", False)}),
        ("import numpy.typing as npt, yaml", {("numpy", False), ("yaml", False)}),
        ("from openvino.preprocess import PrePostProcessor", {("openvino", False)}),
        ("from . import base\nfrom .base import Detector", set()),
        ("def load():\n    import torch\n    return torch", {("torch", True)}),
        ("class A:\n    async def run(self):\n        from fastapi import FastAPI", {("fastapi", True)}),
        ("try:\n    import uvicorn\nexcept ImportError:\n    uvicorn = None", {("uvicorn", False)}),
        (
            "import importlib\ndef f():\n    importlib.import_module('httpx.x')",
            {("importlib", False), ("httpx", True)},
        ),
    ],
    ids=[
        "empty",
        "plain",
        "dotted and two",
        "from",
        "relative",
        "in a function",
        "in a method",
        "guarded",
        "dynamic",
    ],
)
def test_imports_are_found_at_any_depth(source: str, expected: set[tuple[str, bool]]) -> None:
    assert {(i.module, i.lazy) for i in imports_in(source)} == expected


# ---- what the code imports


@pytest.mark.parametrize("side", SIDES)
def test_a_side_never_imports_the_other(side: str) -> None:
    found = imports_of(side_files(side))
    assert found, f"no import found in {side}/"
    crossing = sorted(f"{i.where}: {i.module}" for i in found if i.module in FORBIDDEN[side])
    assert not crossing, f"{side}/ imports the other side's stack:\n" + "\n".join(crossing)


@pytest.mark.parametrize("side", SIDES)
def test_every_import_is_installed_by_the_side_extras(side: str) -> None:
    eager, lazy = installed_by(SIDES[side]["eager"]), installed_by(SIDES[side]["lazy"])
    missing = []
    for item in sorted(_third_party(imports_of(side_files(side))), key=lambda i: i.where):
        provided = distributions_of(item.module)
        assert provided, f"{item.where}: {item.module} is installed by no distribution here"
        if not provided & (lazy if item.lazy else eager):
            extras = SIDES[side]["lazy" if item.lazy else "eager"]
            missing.append(
                f"{item.where}: {item.module} ({', '.join(sorted(provided))}) not in {sorted(extras)}"
            )
    assert not missing, "\n".join(missing)


def test_the_contract_needs_nothing() -> None:
    """wartezone_contract is what both sides import, so it imports nothing outside the standard library."""
    found = imports_of([REPO / "wartezone_contract.py"])
    assert not _third_party(found, local=set()), found


def test_dev_installs_what_the_tests_import() -> None:
    tests = sorted((REPO / "tests").rglob("*.py"))
    local = (
        LOCAL
        | {"tests"}
        | {path.stem for path in tests}
        | {p.name for p in (REPO / "tests").rglob("*") if p.is_dir()}
    )
    installed = installed_by({"dev", "ultralytics"})
    missing = sorted(
        f"{i.where}: {i.module}"
        for i in _third_party(imports_of(tests), local)
        if i.module not in SYSTEM_MODULES and not distributions_of(i.module) & installed
    )
    assert not missing, "tests import what .[dev] does not install:\n" + "\n".join(missing)


# ---- what an install brings


@pytest.mark.parametrize("side", SIDES)
def test_an_install_of_one_side_brings_none_of_the_other(side: str) -> None:
    brought = installed_by({side})
    assert brought, f"wartezone[{side}] installs nothing"
    assert not brought & NOT_INSTALLED[side], (
        f"wartezone[{side}] brings {sorted(brought & NOT_INSTALLED[side])}"
    )


def test_the_core_is_small() -> None:
    core = installed_by(set())
    assert {"pydantic", "pyyaml", "prometheus-client"} <= core
    assert not core & (NOT_INSTALLED["edge"] | NOT_INSTALLED["api"]), sorted(core)


@pytest.mark.parametrize(
    ("extras", "expected"),
    [
        (set(), set()),
        ({"nothing-by-that-name"}, set()),
        ({"edge"}, {"openvino", "numpy"}),
        ({"dev"}, {"fastapi", "openvino", "pytest"}),  # dev names wartezone[edge,api]
    ],
    ids=["core", "unknown extra", "edge", "dev"],
)
def test_installed_by_follows_extras_and_markers(extras: set[str], expected: set[str]) -> None:
    brought = installed_by(extras)
    assert expected <= brought
    if not expected:
        assert brought == installed_by(set())


def test_setup_installs_both_sides_for_the_demo_and_everything_for_development() -> None:
    script = (REPO / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert re.findall(r'^\s*extras="(.*)"$', script, re.M) == ["[edge,api]", "[edge,api,dev,ultralytics]"]


# ---- a real install


def _install_copy(
    tmp_path: Path, package: str, extras: str, *options: str
) -> tuple[Path, dict[str, str], subprocess.CompletedProcess[str]]:
    """`package` of this checkout, copied (a build writes into its source tree) with what every
    build reads (the contract, the models as data files), pip-installed with `extras` into a fresh
    environment without system site packages: (the environment, its variables, pip's result)."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "wartezone_contract.py"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    (source / "models").mkdir()
    for model in (REPO / "models").glob("*.onnx*"):  # the models and their manifests
        shutil.copy2(model, source / "models" / model.name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *options, f"{source}{extras}"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    return venv, env, done


@pytest.mark.slow
def test_a_real_api_install_has_no_edge_stack(tmp_path: Path) -> None:
    """wartezone[api] from this checkout into a fresh environment (no system site packages), from the
    package registries: the API imports, the edge's stack is absent."""
    venv, env, done = _install_copy(tmp_path, "api", "[api]")
    python = str(venv / "bin" / "python")
    assert done.returncode == 0, done.stderr[-3000:]
    absent = sorted(FORBIDDEN["api"])
    check = (
        "import importlib.util as u, sys\n"
        "import api.app, api.cli, api.metrics, api.settings, wartezone_contract\n"
        f"print([m for m in {absent!r} if u.find_spec(m)])\n"
    )
    done = subprocess.run(
        [python, "-c", check], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]", f"the API install holds {done.stdout.strip()}"
    listed = subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True, timeout=120, env=env
    )
    names = {canonicalize_name(line.split("==")[0]) for line in listed.stdout.splitlines() if "==" in line}
    assert "fastapi" in names and not names & NOT_INSTALLED["api"], sorted(names)


@pytest.mark.slow
def test_an_installed_edge_finds_its_model_and_setup_page_without_the_checkout(tmp_path: Path) -> None:
    """A plain (non-editable) install, run away from this checkout, finds the default model where the
    wheel put it (share/wartezone/models) and accepts it against its manifest, and serves the setup
    page's files (package data) as they are in the checkout."""
    venv, env, done = _install_copy(tmp_path, "edge", "", "--no-deps")
    python = str(venv / "bin" / "python")
    assert done.returncode == 0, done.stderr[-3000:]
    # The dependencies come from this environment's site-packages on PYTHONPATH; `edge` itself does
    # not (it is installed there as editable, through a .pth file that PYTHONPATH does not read).
    dependencies = next(p for p in sys.path if p.endswith("site-packages"))
    check = (
        "import hashlib, importlib.resources as r, edge, edge.config as c, edge.detect as d\n"
        "import edge.setup.server as s\n"
        "model = c.default_model()\n"
        "print(edge.__file__, model, d.verify_model(model).sha256)\n"
        "s.page_files()\n"  # what the setup server reads at its start
        "static = r.files('edge.setup') / 'static'\n"
        "print(sorted((f.name, hashlib.sha256(f.read_bytes()).hexdigest()) for f in static.iterdir()))\n"
    )
    done = subprocess.run(
        [python, "-c", check],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env | {"PYTHONPATH": dependencies},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found, pages = done.stdout.splitlines()
    module, model, sha256 = found.split()
    assert module.startswith(str(venv)) and model.startswith(str(venv / "share" / "wartezone" / "models"))
    manifest = json.loads((REPO / "models" / "yolo11n-pose.onnx.manifest.json").read_text(encoding="utf-8"))
    assert sha256 == manifest["sha256"]
    # Every file of the setup page, as it is here.
    static = sorted((REPO / "edge" / "setup" / "static").iterdir())
    assert "setup.html" in [f.name for f in static]
    assert pages == str([(f.name, hashlib.sha256(f.read_bytes()).hexdigest()) for f in static])

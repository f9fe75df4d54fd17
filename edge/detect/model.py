"""Model files come with a manifest; a file whose sha256 differs from it is refused."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path


class ModelError(Exception):
    """A model file that must not be run: missing, unreadable, or not the one its manifest names."""


@dataclass(frozen=True, slots=True)
class ModelManifest:
    name: str
    sha256: str
    licence: str
    input_size: str


def manifest_path(model: Path) -> Path:
    return model.with_name(model.name + ".manifest.json")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_model(model: Path) -> ModelManifest:
    """Check the model file against its manifest before anything loads it."""
    if not model.is_file():
        raise ModelError(f"model file {model} does not exist")
    manifest_file = manifest_path(model)
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        expected = str(manifest["sha256"])
    except (OSError, ValueError, KeyError) as error:
        raise ModelError(f"model manifest {manifest_file} is missing or unreadable ({error})") from None
    actual = file_sha256(model)
    if actual != expected:
        raise ModelError(
            f"model file {model} has sha256 {actual}, but its manifest expects {expected}: "
            "the file was changed or replaced"
        )
    return ModelManifest(
        name=str(manifest.get("name", model.stem)),
        sha256=actual,
        licence=str(manifest.get("licence", "unknown")),
        input_size=str(manifest.get("input_size", "unknown")),
    )

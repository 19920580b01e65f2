"""Named test inputs: the files beside this module, by kind (see README.md).

    CONTRACT = assets.text("contracts/image-sbom-optional-rootfs.yaml")
    GITHUB_ENV = assets.env("ci/github-push-main.json")

Names are paths relative to this folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent


def path(name: str) -> Path:
    """The asset file ``name``; an error if there is none."""
    found = ROOT / name
    if not found.is_file():
        raise FileNotFoundError(f"no test asset {name!r} in {ROOT}")
    return found


def text(name: str) -> str:
    """The asset's text, exactly as stored (UTF-8)."""
    return path(name).read_bytes().decode("utf-8")


def data(name: str) -> Any:
    """The asset parsed: YAML for ``.yaml``/``.yml``, JSON otherwise."""
    if name.endswith((".yaml", ".yml")):
        return yaml.safe_load(text(name))
    return json.loads(text(name))


def env(name: str) -> dict[str, str]:
    """A CI environment: a JSON object of variable names to string values."""
    loaded = data(name)
    if not isinstance(loaded, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in loaded.items()
    ):
        raise ValueError(f"test asset {name!r} is not an object of strings")
    return dict(loaded)

"""The inventory: every workflow SecOps expects to attest, who owns it and how often it runs.

``workflows.yaml``::

    apiVersion: attestlake.dev/v1
    kind: Inventory
    metadata:
      name: cyberdyne            # optional (default: workflows); the published name
    workflows:
      - workflow: build          # as given to 'attest init --workflow'
        project: skynet          # as given to 'attest init --project'
        team: ai
        owner: sarah.connor@cyberdyne.example
        contract: skynet-build   # the published contract it must attest against
        cadence: daily           # hourly, daily, weekly, monthly, on-demand, or <N>h/<N>d/<N>w

It is published and pulled like a contract (:mod:`attestlake.contracts.publish`, kind ``inventory``), so
the crawler can find workflows that never attested or stopped attesting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attestlake._internal._files import read_input
from attestlake.contracts.contracts import _Doc
from attestlake.errors import ContractError

_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_CADENCE_RE = re.compile(r"^(?P<n>[1-9][0-9]{0,3})(?P<unit>[hdw])$")
_NAMED_CADENCES = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400, "monthly": 30 * 86400}
_ON_DEMAND = ("on-demand", "manual")
_UNITS = {"h": 3600, "d": 86400, "w": 7 * 86400}
_FIELDS = ("workflow", "project", "team", "owner", "contract", "cadence")
MAX_INVENTORY_SIZE = 4 * 1024 * 1024


class InventoryError(ContractError):
    """An inventory file is malformed; the message names the field and line."""


@dataclass(frozen=True)
class WorkflowEntry:
    workflow: str
    project: str
    team: str | None
    owner: str | None
    contract: str | None
    cadence: str | None
    #: Seconds between expected runs; None for on-demand workflows.
    cadence_seconds: int | None


@dataclass(frozen=True)
class Inventory:
    name: str
    workflows: tuple[WorkflowEntry, ...]
    raw: bytes


def cadence_seconds(value: str) -> int | None:
    """Seconds for a cadence (``daily``, ``12h``, ...); None for on-demand; ValueError if bad."""
    value = value.strip().lower()
    if value in _ON_DEMAND:
        return None
    if value in _NAMED_CADENCES:
        return _NAMED_CADENCES[value]
    match = _CADENCE_RE.match(value)
    if match is None:
        raise ValueError(value)
    return int(match["n"]) * _UNITS[match["unit"]]


def _entry(doc: _Doc, item: Any, i: int) -> WorkflowEntry:
    path: tuple[str | int, ...] = ("workflows", i)
    if not isinstance(item, dict):
        raise doc.fail(path, "must be a mapping with workflow and project")
    unknown = set(item) - set(_FIELDS)
    if unknown:
        raise doc.fail(
            (*path, sorted(unknown)[0]), f"unknown field (expected {', '.join(_FIELDS)})"
        )
    values: dict[str, str | None] = {}
    for key in _FIELDS:
        value = item.get(key)
        if value is not None and not isinstance(value, str):
            raise doc.fail((*path, key), "must be a string")
        values[key] = value or None
    for key in ("workflow", "project"):
        if not values[key] or not str(values[key]).strip():
            raise doc.fail(path, f"needs a '{key}'")
    if values["contract"] is not None and not _NAME_RE.match(values["contract"]):
        raise doc.fail((*path, "contract"), "a contract name: lower-case letters, digits and '-'")
    seconds = None
    if values["cadence"] is not None:
        try:
            seconds = cadence_seconds(values["cadence"])
        except ValueError:
            raise doc.fail(
                (*path, "cadence"),
                "hourly, daily, weekly, monthly, on-demand, or a number with h, d or w (12h, 2d)",
            ) from None
    return WorkflowEntry(
        workflow=str(values["workflow"]),
        project=str(values["project"]),
        team=values["team"],
        owner=values["owner"],
        contract=values["contract"],
        cadence=values["cadence"],
        cadence_seconds=seconds,
    )


def parse_inventory(raw: bytes, *, source: str = "<inventory>") -> Inventory:
    """Parse and lint inventory bytes; InventoryError names the field and line."""
    if len(raw) > MAX_INVENTORY_SIZE:
        raise InventoryError(f"{source}: inventory larger than {MAX_INVENTORY_SIZE} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InventoryError(f"{source}: not UTF-8 text") from None
    try:
        doc = _Doc(text, source)
    except ContractError as exc:
        raise InventoryError(str(exc)) from None
    data = doc.data
    if not isinstance(data, dict):
        raise InventoryError(f"{source}:1: inventory: must be a YAML mapping")
    try:
        return _parse(doc, data, raw)
    except ContractError as exc:
        raise InventoryError(str(exc)) from None


def _parse(doc: _Doc, data: dict[str, Any], raw: bytes) -> Inventory:
    if data.get("apiVersion") != "attestlake.dev/v1":
        raise doc.fail(("apiVersion",), "must be attestlake.dev/v1")
    if data.get("kind") != "Inventory":
        raise doc.fail(("kind",), "must be Inventory")
    unknown = set(data) - {"apiVersion", "kind", "metadata", "workflows"}
    if unknown:
        raise doc.fail((sorted(unknown)[0],), "unknown field")
    metadata = data.get("metadata") or {}
    name = metadata.get("name", "workflows") if isinstance(metadata, dict) else None
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise doc.fail(("metadata", "name"), "lower-case letters, digits and '-' only")
    items = data.get("workflows")
    if not isinstance(items, list) or not items:
        raise doc.fail(("workflows",), "must be a non-empty list")
    entries: list[WorkflowEntry] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(items):
        entry = _entry(doc, item, i)
        if (entry.project, entry.workflow) in seen:
            raise doc.fail(
                ("workflows", i), f"duplicate workflow {entry.workflow!r} of {entry.project!r}"
            )
        seen.add((entry.project, entry.workflow))
        entries.append(entry)
    return Inventory(name, tuple(entries), raw)


def load_inventory(path: Path | str) -> Inventory:
    p = Path(path)
    return parse_inventory(read_input(p, "inventory"), source=str(p))

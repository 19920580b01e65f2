"""The run state keeps its contract parsed beside the contract's bytes: a step reads it back
without YAML, a step that signs parses the bytes again and refuses a state where they differ."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from attestlake.collect.collector import Attestation
from attestlake.collect.record import RunRecord
from attestlake.collect.run_state import load, save
from attestlake.contracts.contracts import parse_contract
from attestlake.contracts.model import Contract
from attestlake.errors import InputError
from tests import assets

CONTRACTS = sorted(p.name for p in (assets.ROOT / "contracts").glob("*.yaml"))

POLICIES = b"""apiVersion: attestlake.dev/v1
kind: Contract
metadata:
  name: app-build
spec:
  materials:
    - name: notes
      type: STRING
      annotations:
        - name: owner
        - name: tier
          value: gold
  annotations:
    - name: team
  policies:
    - sbom_covers_image
    - policy: checks/no-gpl.sql
      with:
        deny: GPL-3.0-only
        max: 3
"""


def _contract(name: str) -> tuple[bytes, Contract]:
    raw = POLICIES if name == "policies" else assets.path(f"contracts/{name}").read_bytes()
    return raw, parse_contract(raw, source=name)


def _state(tmp_path: Path, contract: Contract) -> Path:
    att = RunRecord.init(
        contract, workflow="build", project="shop", env={}, run_id="run-1", dry_run=True
    )
    path = tmp_path / "attestation.json"
    save(att, path)
    return path


def _edit(path: Path, change: Any) -> bytes:
    state = json.loads(path.read_bytes())
    change(state)
    path.write_text(json.dumps(state), encoding="utf-8")
    return path.read_bytes()


@pytest.mark.parametrize("name", [*CONTRACTS, "policies"])
def test_the_parsed_contract_read_back_is_the_contract_the_bytes_give(
    tmp_path: Path, name: str
) -> None:
    raw, contract = _contract(name)
    path = _state(tmp_path, contract)

    assert load(path).contract == contract
    assert load(path, check_contract=True).contract == contract
    assert Contract.from_state(json.loads(json.dumps(contract.to_state())), raw) == contract


def test_a_state_without_the_parsed_contract_has_its_bytes_parsed(tmp_path: Path) -> None:
    _, contract = _contract("policies")
    path = _state(tmp_path, contract)
    _edit(path, lambda s: s.pop("contractParsed"))

    assert load(path).contract == contract


def test_a_parsed_contract_that_differs_from_the_bytes_is_refused_where_it_signs(
    tmp_path: Path,
) -> None:
    """A state whose parsed contract asks for less than its bytes (a required material made
    optional): read as it is by ``status``, refused by ``push`` and ``reset``, and by a run
    loaded through the library, which may push it."""
    _, contract = _contract("policies")
    path = _state(tmp_path, contract)

    def loosen(state: dict[str, Any]) -> None:
        state["contractParsed"]["materials"][0]["optional"] = True

    written = _edit(path, loosen)
    assert load(path).contract.materials[0].optional  # what status shows
    for reader in (lambda: load(path, check_contract=True), lambda: Attestation.load(path)):
        with pytest.raises(InputError, match=r"is damaged .*differs from the contract's bytes"):
            reader()
    assert path.read_bytes() == written  # nothing rewritten


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s["contractParsed"].update(revision="1"),
        lambda s: s["contractParsed"].update(materials={"name": "notes"}),
        lambda s: s["contractParsed"]["materials"][0].update(optional="no"),
        lambda s: s["contractParsed"]["materials"][0].pop("kind"),
        lambda s: s["contractParsed"].update(annotations=[["team"]]),
        lambda s: s["contractParsed"].update(policies=[["x", [["a", 1]]]]),
        lambda s: s.update(contractParsed=None) or s.update(contract="not base64!"),
    ],
    ids=[
        "revision-text",
        "materials-mapping",
        "flag-text",
        "kind-missing",
        "annotation-short",
        "param-number",
        "bytes-damaged",
    ],
)
def test_a_damaged_parsed_contract_is_a_clear_error(tmp_path: Path, change: Any) -> None:
    _, contract = _contract("policies")
    path = _state(tmp_path, contract)
    _edit(path, change)

    with pytest.raises(InputError, match=r"attestation\.json is damaged \(.*attest init' again"):
        load(path)


def test_the_parsed_contract_keeps_a_published_contracts_name_and_revision(
    tmp_path: Path,
) -> None:
    """A contract pulled from a store carries the store's name and revision, which the
    bytes need not state: both reads give them."""
    raw, contract = _contract("policies")
    path = _state(tmp_path, contract)

    def publish(state: dict[str, Any]) -> None:
        state["contractName"] = "published"
        state["contractRevision"] = 7
        state["contractParsed"].update(name="published", revision=7)

    _edit(path, publish)
    for check in (False, True):
        read = load(path, check_contract=check).contract
        assert (read.name, read.revision, read.raw) == ("published", 7, raw)
    assert base64.b64decode(json.loads(path.read_bytes())["contract"]) == raw

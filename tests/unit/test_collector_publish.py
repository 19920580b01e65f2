"""Contracts and the inventory published to a store: revisions, latest, pins, and their lint."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from attestlake.contracts.contracts import parse_contract
from attestlake.contracts.inventory import InventoryError, cadence_seconds, parse_inventory
from attestlake.contracts.model import contract_changes
from attestlake.contracts.publish import (
    latest,
    parse_reference,
    publish,
    publish_contract,
    published_name,
    pull_contract,
    revisions,
)
from attestlake.errors import InputError, PublishError
from attestlake.store.layout import LayoutStore
from tests import assets

V1 = assets.path("contracts/image-only.yaml").read_bytes()
V2 = assets.path("contracts/github-image-sbom-optional-sarif.yaml").read_bytes()
INVENTORY = assets.path("inventories/cyberdyne-three-workflows.yaml").read_bytes()
T = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def test_publish_assigns_revisions_and_moves_latest(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path / "store")
    first = publish_contract(store, parse_contract(V1), now=T)
    assert (first.revision.revision, first.unchanged, first.previous) == (1, False, None)
    again = publish_contract(store, parse_contract(V1))
    assert again.unchanged and again.revision.revision == 1
    second = publish_contract(store, parse_contract(V2))
    assert (second.revision.revision, second.previous) == (2, 1)

    latest_rev = latest(store, "contract", "skynet-build")
    assert latest_rev is not None and latest_rev.revision == 2
    listed = list(revisions(store, "contract"))
    assert [(r.name, r.revision, r.tag) for r in listed] == [
        ("skynet-build", 1, "contract-skynet-build.r1"),
        ("skynet-build", 2, "contract-skynet-build.r2"),
    ]
    assert listed[0].created == "2025-05-01T12:00:00Z"
    assert sorted(store.tags()) == [
        "contract-skynet-build.latest",
        "contract-skynet-build.r1",
        "contract-skynet-build.r2",
    ]
    manifest = store.get_manifest("contract-skynet-build.r2")
    assert manifest.artifact_type == "application/vnd.attestlake.contract.v1+yaml"
    assert manifest.annotations["dev.attestlake.kind"] == "contract"
    assert store.get_blob(manifest.layers[0].digest) == V2  # the exact bytes


def test_pull_latest_or_pinned_and_what_the_latest_adds(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path / "store")
    publish_contract(store, parse_contract(V1))
    publish_contract(store, parse_contract(V2))
    ref = f"oci:{tmp_path / 'store'}#skynet-build"

    current = pull_contract(ref)
    assert current.contract.revision == 2 and current.warning() is None
    assert current.source == f"{ref}@2"
    assert current.contract.digest == parse_contract(V2).digest

    pinned = pull_contract(f"{ref}@1")
    assert pinned.contract.revision == 1 and pinned.latest_revision == 2
    warning = pinned.warning()
    assert warning is not None
    assert "pinned to revision 1, but revision 2 is the latest" in warning
    assert "requires material sbom (SBOM_CYCLONEDX_JSON)" in warning
    assert "adds optional material scan (SARIF)" in warning
    assert "requires annotation owner" in warning and "allows runners GITHUB_ACTION" in warning

    by_digest = pull_contract(f"{ref}@{parse_contract(V1).digest}")
    assert by_digest.contract.revision == 1
    with pytest.raises(PublishError, match="revision 9 of contract skynet-build is not published"):
        pull_contract(f"{ref}@9")
    with pytest.raises(PublishError, match="contract other is not published"):
        pull_contract(f"oci:{tmp_path / 'store'}#other")


def test_revisions_are_immutable(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path / "store")
    declared = V1.replace(b"name: skynet-build\n", b"name: skynet-build\n  revision: 3\n")
    assert publish_contract(store, parse_contract(declared)).revision.revision == 3
    edited = declared + b"    - {type: STRING, name: version}\n"
    with pytest.raises(PublishError, match="revision 3 is already published with other content"):
        publish_contract(store, parse_contract(edited))
    bumped = edited.replace(b"revision: 3", b"revision: 4")
    assert publish_contract(store, parse_contract(bumped)).revision.revision == 4


def test_legacy_contract_needs_a_name(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path / "store")
    legacy = parse_contract(b"schemaVersion: v1\nmaterials: []\n", source="build.yaml")
    result = publish_contract(store, legacy, name="legacy-build")
    assert result.revision.name == "legacy-build"
    pulled = pull_contract(f"oci:{tmp_path / 'store'}#legacy-build")
    assert pulled.contract.name == "legacy-build"
    with pytest.raises(PublishError, match="lower-case"):
        publish(store, "contract", "Bad Name", b"x")


@pytest.mark.parametrize(
    "text",
    [
        "oci:dir",
        "oci:dir#",
        "oci:dir#Name",
        "#name",
        "oci:dir#name@latest",
        "oci:dir#name@sha256:12",
    ],
)
def test_bad_references(text: str) -> None:
    with pytest.raises(PublishError, match="STORE#NAME"):
        parse_reference(text)


def test_references() -> None:
    ref = parse_reference("registry.example:5000/secops/contracts#build@3")
    assert (ref.store, ref.name, ref.revision, ref.digest) == (
        "registry.example:5000/secops/contracts",
        "build",
        3,
        None,
    )
    assert str(ref) == "registry.example:5000/secops/contracts#build@3" and ref.pinned
    assert not parse_reference("oci:a#b").pinned


def test_contract_changes() -> None:
    old, new = parse_contract(V2), parse_contract(V1)
    assert contract_changes(old, new) == [
        "no longer lists material sbom",
        "no longer lists material scan",
        "allows any runner",
    ]
    optional = V2.replace(b"name: sbom}", b"name: sbom, optional: true}")
    assert contract_changes(parse_contract(optional), parse_contract(V2)) == [
        "makes material sbom required"
    ]


# -- inventory -------------------------------------------------------------------------------
def test_inventory_parses_and_publishes(tmp_path: Path) -> None:
    inv = parse_inventory(INVENTORY)
    assert inv.name == "cyberdyne"
    build, release, nightly = inv.workflows
    assert (build.owner, build.contract, build.cadence_seconds) == (
        "sarah@cyberdyne.example",
        "skynet-build",
        86400,
    )
    assert release.cadence_seconds is None and nightly.cadence_seconds == 12 * 3600
    store = LayoutStore(tmp_path / "store")
    assert publish(store, "inventory", inv.name, inv.raw).revision.tag == "inventory-cyberdyne.r1"
    assert latest(store, "inventory", "cyberdyne") is not None


def test_the_one_published_inventory_is_found_by_its_name(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path / "store")
    with pytest.raises(PublishError, match=r"^no inventory is published in "):
        published_name(store, "inventory")
    inv = parse_inventory(INVENTORY)
    publish(store, "inventory", inv.name, inv.raw)
    publish(store, "inventory", inv.name, inv.raw.replace(b"cadence: 12h", b"cadence: 6h"))
    publish(store, "contract", "skynet", b"not read")  # another kind is not an inventory
    assert published_name(store, "inventory") == "cyberdyne"
    publish(store, "inventory", "cyberdyne-eu", inv.raw)
    with pytest.raises(PublishError) as info:
        published_name(store, "inventory")
    assert str(info.value).endswith(
        "holds 2 inventory names (cyberdyne, cyberdyne-eu): give --name"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (INVENTORY.replace(b"kind: Inventory", b"kind: List"), ":2: kind: must be Inventory"),
        (INVENTORY.replace(b"cadence: 12h", b"cadence: sometimes"), "workflows[2].cadence"),
        (INVENTORY.replace(b"workflow: release", b"workflow: build"), "duplicate workflow"),
        (INVENTORY.replace(b"team: ai, cadence: on", b"tema: ai, cadence: on"), "unknown field"),
        (INVENTORY.replace(b"project: t800, ", b""), "needs a 'project'"),
    ],
)
def test_inventory_errors_name_the_field_and_line(text: bytes, message: str) -> None:
    with pytest.raises(InventoryError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_inventory(text, source="workflows.yaml")
    assert issubclass(InventoryError, InputError)


def test_cadences() -> None:
    assert cadence_seconds("hourly") == 3600 and cadence_seconds("2w") == 14 * 86400
    assert cadence_seconds("manual") is None
    with pytest.raises(ValueError):
        cadence_seconds("0d")

"""Published contracts and inventories crawled from an OCI layout store: every revision read
once, the current inventory by revision, and a hand-made bad revision recorded, not fatal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from attestlake.contracts.publish import media_type, publish, revision_tag
from attestlake.crawl.crawl import crawl
from attestlake.crawl.crawl_result import Outcomes
from attestlake.lake.lake import Lake
from attestlake.store import Descriptor, Manifest
from attestlake.store.layout import LayoutStore
from attestlake.store.oci import EMPTY_JSON, EMPTY_MEDIA_TYPE
from attestlake.verify.verify import load_policy
from tests import assets
from tests.declared import secops

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
CONTRACT = assets.text("contracts/image-optional-sbom.yaml")
INVENTORY = assets.text("inventories/app-build-daily.yaml")


def _hand_published(store: LayoutStore, kind: str, name: str, revision: int, raw: bytes) -> None:
    """What someone with write access could push, bypassing 'attestlake contract push'."""
    store.put_blob(EMPTY_JSON, EMPTY_MEDIA_TYPE)
    layer = store.put_blob(raw, media_type(kind))
    manifest = Manifest.build(
        artifact_type=media_type(kind),
        layers=[Descriptor(layer.media_type, layer.digest, layer.size)],
        annotations={
            "dev.attestlake.kind": kind,
            "dev.attestlake.name": name,
            "dev.attestlake.revision": str(revision),
            "org.opencontainers.image.created": "2024-05-30T00:00:00Z",
        },
    )
    store.put_manifest(manifest, tag=revision_tag(kind, name, revision))


def test_published_documents_are_read_once_and_bad_ones_recorded(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path / "store")
    signer, declared = secops(tmp_path, "oci:store")
    for optional in ("true", "false"):
        contract = CONTRACT.replace("optional: true", f"optional: {optional}")
        publish(store, "contract", "build", contract.encode(), now=NOW, signer=signer)
    publish(store, "inventory", "org", INVENTORY.encode(), now=NOW, signer=signer)
    publish(
        store,
        "inventory",
        "org",
        INVENTORY.replace("cadence: daily", "cadence: 2w").encode(),
        now=NOW,
        signer=signer,
    )
    _hand_published(store, "contract", "broken", 1, b"kind: [not a contract")
    _hand_published(store, "inventory", "binary", 1, b"\xff\xfe not UTF-8")
    (tmp_path / "trust.yaml").write_text("keys: []\n" + declared)
    policy = load_policy(tmp_path / "trust.yaml")

    first = crawl(store, tmp_path / "lake", policy, now=NOW)
    assert first.published == {"contract": 3, "inventory": 3}
    assert (first.ingested, first.verified, first.documents, first.other_manifests) == (0, 0, 0, 0)
    again = crawl(store, tmp_path / "lake", policy, now=NOW)
    assert again.published == {} and again.already_known == 0

    with Lake.open(tmp_path / "lake") as lake:
        docs = lake.sql(
            "SELECT kind, name, revision, error IS NOT NULL AS bad, content IS NOT NULL AS kept "
            "FROM published_documents ORDER BY kind, name, revision"
        ).to_pylist()
        assert [(d["kind"], d["name"], d["revision"], d["bad"], d["kept"]) for d in docs] == [
            ("contract", "broken", 1, True, True),
            ("contract", "build", 1, False, True),
            ("contract", "build", 2, False, True),
            ("inventory", "binary", 1, True, False),
            ("inventory", "org", 1, False, True),
            ("inventory", "org", 2, False, True),
        ]
        required = lake.sql(
            "SELECT contract_revision, material_name, optional FROM contract_requirements "
            "ORDER BY ALL"
        ).to_pylist()
        assert [tuple(r.values()) for r in required] == [
            (1, "image", False),
            (1, "sbom", True),
            (2, "image", False),
            (2, "sbom", False),
        ]
        current = lake.sql(
            "SELECT workflow, cadence, cadence_hours FROM inventory "
            "QUALIFY revision = max(revision) OVER (PARTITION BY inventory_name)"
        ).to_pylist()
        assert current == [{"workflow": "build", "cadence": "2w", "cadence_hours": 336}]


def test_outcomes_count_attestations_and_documents() -> None:
    rows = pa.table(
        {
            "manifest_digest": ["m1", "m1", "m2", "m2", "m3"],
            "status": ["verified", "verified", "verified", "not_verified", "not_verified"],
            "reason": [None, None, None, "bad_signature", "untrusted_signer"],
        }
    )
    outcomes = Outcomes()
    outcomes.add(rows)
    assert dict(outcomes.units) == {"verified": 1, "not_verified": 2}
    assert dict(outcomes.documents) == {"verified": 3, "not_verified": 2}
    assert dict(outcomes.reasons) == {"bad_signature": 1, "untrusted_signer": 1}

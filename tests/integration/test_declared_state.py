"""Declared state is signed: contracts and inventories count only from SecOps's store, signed by
SecOps's signer, for exactly the file, kind, name and revision the store holds.

Each case publishes into an OCI layout store with the library (``publish``), sometimes forging
the manifest by hand, crawls it, and checks the ``published_documents`` verdict and whether the
inventory or contract requirements reached the lake.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from attestlake import open_lake
from attestlake.contracts.publish import PREFIX, publish, revision_tag
from attestlake.crawl.crawl import crawl
from attestlake.crawl.job import reverify_job
from attestlake.errors import TrustPolicyError
from attestlake.signing.keys import KeySigner, generate_key
from attestlake.store import Descriptor, Manifest
from attestlake.store.layout import LayoutStore
from attestlake.verify.verify import load_policy
from tests import assets
from tests.integration.cli_helpers import run_cli

INVENTORY = assets.path("inventories/cyberdyne-three-workflows.yaml").read_bytes()


class Org:
    """A SecOps store, SecOps's and a CI key, and a policy naming the store and SecOps's key."""

    def __init__(self, root: Path) -> None:
        self.root = root
        keys = root / "keys"
        keys.mkdir()
        self.signers = {}
        for name in ("secops", "ci"):
            private, public = generate_key()
            (keys / f"{name}.key").write_bytes(private)
            (keys / f"{name}.pub").write_bytes(public)
            self.signers[name] = KeySigner.from_file(keys / f"{name}.key")
        self.store = LayoutStore(root / "secops")
        self.policy = root / "trust.yaml"
        self.policy.write_text(
            "keys: [keys/ci.pub]\n"
            "declared_state:\n  stores: [oci:secops]\n  keys: [keys/secops.pub]\n"
        )

    def crawl(self, policy: Path | None = None) -> list[dict[str, Any]]:
        crawl(self.store, self.root / "lake", load_policy(policy or self.policy), jobs=1)
        return self.published()

    def published(self) -> list[dict[str, Any]]:
        with open_lake(self.root / "lake") as lake:
            rows: list[dict[str, Any]] = lake.sql(
                "SELECT kind, name, revision, status, reason, detail, signer "
                "FROM published_documents ORDER BY kind, name, revision"
            ).to_pylist()
            return rows

    def inventory_rows(self) -> int:
        with open_lake(self.root / "lake") as lake:
            return int(lake.sql("SELECT count(*) AS n FROM inventory").to_pylist()[0]["n"])


@pytest.fixture
def org(tmp_path: Path) -> Org:
    return Org(tmp_path)


def test_signed_by_secops_in_secops_store_is_the_inventory(org: Org) -> None:
    publish(org.store, "inventory", "cyberdyne", INVENTORY, signer=org.signers["secops"])
    [row] = org.crawl()
    assert (row["status"], row["reason"], row["signer"]) == ("verified", None, "keys/secops.pub")
    assert org.inventory_rows() == 3


@pytest.mark.attack("forgery")
def test_unsigned_is_recorded_and_not_taken(org: Org) -> None:
    publish(org.store, "inventory", "cyberdyne", INVENTORY)
    [row] = org.crawl()
    assert (row["status"], row["reason"]) == ("not_verified", "no_trust_material")
    assert "unsigned" in row["detail"]
    assert org.inventory_rows() == 0


@pytest.mark.attack("forgery")
def test_signed_by_a_key_the_policy_trusts_for_runs_is_not_declared_state(org: Org) -> None:
    publish(org.store, "inventory", "cyberdyne", INVENTORY, signer=org.signers["ci"])
    [row] = org.crawl()
    assert (row["status"], row["reason"]) == ("not_verified", "untrusted_signer")
    assert org.inventory_rows() == 0


@pytest.mark.attack("forgery")
def test_a_store_the_policy_does_not_name_is_not_declared_state(org: Org) -> None:
    other = LayoutStore(org.root / "elsewhere")
    publish(other, "inventory", "cyberdyne", INVENTORY, signer=org.signers["secops"])
    crawl(other, org.root / "lake", load_policy(org.policy), jobs=1)
    [row] = org.published()
    assert (row["status"], row["reason"]) == ("not_verified", "untrusted_store")
    assert org.inventory_rows() == 0


def _forge(org: Org, kind: str, name: str, revision: int, file: bytes, declaration: bytes) -> None:
    """A manifest as publish writes one, with chosen annotations and layers."""
    layers = [
        Descriptor.for_bytes(f"application/vnd.attestlake.{kind}.v1+yaml", file),
        Descriptor.for_bytes("application/vnd.dsse.envelope.v1+json", declaration),
    ]
    manifest = Manifest.build(
        artifact_type=f"application/vnd.attestlake.{kind}.v1+yaml",
        layers=layers,
        annotations={
            "org.opencontainers.image.created": "2026-11-01T00:00:00Z",
            PREFIX + "kind": kind,
            PREFIX + "name": name,
            PREFIX + "revision": str(revision),
        },
    )
    org.store.put_blob(b"{}", "application/vnd.oci.empty.v1+json")
    org.store.put_blob(file, layers[0].media_type)
    org.store.put_blob(declaration, layers[1].media_type)
    org.store.put_manifest(manifest, tag=revision_tag(kind, name, revision))


def _genuine_declaration(org: Org) -> bytes:
    """SecOps's real declaration of inventory cyberdyne revision 1 (INVENTORY), published
    elsewhere."""
    elsewhere = LayoutStore(org.root / "published-elsewhere")
    publish(elsewhere, "inventory", "cyberdyne", INVENTORY, signer=org.signers["secops"])
    manifest = elsewhere.get_manifest(revision_tag("inventory", "cyberdyne", 1))
    return elsewhere.get_blob(manifest.layers[1].digest)


@pytest.mark.attack("forgery")
@pytest.mark.parametrize(
    ("what", "kind", "name", "revision", "file", "says"),
    [
        ("another file", "inventory", "cyberdyne", 1, INVENTORY + b"# edited\n", "not this file"),
        ("a higher revision", "inventory", "cyberdyne", 9, INVENTORY, "revision 1, not"),
        ("another name", "inventory", "acme", 1, INVENTORY, "'cyberdyne' revision 1, not"),
    ],
)
def test_a_declaration_moved_to_another_document_is_a_bad_signature(
    org: Org, what: str, kind: str, name: str, revision: int, file: bytes, says: str
) -> None:
    """A genuine SecOps signature, copied onto a document it was not made for."""
    _forge(org, kind, name, revision, file, _genuine_declaration(org))
    [row] = org.crawl()
    assert (row["status"], row["reason"]) == ("not_verified", "bad_signature"), what
    assert says in row["detail"], row["detail"]
    assert org.inventory_rows() == 0


def test_a_contract_counts_only_when_signed(org: Org) -> None:
    contract = assets.path("contracts/image-only.yaml").read_bytes()
    publish(org.store, "contract", "unsigned-build", contract)
    publish(org.store, "contract", "signed-build", contract, signer=org.signers["secops"])
    rows = org.crawl()
    assert [(r["name"], r["status"]) for r in rows] == [
        ("signed-build", "verified"),
        ("unsigned-build", "not_verified"),
    ]
    with open_lake(org.root / "lake") as lake:
        names = lake.sql("SELECT DISTINCT contract_name FROM contract_requirements").to_pylist()
    assert names == [{"contract_name": "signed-build"}]


def test_a_policy_that_names_secops_later_takes_the_inventory_on_reverify(org: Org) -> None:
    publish(org.store, "inventory", "cyberdyne", INVENTORY, signer=org.signers["secops"])
    before = org.root / "runs-only.yaml"
    before.write_text("keys: [keys/ci.pub]\n")
    [row] = org.crawl(before)
    assert (row["status"], row["reason"]) == ("not_verified", "no_trust_material")
    assert org.inventory_rows() == 0
    result = reverify_job(org.root / "lake", org.policy, jobs=1)
    assert org.inventory_rows() == 3
    assert org.published()[0]["status"] == "verified"
    assert result.rows_after["inventory"] == 3
    listed = run_cli(
        org.root, "query", "run", "trust_changes", "--lake", "lake", "--format", "json"
    ).json()["rows"]
    assert [(r["change"], r["reason_before"], r["signer_after"]) for r in listed] == [
        ("trusted", "no_trust_material", "keys/secops.pub")
    ]
    assert listed[0]["source"].endswith(":inventory-cyberdyne.r1")


def test_republishing_the_same_file_signed_makes_a_signed_revision(org: Org) -> None:
    first = publish(org.store, "inventory", "cyberdyne", INVENTORY)
    again = publish(org.store, "inventory", "cyberdyne", INVENTORY, signer=org.signers["secops"])
    assert not again.unchanged and again.revision.revision == first.revision.revision + 1
    same = publish(org.store, "inventory", "cyberdyne", INVENTORY, signer=org.signers["secops"])
    assert same.unchanged
    rows = org.crawl()
    assert [(r["revision"], r["status"]) for r in rows] == [(1, "not_verified"), (2, "verified")]


@pytest.mark.parametrize(
    ("section", "match"),
    [
        ("declared_state: {keys: [keys/secops.pub]}\n", "must name the store"),
        ("declared_state: {stores: [oci:secops]}\n", "needs the keys or identities"),
        ("declared_state: {stores: ['127.0.0.1:5000/*'], keys: [keys/secops.pub]}\n", "every"),
        (
            "declared_state:\n  stores: [oci:secops]\n"
            "  keys: [{path: keys/secops.pub, projects: [a]}]\n",
            "no 'projects' or 'workflows' scope",
        ),
        ("declared_state: {stores: [oci:secops], key: [keys/secops.pub]}\n", "unknown field"),
        *(
            (
                f"declared_state: {{stores: ['{store}'], keys: [keys/secops.pub]}}\n",
                "not a registry",
            )
            for store in (
                "127.0.0.1:5000/secops/",
                "https://registry.example.com/secops/",
                "registry.example.com/SecOps",
                "https://secops:hunter2@registry.example.com/secops",
            )
        ),
    ],
)
def test_declared_state_errors(org: Org, section: str, match: str) -> None:
    org.policy.write_text("keys: [keys/ci.pub]\n" + section)
    with pytest.raises(TrustPolicyError, match=match) as refused:
        load_policy(org.policy)
    assert "hunter2" not in str(refused.value)


def test_push_needs_a_signer_or_unsigned(org: Org) -> None:
    (org.root / "inventory.yaml").write_bytes(INVENTORY)
    refused = run_cli(org.root, "inventory", "push", "inventory.yaml", "--to", "oci:secops")
    assert refused.code == 1 and "--key PATH or --keyless" in refused.err
    assert not (org.root / "secops").exists()  # nothing written
    both = run_cli(
        org.root,
        *("inventory", "push", "inventory.yaml", "--to", "oci:secops"),
        *("--key", "keys/secops.key", "--unsigned"),
    )
    assert both.code == 1
    signed = run_cli(
        org.root,
        *("inventory", "push", "inventory.yaml", "--to", "oci:secops", "--key", "keys/secops.key"),
    )
    assert signed.code == 0, signed.err
    assert "declaration signed by key sha256:" in signed.out
    assert org.crawl()[0]["status"] == "verified"


@pytest.mark.attack("forgery")
def test_a_store_crawled_by_a_relative_path_keeps_its_verdict_wherever_reverify_runs(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether a published revision is SecOps's depends on the store the crawl read, not on
    the directory a later re-evaluation runs in (where the same relative path names another
    directory, or none)."""
    publish(org.store, "inventory", "cyberdyne", INVENTORY, signer=org.signers["secops"])
    impostor = LayoutStore(org.root / "impostor" / "secops")
    publish(impostor, "inventory", "acme", INVENTORY, signer=org.signers["secops"])
    policy = load_policy(org.policy)  # trusts <root>/secops only
    for cwd in (org.root, org.root / "impostor"):
        monkeypatch.chdir(cwd)
        crawl(LayoutStore(Path("secops")), org.root / "lake", policy, jobs=1)
    crawled = [(r["name"], r["status"], r["reason"]) for r in org.published()]
    assert crawled == [
        ("acme", "not_verified", "untrusted_store"),
        ("cyberdyne", "verified", None),
    ]
    for cwd in (org.root, org.root / "impostor", org.root / "keys"):
        monkeypatch.chdir(cwd)
        reverify_job(org.root / "lake", org.policy, jobs=1)
        assert [(r["name"], r["status"], r["reason"]) for r in org.published()] == crawled
        assert org.inventory_rows() == 3

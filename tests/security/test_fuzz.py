"""Property-based fuzz of verification and of the crawl path (hypothesis).

Seeds are real documents: envelopes signed here (attestlake run statements), the corpus's
Sigstore bundles and DSSE envelopes, and bare statements. Mutations flip, cut and insert
bytes, replace JSON values with values of any type (deep nesting, lone surrogates, huge
numbers), delete keys, and change signed payloads. Whatever the bytes:

- ``verify_document`` and ``attestlake verify`` never raise: the outcome is ``not_verified``
  with a reason, or ``verified`` only for the exact payload that was signed (a mutation never
  makes a forged statement verify);
- a crawl of a folder, or of an OCI layout directory, mixing fuzzed documents and manifests
  with good ones returns normally, verifies every good one, trusts no fuzzed statement and
  records every fuzzed document.

``ATTESTLAKE_FUZZ_EXAMPLES`` sets the number of examples (derandomized when ``CI=true``, so CI
is reproducible); the crawl tests run a tenth as many, each over several fuzzed documents.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attestlake
from attestlake.collect.collector import Attestation
from attestlake.contracts.contracts import load_contract
from attestlake.contracts.publish import published_kind
from attestlake.crawl.crawl import crawl
from attestlake.crawl.sources import open_source
from attestlake.crawl.sources.store import is_document_layer
from attestlake.errors import ContentError, StoreError
from attestlake.signing.keys import KeySigner, generate_key
from attestlake.store import Manifest, sha256_digest
from attestlake.store.layout import REF_NAME, LayoutStore
from attestlake.store.oci import MANIFEST_MEDIA_TYPE, parse_any_manifest
from attestlake.verify.outcome import NOT_VERIFIED, REASONS, VERIFIED, Outcome
from attestlake.verify.trust import TrustPolicy
from attestlake.verify.verify import load_policy, verify_document
from tests.lakefactory import contract_yaml, cyclonedx_sbom, github_env, image_ref
from tests.security.conftest import FUZZ_EXAMPLES

pytestmark = pytest.mark.corpus

FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
CRAWLS = settings(FUZZ, max_examples=max(2, FUZZ_EXAMPLES // 10))
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
CORPUS_SEEDS = (
    "archivista.build.dsse.json",
    "archivista.fail.dsse.json",
    "bcr.MODULE.bazel.intoto.jsonl",
    "chainloop.full.dsse.json",
    "chainloop.private-ca.sigstore.json",
    "chainloop.statement.v0.2.json",
    "gce.vsa-p1363.dsse.jsonl",
    "gh.reusable-workflow-attestation.sigstore.json",
    "sigstore-js.bundleV03-dsse.sigstore.json",
    "sigstore-js.bundleV01-dsse-no-proof.sigstore.json",
    "witness.cdx-att.dsse.json",
)


@dataclass(frozen=True)
class Seeds:
    """Real documents by name, the outcome of each as it is, and a policy that trusts the
    verified ones."""

    documents: dict[str, bytes]
    outcomes: dict[str, Outcome]
    policy: TrustPolicy
    trust: Path
    root: Path
    signer: KeySigner

    def signed_payload(self, name: str) -> bytes | None:
        """The exact statement bytes a seed verifies with, if it does."""
        outcome = self.outcomes[name]
        return outcome.payload if outcome.verified else None


def run_statement(root: Path, n: int) -> bytes:
    """A real attestlake run statement (image, SBOM) for run ``n``."""
    contract_path = root / "contract.yaml"
    if not contract_path.exists():
        contract_path.write_text(
            contract_yaml(
                "build",
                1,
                [("CONTAINER_IMAGE", "image"), ("SBOM_CYCLONEDX_JSON", "sbom")],
                outputs=["image"],
            ),
            encoding="utf-8",
        )
    started = NOW - timedelta(days=1, hours=n)
    att = Attestation.init(
        load_contract(contract_path),
        workflow="build",
        project="skynet",
        team="ai",
        env=github_env("skynet", n),
        now=started,
        run_id=f"fuzz-{n}",
    )
    att.add("image", image_ref(f"skynet-{n}"))
    att.add("sbom", cyclonedx_sbom(root / f"sbom-{n}.json", f"skynet-{n}", 2))
    return att.statement_bytes(started + timedelta(minutes=5))


@pytest.fixture(scope="module")
def seeds(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Seeds:
    root = tmp_path_factory.mktemp("fuzz")
    corpus = corpus.resolve()
    private, public = generate_key()
    (root / "ci.key").write_bytes(private)
    (root / "ci.pub").write_bytes(public)
    signer = KeySigner.from_file(root / "ci.key")
    lines = [
        f"trusted_root: {corpus / 'keys' / 'sigstore-prod.trusted_root.json'}",
        "keys:",
        f"  - path: {root / 'ci.pub'}",
        f"  - path: {corpus / 'keys' / 'gce-vsa.pub.pem'}",
        f"  - path: {corpus / 'keys' / 'witness-ed25519.pub.pem'}",
        "identities:",
        "  - issuer: https://github.com/login/oauth",
        "    subject: brian@dehamer.com",
        "  - issuer: https://token.actions.githubusercontent.com",
        "    subject_regex: ^https://github\\.com/",
    ]
    trust = root / "trust.yaml"
    trust.write_text("\n".join(lines) + "\n", encoding="utf-8")
    policy = load_policy(trust)
    documents: dict[str, bytes] = {}
    for name in CORPUS_SEEDS:
        raw = (corpus / name).read_bytes()
        documents[name] = raw.splitlines()[0] if name.endswith(".jsonl") else raw
    statement = run_statement(root, 0)
    documents["run.statement.json"] = statement
    documents["run.dsse.json"] = signer.sign_statements([statement])[0].data
    outcomes = {name: verify_document(raw, policy) for name, raw in documents.items()}
    assert outcomes["run.dsse.json"].verified
    assert sum(o.verified for o in outcomes.values()) >= 5
    return Seeds(documents, outcomes, policy, trust, root, signer)


# -- mutations --------------------------------------------------------------------------------
LONE_SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
HOSTILE_TEXT = st.one_of(
    st.text(max_size=12),
    st.text(st.one_of(LONE_SURROGATES, st.characters()), max_size=6),
    st.sampled_from(["", "\x00", "sha256:", "sha256:" + "0" * 64, "\u202e", "🔑" * 3]),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**64, -(2**63) - 1, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    HOSTILE_TEXT,
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_TEXT, inner, max_size=3),
    max_leaves=8,
)
NEST = "\u0000nest\u0000"


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value (keys and indexes), the value itself first."""
    out = [here]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*here, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*here, i))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Callable[[Any], Any]) -> Any:
    if not path:
        return new(value)
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        copy = dict(value)
        if rest or new is not _DELETE:
            copy[head] = _replace(value[head], rest, new)
        else:
            del copy[head]
        return copy
    copy_list = list(value)
    if rest or new is not _DELETE:
        copy_list[head] = _replace(value[head], rest, new)
    else:
        del copy_list[head]
    return copy_list


def _DELETE(value: Any) -> Any:
    return None


def _dump(value: Any, ascii_only: bool, depth: int) -> bytes:
    text = json.dumps(value, ensure_ascii=ascii_only, allow_nan=True)
    text = text.replace(json.dumps(NEST, ensure_ascii=ascii_only), "[" * depth + "]" * depth)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def mutation(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` changed once: in its bytes, its JSON, or its signed payload."""
    how = draw(st.sampled_from(["bytes", "json", "payload"]))
    if how == "bytes" or not original:
        data = bytearray(original)
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[at : at + draw(st.integers(1, 64))]
        return bytes(data)
    doc = json.loads(original)
    if how == "payload":
        paths = [p for p in _paths(doc) if p and p[-1] == "payload"]
        if paths:
            path = draw(st.sampled_from(paths))

            def change(value: Any) -> Any:
                try:
                    payload = bytearray(base64.b64decode(value))
                except (ValueError, TypeError):
                    return value + "A"
                if payload:
                    payload[draw(st.integers(0, len(payload) - 1))] ^= 1
                else:
                    payload = bytearray(b"{}")
                return base64.b64encode(bytes(payload)).decode()

            return _dump(_replace(doc, path, change), True, 0)
    path = draw(st.sampled_from(_paths(doc)))
    op = draw(st.sampled_from(["value", "delete", "nest"] if path else ["value", "nest"]))
    if op == "delete":
        doc = _replace(doc, path, _DELETE)
    elif op == "nest":
        doc = _replace(doc, path, lambda _: NEST)
    else:
        new = draw(JSON_VALUES)
        doc = _replace(doc, path, lambda _: new)
    depth = draw(st.sampled_from([1, 64, 5000, 200_000]))
    return _dump(doc, draw(st.booleans()), depth)


@st.composite
def fuzzed(draw: st.DrawFn, names: list[str], documents: dict[str, bytes]) -> tuple[str, bytes]:
    name = draw(st.sampled_from(names))
    return name, draw(mutation(documents[name]))


def check_outcome(seeds: Seeds, name: str, data: bytes, outcome: Outcome) -> None:
    """What a user relies on for any bytes: a reason when not verified, and only the signed
    payload of the seed when verified."""
    assert outcome.status in (VERIFIED, NOT_VERIFIED)
    if data == seeds.documents[name]:
        assert outcome == seeds.outcomes[name]
    if outcome.status == NOT_VERIFIED:
        assert outcome.reason in REASONS and outcome.detail, outcome
    else:
        signed = seeds.signed_payload(name)
        assert signed is not None and outcome.payload == signed, (name, outcome)
        assert outcome.signer == seeds.outcomes[name].signer


# -- verify -----------------------------------------------------------------------------------
@pytest.mark.attack("crash")
def test_verify_document_never_raises_on_a_mutated_document(seeds: Seeds) -> None:
    @FUZZ
    @given(fuzzed(sorted(seeds.documents), seeds.documents))
    def check(case: tuple[str, bytes]) -> None:
        name, data = case
        check_outcome(seeds, name, data, verify_document(data, seeds.policy))

    check()


@pytest.mark.attack("forgery")
def test_a_mutated_signed_document_never_verifies_another_statement(seeds: Seeds) -> None:
    signed = sorted(name for name in seeds.documents if seeds.signed_payload(name) is not None)

    @FUZZ
    @given(fuzzed(signed, seeds.documents))
    def check(case: tuple[str, bytes]) -> None:
        name, data = case
        outcome = verify_document(data, seeds.policy)
        if outcome.verified:
            assert outcome.payload == seeds.signed_payload(name), (name, data[:200])
            assert (outcome.signer, outcome.issuer) == (
                seeds.outcomes[name].signer,
                seeds.outcomes[name].issuer,
            )

    check()


@pytest.mark.attack("crash")
def test_attestlake_verify_answers_every_mutated_file(seeds: Seeds, tmp_path: Path) -> None:
    names = sorted(seeds.documents)

    @settings(FUZZ, max_examples=min(3, FUZZ_EXAMPLES))
    @given(st.lists(fuzzed(names, seeds.documents), min_size=1, max_size=8))
    def check(cases: list[tuple[str, bytes]]) -> None:
        folder = tmp_path / f"run-{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        paths = []
        for i, (_, data) in enumerate(cases):
            path = folder / f"doc-{i}.json"
            path.write_bytes(data)
            paths.append(str(path))
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
        env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
        trust = str(seeds.trust)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "attestlake._cli",
                "verify",
                "-f",
                "json",
                "--trust",
                trust,
                *paths,
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert "Traceback" not in done.stderr, done.stderr
        records = json.loads(done.stdout)
        assert [r["source"] for r in records] == paths
        failed = sum(r["status"] != VERIFIED for r in records)
        assert done.returncode == (1 if failed else 0), done.stderr
        for (name, _), record in zip(cases, records, strict=True):
            if record["status"] == NOT_VERIFIED:
                assert record["reason"] in REASONS
            else:
                assert seeds.signed_payload(name) is not None, name

    check()


# -- the crawl path: files ----------------------------------------------------------------------
def trusted_statements(lake: Path) -> set[str]:
    view = attestlake.open_lake(lake)
    verified = view.sql(
        "SELECT DISTINCT statement_digest FROM verifications WHERE status = 'verified'"
    )
    trusted = view.sql("SELECT DISTINCT statement_digest FROM attestations WHERE trusted")
    return set(verified.column(0).to_pylist()) | set(trusted.column(0).to_pylist())


def good_statements(seeds: Seeds) -> set[str]:
    return {sha256_digest(p) for n in seeds.documents if (p := seeds.signed_payload(n)) is not None}


@pytest.mark.attack("crash")
def test_a_crawl_of_fuzzed_files_verifies_the_good_ones_and_records_every_file(
    seeds: Seeds, tmp_path: Path
) -> None:
    names = sorted(seeds.documents)

    @CRAWLS
    @given(st.lists(fuzzed(names, seeds.documents), min_size=1, max_size=12))
    def check(cases: list[tuple[str, bytes]]) -> None:
        case = tmp_path / f"case-{len(list(tmp_path.iterdir()))}"
        folder = case / "docs"
        folder.mkdir(parents=True)
        for name, data in seeds.documents.items():
            (folder / f"good-{name}.json").write_bytes(data)
        for i, (_, data) in enumerate(cases):
            (folder / f"fuzz-{i}.json").write_bytes(data)
        source = open_source(str(folder))
        try:
            result = crawl(source, case / "lake", seeds.policy, now=NOW, jobs=1)
        finally:
            source.close()
        assert result.warnings == ()
        view = attestlake.open_lake(case / "lake")
        rows = view.sql("SELECT manifest_digest, status FROM verifications").to_pylist()
        recorded = {r["manifest_digest"] for r in rows}
        files = [*seeds.documents.values(), *(data for _, data in cases)]
        assert recorded == {sha256_digest(data) for data in files}
        verified = {r["manifest_digest"] for r in rows if r["status"] == VERIFIED}
        good = {sha256_digest(seeds.documents[n]) for n in names if seeds.outcomes[n].verified}
        assert good <= verified
        assert trusted_statements(case / "lake") <= good_statements(seeds)

    check()


# -- the crawl path: an OCI layout directory ----------------------------------------------------
def expects_row(raw: bytes) -> bool:
    """Whether the crawler records a verification for this manifest: any manifest that does
    not parse (malformed), or one with attestation layers."""
    try:
        found = parse_any_manifest(raw)
    except ContentError:
        return True
    if not isinstance(found, Manifest) or published_kind(found) is not None:
        return False
    return any(is_document_layer(layer.media_type) for layer in found.layers)


HOSTILE_ENTRIES = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries(
        {"mediaType": st.just(MANIFEST_MEDIA_TYPE), "annotations": JSON_VALUES},
        optional={"digest": JSON_VALUES, "size": JSON_VALUES},
    ),
)


@pytest.mark.attack("crash")
def test_a_crawl_of_a_layout_store_with_fuzzed_manifests_verifies_the_good_runs(
    seeds: Seeds, tmp_path: Path
) -> None:
    store_root = tmp_path / "good"
    store = LayoutStore(store_root)
    pushed = []
    for n in range(2):
        contract = load_contract(seeds.root / "contract.yaml")
        att = Attestation.init(
            contract,
            workflow="build",
            project="skynet",
            team="ai",
            env=github_env("skynet", 100 + n),
            now=NOW - timedelta(days=2),
            run_id=f"layout-{n}",
        )
        att.add("image", image_ref(f"layout-{n}"))
        att.add("sbom", cyclonedx_sbom(tmp_path / f"sbom-{n}.json", f"layout-{n}", 2))
        pushed.append(att.push(seeds.signer, store, now=NOW - timedelta(days=1)))
    manifests = {p.tag: store.get_manifest(p.tag).raw for p in pushed}
    good_layout = {
        sha256_digest(verify_document(store.get_blob(digest), seeds.policy).payload or b"")
        for p in pushed
        for digest in (p.envelope_digest, p.provenance_digest)
        if digest
    }
    good_index = json.loads((store_root / "index.json").read_bytes())

    @CRAWLS
    @given(
        st.lists(st.sampled_from(sorted(manifests)).flatmap(lambda t: mutation(manifests[t]))),
        st.lists(HOSTILE_ENTRIES, max_size=3),
    )
    def check(fuzzed_manifests: list[bytes], entries: list[Any]) -> None:
        case = tmp_path / f"case-{len(list(tmp_path.iterdir()))}"
        blobs = case / "store" / "blobs" / "sha256"
        blobs.mkdir(parents=True)
        for blob in (store_root / "blobs" / "sha256").iterdir():
            (blobs / blob.name).write_bytes(blob.read_bytes())
        (case / "store" / "oci-layout").write_bytes((store_root / "oci-layout").read_bytes())
        index = dict(good_index, manifests=list(good_index["manifests"]))
        for i, raw in enumerate(fuzzed_manifests):
            digest = sha256_digest(raw)
            (blobs / digest.split(":")[1]).write_bytes(raw)
            entry = {"mediaType": MANIFEST_MEDIA_TYPE, "digest": digest, "size": len(raw)}
            index["manifests"].append({**entry, "annotations": {REF_NAME: f"fuzz-{i}"}})
        index["manifests"] += entries
        (case / "store" / "index.json").write_text(json.dumps(index), encoding="utf-8")
        try:
            result = crawl(
                LayoutStore(case / "store"), case / "lake", seeds.policy, now=NOW, jobs=1
            )
        except StoreError as exc:  # a damaged index.json: a clear error, never a traceback
            assert entries, exc
            return
        view = attestlake.open_lake(case / "lake")
        rows = view.sql("SELECT manifest_digest, status FROM verifications").to_pylist()
        recorded = {r["manifest_digest"] for r in rows}
        verified = {r["manifest_digest"] for r in rows if r["status"] == VERIFIED}
        assert {p.manifest_digest for p in pushed} <= verified, result.describe()
        for raw in fuzzed_manifests:
            if expects_row(raw):
                assert sha256_digest(raw) in recorded, raw[:300]
        runs = view.sql("SELECT DISTINCT run_id FROM runs").column(0).to_pylist()
        assert sorted(runs) == ["layout-0", "layout-1"]
        assert trusted_statements(case / "lake") <= good_layout

    check()

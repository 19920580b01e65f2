"""sigstore-conformance's bundle-verify cases whose bundle holds a DSSE envelope, each verified
as the conformance suite verifies it (``test/test_bundle.py::test_verify`` and
``test/client.py`` in sigstore/sigstore-conformance): under the case's ``trusted_root.json``
(else the public-good production root), for the ``identity`` and ``issuer`` it names (else the
suite's defaults); a ``_fail`` case must not verify, the others must, and their ``artifact``
(else ``a.txt``) must be a subject of the statement.

The cases are not in this repository: ``scripts/fetch-conformance`` puts them in
``.test-assets/sigstore-conformance/bundle-verify`` (or ``$ATTESTLAKE_CONFORMANCE``). Without them
these tests skip, in CI too: GitHub, where they come from, is not reachable there.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from attestlake.verify.outcome import VERIFIED
from attestlake.verify.verify import load_policy, verify_document

ENV = "ATTESTLAKE_CONFORMANCE"
PROJECT = Path(__file__).resolve().parents[2]
DEFAULT = PROJECT / ".test-assets" / "sigstore-conformance" / "bundle-verify"
SCRIPT = PROJECT / "scripts" / "fetch-conformance"
IDENTITY = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/"
    "workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
ISSUER = "https://token.actions.githubusercontent.com"
#: Every case with a DSSE envelope: attestlake's outcome (reason, None when verified) and a
#: fragment of its detail that names the cause.
EXPECTED: dict[str, tuple[str | None, str]] = {
    "dsse-invalid-sig_fail": ("bad_signature", "invalid signature"),
    "dsse-mismatch-envelope_fail": ("bad_signature", "payload hash"),
    "dsse-mismatch-sig_fail": ("bad_signature", "signatures"),
    "happy-path-intoto-in-dsse-v3": (None, ""),
    "intoto-expired-certificate_fail": ("bad_signature", "certificate was not valid when"),
    "intoto-log-entry-mismatch_fail": ("bad_signature", "the log does not vouch"),
    "intoto-missing-inclusion-proof_fail": ("unsupported", "no inclusion proof"),
    "intoto-set-outside-signing-cert-validity_fail": (
        "bad_signature",
        "not valid when the log integrated the entry",
    ),
    "intoto-tsa-timestamp-outside-cert-validity_fail": (
        "bad_signature",
        "not valid at the time of its RFC 3161 timestamp",
    ),
    "intoto-with-custom-trust-root": (None, ""),
    "rekor2-dsse-happy-path": (None, ""),
    "rekor2-dsse-invalid-sig_fail": ("bad_signature", "invalid signature"),
    "rekor2-dsse-mismatch-envelope_fail": ("bad_signature", "inconsistent"),
    "rekor2-dsse-mismatch-sig_fail": ("bad_signature", "inconsistent"),
}
#: Cases whose expectation attestlake deliberately does not meet, with the reason (none today:
#: every DSSE case gets the suite's expected result).
DEVIATIONS: dict[str, str] = {}


@pytest.fixture(scope="session")
def cases() -> Path:
    configured = os.environ.get(ENV)
    path = Path(configured) if configured else DEFAULT
    if not (path / "README.md").is_file():
        pytest.skip(
            f"sigstore-conformance bundle-verify cases not found at {path} (from "
            f"{ENV if configured else 'the default location'}): run scripts/fetch-conformance "
            "(or scripts/fetch-conformance --from-git DIR with a clone); they are not fetched "
            "in CI, where GitHub is not reachable"
        )
    pinned = re.search(r'MANIFEST_SHA256 = "([0-9a-f]{64})"', SCRIPT.read_text())
    assert pinned is not None
    names = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
    listing = "".join(
        f"{hashlib.sha256((path / n).read_bytes()).hexdigest()}  {n}\n" for n in names
    )
    assert hashlib.sha256(listing.encode()).hexdigest() == pinned.group(1), (
        f"the cases at {path} are not those scripts/fetch-conformance pins: fetch them again"
    )
    return path


def case_policy(case: Path, tmp_path: Path) -> Path:
    """The trust policy the suite's verification amounts to: the case's root (opting in to
    legacy intoto/0.0.2 entries, which the suite expects to verify) and identity."""
    root = case / "trusted_root.json"
    identity = (case / "identity").read_text().strip() if (case / "identity").exists() else IDENTITY
    issuer = (case / "issuer").read_text().strip() if (case / "issuer").exists() else ISSUER
    path = tmp_path / "policy.yaml"
    path.write_text(
        "trusted_roots:\n  - name: case\n"
        f"    trusted_root: {json.dumps(str(root) if root.exists() else 'sigstore-public-good')}\n"
        "    legacy_log_entries: [intoto/0.0.2]\n"
        f"identities:\n  - issuer: {json.dumps(issuer)}\n    subject: {json.dumps(identity)}\n"
        "    roots: [case]\n"
    )
    return path


def test_every_dsse_case_is_listed(cases: Path) -> None:
    """A case with a DSSE envelope that the suite adds (or renames) must be listed here."""
    dsse = {
        d.name
        for d in cases.iterdir()
        if (d / "bundle.sigstore.json").is_file()
        and b"dsseEnvelope" in (d / "bundle.sigstore.json").read_bytes()
    }
    assert dsse == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bundle_verify_case(cases: Path, tmp_path: Path, name: str) -> None:
    if name in DEVIATIONS:
        pytest.xfail(DEVIATIONS[name])
    case = cases / name
    raw = (case / "bundle.sigstore.json").read_bytes()
    outcome = verify_document(raw, load_policy(case_policy(case, tmp_path)))
    reason, cause = EXPECTED[name]
    assert name.endswith("_fail") == (reason is not None)
    assert outcome.reason == reason, outcome.detail
    assert cause in (outcome.detail or ""), outcome.detail
    if reason is None:
        assert outcome.status == VERIFIED
        artifact = case / "artifact" if (case / "artifact").exists() else cases / "a.txt"
        digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
        assert outcome.statement is not None
        assert digest in [s["digest"].get("sha256") for s in outcome.statement["subject"]]


def test_the_intoto_case_is_unsupported_without_the_opt_in(cases: Path, tmp_path: Path) -> None:
    case = cases / "intoto-with-custom-trust-root"
    path = case_policy(case, tmp_path)
    path.write_text(path.read_text().replace("    legacy_log_entries: [intoto/0.0.2]\n", ""))
    outcome = verify_document((case / "bundle.sigstore.json").read_bytes(), load_policy(path))
    assert outcome.reason == "unsupported"
    assert "legacy_log_entries" in (outcome.detail or "")


def test_fetch_refuses_a_source_without_the_pinned_commit(tmp_path: Path) -> None:
    """The script run as CI or a developer runs it: a source that does not hold the pinned
    commit is a clear error, and the cache already there is left as it was."""
    dest = tmp_path / "cache" / "bundle-verify"
    dest.mkdir(parents=True)
    (dest / "README.md").write_text("the cases fetched before\n")
    not_a_clone = tmp_path / "empty"
    not_a_clone.mkdir()
    args = [sys.executable, str(SCRIPT), "--from-git", str(not_a_clone), "--dest", str(dest)]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "git cannot export test/assets/bundle-verify" in result.stderr
    assert [p.name for p in dest.iterdir()] == ["README.md"]
    assert (dest / "README.md").read_text() == "the cases fetched before\n"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["bundle-verify"]  # no leftovers

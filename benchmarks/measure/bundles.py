"""Target 4's store and baseline: Sigstore bundles of the organisation's private instance, and
a plain sigstore-python loop that verifies them.

:func:`bundle_store` makes ``DIR/sigstore`` once (again when asked for another count): a folder
of Sigstore bundles (``bundles/NNNNN.sigstore.json``), one per statement of the organisation's
first DSSE envelopes (its run statements and SLSA provenance), each signed keyless with a
certificate of its own by a private Sigstore instance (``tests/sigstore_instance.py``) as one of
the organisation's GitHub workflows; the instance's ``trusted_root.json``; and a trust policy
that names it and the organisation's workflows. One bundle in :data:`FOREIGN_EVERY` is signed by
a workflow of another organisation (a valid signature by an identity the policy does not list)
and one in :data:`TAMPERED_EVERY` has its signature changed after signing, so that both ways
count bundles that do not verify.

:func:`loop` is the baseline: one process, one thread, sigstore-python's ``Verifier`` for that
trusted root and ``verify_dsse`` over every bundle with the policy's identity (the workflow's
issuer and subject pattern), counting the bundles that verify.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.measure.rawscan import SIGNED
from benchmarks.organisation.generate import Generated

#: Bundles in the store (fewer when the organisation has fewer DSSE envelopes).
BUNDLES = 2000
FOREIGN_EVERY = 50
TAMPERED_EVERY = 100
ISSUER = "https://token.actions.githubusercontent.com"
SUBJECT = r"^https://github\.com/cyberdyne/"
TRUST_POLICY = f"""\
# Trust policy of the Sigstore bundles of target 4: the organisation's GitHub workflows,
# certified by a private Sigstore instance.
trusted_root: trusted_root.json
identities:
  - issuer: {ISSUER}
    subject_regex: {SUBJECT}
"""


@dataclass(frozen=True)
class BundleStore:
    """``DIR/sigstore``: the bundles' folder, the trust policy, and what was signed."""

    directory: str
    bundles: int
    foreign: int
    tampered: int

    @property
    def folder(self) -> Path:
        return Path(self.directory) / "bundles"

    @property
    def trust_policy(self) -> Path:
        return Path(self.directory) / "trust.yaml"

    @property
    def trusted_root(self) -> Path:
        return Path(self.directory) / "trusted_root.json"

    def raw_bundles(self) -> list[bytes]:
        return [p.read_bytes() for p in sorted(self.folder.glob("*.sigstore.json"))]


def _statements(store: Path, count: int) -> list[bytes]:
    """The payloads of the first ``count`` DSSE envelopes of the layout, in index order."""
    blobs = store / "blobs" / "sha256"
    index = json.loads((store / "index.json").read_bytes())
    out: list[bytes] = []
    for entry in index["manifests"]:
        manifest = json.loads((blobs / entry["digest"].split(":", 1)[1]).read_bytes())
        for layer in manifest.get("layers", []):
            if layer.get("mediaType") == SIGNED[0]:
                envelope = json.loads((blobs / layer["digest"].split(":", 1)[1]).read_bytes())
                out.append(base64.b64decode(envelope["payload"]))
                if len(out) == count:
                    return out
    return out


def _tampered(raw: bytes) -> bytes:
    """The bundle with the first byte of its DSSE signature changed."""
    doc = json.loads(raw)
    signature = doc["dsseEnvelope"]["signatures"][0]
    sig = bytearray(base64.b64decode(signature["sig"]))
    sig[-1] ^= 0x01
    signature["sig"] = base64.b64encode(bytes(sig)).decode()
    return json.dumps(doc).encode()


def bundle_store(generated: Generated, count: int = BUNDLES) -> BundleStore:
    """The bundle store of ``generated`` (made when missing or of another count)."""
    directory = Path(generated.directory) / "sigstore"
    made = directory / "made.json"
    statements_wanted = min(count, generated.envelopes)
    if made.is_file():
        kept = BundleStore(**json.loads(made.read_text(encoding="utf-8")))
        if kept.bundles == statements_wanted:
            return kept
    from sigstore.dsse import Statement
    from sigstore.oidc import IdentityToken

    from tests.sigstore_double import FakeSigningContext, github_token
    from tests.sigstore_instance import SigstoreInstance

    shutil.rmtree(directory, ignore_errors=True)
    (directory / "bundles").mkdir(parents=True)
    instance = SigstoreInstance()
    instance.write_trusted_root(directory / "trusted_root.json")
    (directory / "trust.yaml").write_text(TRUST_POLICY, encoding="utf-8")
    foreign = tampered = 0
    for i, statement in enumerate(_statements(generated.store, statements_wanted)):
        owner = "skynet-research" if i % FOREIGN_EVERY == FOREIGN_EVERY // 2 else "cyberdyne"
        foreign += owner != "cyberdyne"
        identity = f"https://github.com/{owner}/project-{i % 97:04d}/.github/workflows/build.yml"
        context = FakeSigningContext(identity, instance=instance)
        with context.signer(IdentityToken(github_token(identity))) as signer:  # its own certificate
            raw = signer.sign_dsse(Statement(statement)).to_json().encode()
        if i % TAMPERED_EVERY == TAMPERED_EVERY // 2 - 1:
            raw = _tampered(raw)
            tampered += 1
        (directory / "bundles" / f"{i:05d}.sigstore.json").write_bytes(raw)
    kept = BundleStore(str(directory), statements_wanted, foreign, tampered)
    made.write_text(json.dumps(asdict(kept), indent=1), encoding="utf-8")
    return kept


class _SubjectPattern:
    """A sigstore-python verification policy: the certificate's SAN URI matches ``pattern``."""

    def __init__(self, pattern: str) -> None:
        self.pattern = re.compile(pattern)

    def verify(self, cert: object) -> None:
        from cryptography import x509
        from sigstore.errors import VerificationError

        assert isinstance(cert, x509.Certificate)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        if not any(
            self.pattern.search(u) for u in san.get_values_for_type(x509.UniformResourceIdentifier)
        ):
            raise VerificationError(f"no identity matching {self.pattern.pattern}")


@dataclass(frozen=True)
class Looped:
    seconds: float
    cpu_seconds: float
    verified: int
    not_verified: int


def loop(store: BundleStore, raw_bundles: list[bytes]) -> Looped:
    """Verify every bundle with sigstore-python in this thread (sigstore imported before the
    clock starts; the trusted root read and the ``Verifier`` made inside it)."""
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle, TrustedRoot
    from sigstore.verify import Verifier, policy

    started, cpu = time.perf_counter(), time.process_time()
    verifier = Verifier(trusted_root=TrustedRoot.from_file(str(store.trusted_root)))
    identity = policy.AllOf([policy.OIDCIssuerV2(ISSUER), _SubjectPattern(SUBJECT)])
    verified = 0
    for raw in raw_bundles:
        try:
            verifier.verify_dsse(Bundle.from_json(raw), identity)
        except (SigstoreError, ValueError):  # VerificationError, a malformed bundle
            continue
        verified += 1
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Looped(seconds, cpu, verified, len(raw_bundles) - verified)

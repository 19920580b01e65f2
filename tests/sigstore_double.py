"""A test double for sigstore-python's signing context: keyless signing without Fulcio or Rekor.

:class:`FakeSigningContext` subclasses ``sigstore.sign.SigningContext``; its signer makes an
ephemeral P-256 key, a short-lived certificate naming the token's identity (as Fulcio would),
signs the exact statement bytes as DSSE with sigstore's own code, and returns a real
``sigstore.models.Bundle`` (v0.3) with a placeholder transparency-log entry; or, given a
:class:`~tests.sigstore_instance.SigstoreInstance`, with a certificate and log entry of that
private instance, which verify against its trusted root. Everything the
collector does with the bundle is real; only the two network services are replaced.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sigstore import dsse
from sigstore.models import Bundle, TransparencyLogEntry
from sigstore.oidc import IdentityToken
from sigstore.sign import SigningContext
from sigstore_models.rekor.v1 import TransparencyLogEntry as _LogEntry

from tests.sigstore_instance import SigstoreInstance

WORKFLOW_IDENTITY = (
    "https://github.com/cyberdyne/skynet/.github/workflows/build.yml@refs/heads/main"
)
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"


def github_token(identity: str = WORKFLOW_IDENTITY) -> str:
    """An (unsigned) OIDC token shaped like GitHub Actions' for audience sigstore."""
    now = int(time.time())
    claims = {
        "iss": GITHUB_ISSUER,
        "sub": "repo:cyberdyne/skynet:ref:refs/heads/main",
        "aud": "sigstore",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "job_workflow_ref": identity.removeprefix("https://github.com/"),
    }
    return jwt.encode(claims, "not-a-real-signing-key-" * 4, algorithm="HS256")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class FakeSigner:
    """Duck-types ``sigstore.sign.Signer``: ``sign_dsse(statement) -> Bundle``."""

    def __init__(self, context: FakeSigningContext, token: IdentityToken) -> None:
        self.context = context
        self.token = token
        self.key = ec.generate_private_key(ec.SECP256R1())
        context.certificates += 1
        if context.instance is not None:
            self.certificate = context.instance.issue(self.key, context.identity, GITHUB_ISSUER)
            return
        now = datetime.now(UTC)
        issuer = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore.dev")])
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(issuer)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + timedelta(minutes=10))
            .add_extension(
                x509.SubjectAlternativeName([x509.UniformResourceIdentifier(context.identity)]),
                critical=True,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def sign_dsse(self, input_: dsse.Statement) -> Bundle:
        self.context.signed.append(input_._contents)
        envelope = dsse._sign(self.key, input_)
        if self.context.instance is not None:
            entry = self.context.instance.log(envelope, self.certificate)
            return Bundle._from_parts(self.certificate, envelope, entry)
        index = len(self.context.signed)
        entry = _LogEntry.from_dict(
            {
                "logIndex": str(index),
                "logId": {"keyId": _b64(b"k" * 32)},
                "kindVersion": {"kind": "dsse", "version": "0.0.1"},
                "integratedTime": str(int(time.time())),
                "inclusionPromise": {"signedEntryTimestamp": _b64(b"placeholder")},
                "inclusionProof": {
                    "logIndex": str(index),
                    "rootHash": _b64(b"r" * 32),
                    "treeSize": str(index + 1),
                    "hashes": [],
                    "checkpoint": {"envelope": "placeholder checkpoint\n"},
                },
                "canonicalizedBody": _b64(b"{}"),
            }
        )
        return Bundle._from_parts(self.certificate, envelope, TransparencyLogEntry(entry))


class FakeSigningContext(SigningContext):
    """A ``SigningContext`` that needs no Fulcio, Rekor or trust root."""

    def __init__(
        self,
        identity: str = WORKFLOW_IDENTITY,
        *,
        fail: Exception | None = None,
        instance: SigstoreInstance | None = None,
    ) -> None:
        # Deliberately not calling super().__init__: there are no service clients to make.
        self.identity = identity
        self.fail = fail
        #: Issue and log for real with this private instance; without it, a self-signed
        #: certificate and a placeholder log entry that no verifier accepts.
        self.instance = instance
        self.signed: list[bytes] = []
        self.certificates = 0

    @contextmanager
    def signer(self, identity_token: IdentityToken, *, cache: bool = True) -> Iterator[Any]:
        if self.fail is not None:
            raise self.fail
        yield FakeSigner(self, identity_token)

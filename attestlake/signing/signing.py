"""Signers: what turns the exact bytes of an in-toto statement into the document that is pushed.

One interface, :class:`Signer`, two implementations:

- :class:`attestlake.signing.keys.KeySigner`: a DSSE envelope signed with a private key (PEM, or
  cosign's encrypted key file);
- :class:`SigstoreSigner`: Sigstore keyless. The CI's OIDC identity (GitHub Actions with
  ``id-token: write``, GitLab ``id_tokens``) gets a short-lived certificate from Fulcio, the
  DSSE signature is logged in Rekor, and the result is a Sigstore bundle (v0.3).

Both sign a batch, so a keyless run asks Fulcio for one certificate for all its statements.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from attestlake.errors import SigningError
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE

if TYPE_CHECKING:
    from cryptography import x509
    from sigstore.oidc import IdentityToken
    from sigstore.sign import SigningContext

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
#: Environment variables that may hold an OIDC identity token for keyless signing.
TOKEN_VARIABLES = ("SIGSTORE_ID_TOKEN", "SIGSTORE_IDENTITY_TOKEN")
SIGNED_MEDIA_TYPES = frozenset({ENVELOPE_MEDIA_TYPE, BUNDLE_MEDIA_TYPE})


@dataclass(frozen=True)
class SignedStatement:
    """A signed statement as pushed: a DSSE envelope or a Sigstore bundle, and who signed it."""

    media_type: str
    data: bytes
    #: The exact statement bytes that were signed.
    statement: bytes
    #: ``key sha256:<hex>`` for a key, the certificate identity for keyless.
    signer: str
    issuer: str | None = None


class Signer(ABC):
    """Signs in-toto statements (their exact bytes) for the collector."""

    @property
    @abstractmethod
    def identity(self) -> str:
        """Who signs: shown to the user and recorded in manifest annotations."""

    @abstractmethod
    def sign_statements(self, statements: Sequence[bytes]) -> list[SignedStatement]:
        """Sign each statement; the result is in the same order."""


def identity_token(env: Mapping[str, str] | None = None) -> str:
    """An OIDC identity token: from ``SIGSTORE_ID_TOKEN`` or the CI's ambient credentials."""
    env = os.environ if env is None else env
    for name in TOKEN_VARIABLES:
        if env.get(name):
            return env[name]
    from sigstore.oidc import IdentityError, detect_credential

    try:
        token = detect_credential()
    except IdentityError as exc:
        raise SigningError(f"keyless signing: {_oneline(exc.diagnostics())}") from None
    if not token:
        raise SigningError(
            "keyless signing needs an OIDC identity: in GitHub Actions give the job "
            "'permissions: id-token: write'; in GitLab CI declare 'id_tokens: SIGSTORE_ID_TOKEN: "
            "{aud: sigstore}'; elsewhere set SIGSTORE_ID_TOKEN, or sign with --key"
        )
    return token


class SigstoreSigner(Signer):
    """Keyless signing through sigstore-python; each statement becomes a v0.3 bundle."""

    def __init__(self, context: SigningContext, token: IdentityToken) -> None:
        self.context = context
        self.token = token

    @classmethod
    def from_token(cls, context: SigningContext, raw_token: str) -> SigstoreSigner:
        from sigstore.oidc import IdentityError, IdentityToken

        try:
            return cls(context, IdentityToken(raw_token))
        except IdentityError as exc:
            raise SigningError(f"keyless signing: the OIDC token is not usable: {exc}") from None

    @classmethod
    def public_good(
        cls, *, staging: bool = False, env: Mapping[str, str] | None = None
    ) -> SigstoreSigner:
        """The public Sigstore instance (Fulcio and Rekor), or its staging instance."""
        from sigstore.errors import Error as SigstoreError
        from sigstore.models import ClientTrustConfig
        from sigstore.sign import SigningContext

        raw = identity_token(env)
        try:
            config = ClientTrustConfig.staging() if staging else ClientTrustConfig.production()
            context = SigningContext.from_trust_config(config)
        except (SigstoreError, OSError) as exc:
            raise SigningError(
                f"keyless signing: cannot load the Sigstore trust root: {exc}"
            ) from None
        return cls.from_token(context, raw)

    @property
    def identity(self) -> str:
        return str(self.token.identity)

    @property
    def issuer(self) -> str:
        return str(self.token.federated_issuer)

    def sign_statements(self, statements: Sequence[bytes]) -> list[SignedStatement]:
        import requests
        from sigstore.dsse import Statement
        from sigstore.errors import Error as SigstoreError

        out = []
        try:
            with self.context.signer(self.token, cache=True) as signer:
                for raw in statements:
                    bundle = signer.sign_dsse(Statement(raw))
                    data = bundle.to_json().encode()
                    who = _certificate_identity(bundle.signing_certificate) or self.identity
                    out.append(SignedStatement(BUNDLE_MEDIA_TYPE, data, raw, who, self.issuer))
        except SigstoreError as exc:
            raise SigningError(f"keyless signing failed: {_oneline(exc.diagnostics())}") from None
        except requests.RequestException as exc:
            raise SigningError(
                f"keyless signing failed: Fulcio or Rekor cannot be reached ({type(exc).__name__})"
            ) from None
        return out


def _oneline(text: str) -> str:
    return " ".join(text.split())


def _certificate_identity(cert: x509.Certificate) -> str | None:
    """The identity Fulcio bound into the certificate (its SAN: a URI or an e-mail)."""
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for kind in (x509.UniformResourceIdentifier, x509.RFC822Name):
        names = san.get_values_for_type(kind)
        if names:
            return str(names[0])
    return None


class DeferredSigner(Signer):
    """A signer made on first use: a run that is refused never asks for an OIDC token."""

    def __init__(self, make: Callable[[], Signer], identity: str) -> None:
        self._make = make
        self._signer: Signer | None = None
        self._identity = identity

    @property
    def signer(self) -> Signer:
        if self._signer is None:
            self._signer = self._make()
        return self._signer

    @property
    def identity(self) -> str:
        return self._signer.identity if self._signer is not None else self._identity

    def sign_statements(self, statements: Sequence[bytes]) -> list[SignedStatement]:
        return self.signer.sign_statements(statements)

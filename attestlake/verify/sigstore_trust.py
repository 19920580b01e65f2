"""A Sigstore trusted root as sigstore-python loads it, once per process and root: its
verifier and its certificate authorities (:mod:`attestlake.verify.keyless`)."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field

from cryptography import x509
from sigstore.errors import Error as SigstoreError
from sigstore.models import ClientTrustConfig, TrustedRoot
from sigstore.verify import Verifier

from attestlake.errors import TrustPolicyError
from attestlake.verify.roots import PUBLIC_GOOD


@dataclass(frozen=True)
class SigstoreTrust:
    """A trusted root, loaded once per process: its verifier and its certificate authorities."""

    name: str
    verifier: Verifier
    authorities: frozenset[x509.Name]
    trusted_root: TrustedRoot = field(compare=False, repr=False)

    def issued_by_trusted_ca(self, cert: x509.Certificate) -> bool:
        """Whether the certificate names a CA of this root as its issuer (the signature on it
        is checked by sigstore-python; a forged one is a bad signature, not an unknown CA)."""
        return cert.issuer in self.authorities


@functools.lru_cache(maxsize=32)
def sigstore_trust(root: str) -> SigstoreTrust:
    """The verifier for ``root`` (``sigstore-public-good`` or a trusted_root.json path), cached.

    ``sigstore-public-good`` is the root embedded in sigstore-python, used offline (it is
    copied under ``$XDG_CACHE_HOME``/``$XDG_DATA_HOME`` by sigstore-python).
    """
    try:
        if root == PUBLIC_GOOD:
            tuf_log = logging.getLogger("sigstore._internal.tuf")
            level = tuf_log.level
            tuf_log.setLevel(logging.ERROR)  # not "loaded in offline mode" on every run
            try:
                trusted = ClientTrustConfig.production(offline=True).trusted_root
            finally:
                tuf_log.setLevel(level)
        else:
            trusted = TrustedRoot.from_file(root)
        verifier = Verifier(trusted_root=trusted)
        authorities = frozenset(ca.subject for ca in trusted.get_fulcio_certs())
    except (SigstoreError, OSError, ValueError) as exc:
        raise TrustPolicyError(f"trusted root {root}: cannot be loaded: {exc}") from None
    return SigstoreTrust(root, verifier, authorities, trusted)

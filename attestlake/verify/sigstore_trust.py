"""A Sigstore trusted root as sigstore-python loads it, once per process and root: its
verifier and its certificate authorities (:mod:`attestlake.verify.keyless`).

sigstore-python's verifier asks its trusted root for the CT log and Rekor keyrings, and for
the timestamp authorities, on every bundle, and the root builds them again from its keys and
certificates each time. :class:`_KeptRoot` builds each once. A kept keyring can only be
stricter than a new one: a key is left out of it while its validity has not started (and kept
once expired, as sigstore-python keeps it for verifying); nothing else in it depends on time."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field

from cryptography import x509
from sigstore._internal.trust import CertificateAuthority, CTKeyring, KeyringPurpose, RekorKeyring
from sigstore.errors import Error as SigstoreError
from sigstore.models import ClientTrustConfig, TrustedRoot
from sigstore.verify import Verifier

from attestlake.errors import TrustPolicyError
from attestlake.verify.roots import PUBLIC_GOOD


class _KeptRoot(TrustedRoot):
    """A trusted root that builds its keyrings and timestamp authorities once."""

    @functools.cache  # noqa: B019 - a root lives as long as the process (sigstore_trust)
    def rekor_keyring(self, purpose: KeyringPurpose) -> RekorKeyring:
        return super().rekor_keyring(purpose)

    @functools.cache  # noqa: B019
    def ct_keyring(self, purpose: KeyringPurpose) -> CTKeyring:
        return super().ct_keyring(purpose)

    def get_timestamp_authorities(self) -> list[CertificateAuthority]:
        return list(self._timestamp_authorities())

    @functools.cache  # noqa: B019
    def _timestamp_authorities(self) -> tuple[CertificateAuthority, ...]:
        return tuple(super().get_timestamp_authorities())


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
    trusted: TrustedRoot
    try:
        if root == PUBLIC_GOOD:
            tuf_log = logging.getLogger("sigstore._internal.tuf")
            level = tuf_log.level
            tuf_log.setLevel(logging.ERROR)  # not "loaded in offline mode" on every run
            try:
                trusted = _KeptRoot(ClientTrustConfig.production(offline=True).trusted_root._inner)
            finally:
                tuf_log.setLevel(level)
        else:
            trusted = _KeptRoot.from_file(root)
        verifier = Verifier(trusted_root=trusted)
        authorities = frozenset(ca.subject for ca in trusted.get_fulcio_certs())
    except (SigstoreError, OSError, ValueError) as exc:
        raise TrustPolicyError(f"trusted root {root}: cannot be loaded: {exc}") from None
    return SigstoreTrust(root, verifier, authorities, trusted)

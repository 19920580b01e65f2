"""One error root for attestlake.

Every error a user can cause or meet derives from :class:`Error`. Its message says what went
wrong and what to do; the CLI catches this root only and maps :attr:`Error.exit_code` to the
process exit code (see the README's "Exit codes").
"""

from __future__ import annotations

from attestlake.redaction import redact


class Error(Exception):
    """Root of every attestlake error."""

    exit_code = 1

    def diagnostics(self) -> str:
        """The message shown to a user, without any credential it quotes."""
        return redact(str(self))


class InputError(Error, ValueError):
    """A file, value or option given by the user is wrong."""


class ContractError(InputError):
    """A contract file is malformed; the message names the field and line."""


class MaterialError(InputError):
    """A material does not match its declared kind (not JSON, wrong SBOM format, bad digest)."""


class ContractUnsatisfied(Error):
    """The attestation lacks what its contract requires; nothing was pushed."""

    exit_code = 3

    def __init__(self, message: str, missing: list[str]) -> None:
        super().__init__(message)
        self.missing = missing


class PolicyViolated(ContractUnsatisfied):
    """A gating policy the contract names found violations in the run; nothing was signed or
    pushed. ``missing`` holds the violations; ``evaluations`` every policy's evaluation."""

    def __init__(self, message: str, violations: list[str], evaluations: tuple[object, ...]):
        super().__init__(message, violations)
        self.evaluations = evaluations


class KeyError_(InputError):
    """A key file cannot be read or used."""


class StoreError(Error):
    """A store (OCI layout directory or registry) cannot be read or written."""


class ContentError(StoreError):
    """Content from a store is not what it claims: wrong digest, too large, malformed."""


class TransportError(StoreError):
    """Content from a registry arrived damaged (digest mismatch, cut short) or the connection
    broke while it was read, on every attempt: a fault on the way, not in the content. Not a
    ContentError, so the crawler skips the unit without recording it and reads it again next
    time."""


class NotFound(StoreError):
    """A blob, manifest or tag does not exist in the store."""


class EmptySource(InputError):
    """A crawl source lists nothing: no such repository or directory, or nothing in it."""


class TrustPolicyError(InputError):
    """A trust policy file is malformed."""


class LakeError(Error):
    """The lake cannot be read or written."""


class QueryError(InputError):
    """A saved query is unknown, malformed, or was given bad parameters."""


class FindingsAtSeverity(Error):
    """A report found problems at or above the severity given with --fail-on."""

    exit_code = 4


class OutputError(Error):
    """The command's output cannot be written (a full disk, a device error)."""


class SigningError(Error):
    """Signing failed: no OIDC identity for keyless signing, or Sigstore refused to sign."""


class PublishError(InputError):
    """A contract or inventory cannot be published or pulled (revision conflict, bad reference)."""


class RunConflict(StoreError):
    """The store already holds a different attestation for this run id."""

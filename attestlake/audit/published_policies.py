"""Policies published to a store: signed, revisioned, and verified when pulled.

``attestlake policy push`` publishes a policy file as contracts are published
(:mod:`attestlake.contracts.publish`, kind ``policy``, tags ``policy-<name>.r<N>`` and
``policy-<name>.latest``): its name is the file's (``no_root_images.sql`` is ``no_root_images``),
the file is checked as a policy first, and its declaration is signed by SecOps.

:func:`pull_policy` fetches a revision and holds it to the trust policy exactly as the crawler
holds a published revision (:func:`attestlake.crawl.normalize.published.declared`): from a
store ``declared_state`` names, its declaration signed by one of its signers for exactly this
file, name and revision. A published policy is named ``STORE#NAME`` (latest) or
``STORE#NAME@REVISION`` wherever a policy is named (``gate --policy``, ``policy eval
--policy``, ``policy show``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from attestlake.audit.policies import load_policies, parse_policy, read_policy
from attestlake.audit.query_files import SavedQuery
from attestlake.contracts.publish import (
    PublishResult,
    Reference,
    Revision,
    file_name,
    parse_reference,
    publish,
    pull,
)
from attestlake.crawl.normalize.published import Declared, declared
from attestlake.crawl.sources.store import StoreSource
from attestlake.errors import PublishError, QueryError
from attestlake.signing.signing import Signer
from attestlake.store import Store, open_store
from attestlake.verify.outcome import NOT_VERIFIED, VERIFIED
from attestlake.verify.trust import TrustPolicy

KIND = "policy"


def is_published(name: str) -> bool:
    """Whether a policy name is a published reference (``STORE#NAME[@REVISION]``)."""
    return "#" in name


def described(text: str) -> str:
    """``STORE#NAME@N`` as ``NAME revision N of STORE``: no part of it then reads as the
    ``user:password@host`` that error messages redact."""
    store, _, name = text.rpartition("#")
    return f"{name.replace('@', ' revision ', 1)} of {store}"


def publish_policy(
    store: Store,
    path: Path,
    *,
    revision: int | None = None,
    signer: Signer | None = None,
    now: datetime | None = None,
) -> PublishResult:
    """Publish the policy file at ``path`` under its name (as ``revision`` if given); QueryError
    when the file is not a policy, PublishError when the revision holds another file."""
    query, raw = read_policy(path)
    if revision is not None and revision < 1:
        raise PublishError(f"--revision {revision}: revisions start at 1")
    return publish(store, KIND, query.name, raw, declared_revision=revision, now=now, signer=signer)


@dataclass(frozen=True)
class PulledPolicy:
    """A published policy revision: the policy, its exact bytes, where it was published and
    the verdict on its declaration (None when pulled without a trust policy)."""

    query: SavedQuery
    raw: bytes
    revision: Revision
    reference: str  # STORE#NAME@REVISION
    verdict: Declared | None


def verify_revision(
    store: Store, revision: Revision, trust: TrustPolicy, now: datetime | None = None
) -> Declared:
    """The verdict the crawler would record for ``revision`` (see the module doc)."""
    unit = StoreSource(store).load(revision.manifest_digest, store.ref)
    doc = unit.published
    if doc is None or doc.raw is None or doc.digest != revision.digest:
        why = unit.error or (doc.error if doc else None) or "not a published policy revision"
        return Declared(NOT_VERIFIED, "malformed", why)
    return declared(unit, doc, trust, now or datetime.now(UTC))


def pull_policy(text: str, trust: TrustPolicy | None, now: datetime | None = None) -> PulledPolicy:
    """The policy ``text`` (``STORE#NAME[@REVISION]``) names, verified under ``trust`` (None:
    not verified, as ``policy pull --unverified``); PublishError when it is not published or
    its declaration does not verify, QueryError when its file is not a policy."""
    ref = parse_reference(text)
    if ref.digest is not None:
        raise PublishError(f"{described(text)}: name a published policy by revision (STORE#NAME@N)")
    store = open_store(ref.store)
    try:
        revision, raw = pull(store, KIND, ref)
        _require_named(ref, revision, store.ref)
        verdict = None if trust is None else verify_revision(store, revision, trust, now)
    finally:
        store.close()
    where = f"{revision.name} revision {revision.revision} in {store.ref}"
    if trust is not None and verdict is not None and verdict.status != VERIFIED:
        raise PublishError(
            f"policy {where} is not verified under the trust policy {trust.source}: "
            f"{verdict.detail} ({verdict.reason}); it is not used"
        )
    try:
        query = parse_policy(raw, Path(file_name(KIND, revision.name)))
    except QueryError as exc:
        raise QueryError(f"policy {where} is not a policy: {exc}") from None
    return PulledPolicy(
        query, raw, revision, f"{store.ref}#{revision.name}@{revision.revision}", verdict
    )


def _require_named(ref: Reference, revision: Revision, store: str) -> None:
    """PublishError when the tag ``ref`` resolves to holds another name or revision (a tag
    moved by hand: the signed declaration would be another policy's)."""
    wanted = ref.revision if ref.revision is not None else revision.revision
    if revision.name != ref.name or revision.revision != wanted:
        raise PublishError(
            f"{store}: the tag {revision.tag} holds policy {revision.name!r} revision "
            f"{revision.revision}, not {ref.name!r}"
            + (f" revision {ref.revision}" if ref.revision is not None else "")
        )


def load_named(names: Sequence[str], trust: TrustPolicy | None) -> list[SavedQuery]:
    """The policies ``names`` give, in order: library names, ``.sql`` paths, or published
    references (``STORE#NAME[@REVISION]``, verified under ``trust``; PublishError without
    one)."""
    chosen: list[SavedQuery] = []
    for name in dict.fromkeys(names):
        if not is_published(name) or Path(name).is_file():
            chosen.extend(load_policies([name]))
            continue
        if trust is None:
            raise PublishError(
                f"policy {described(name)}: a published policy is used only once verified: "
                "give --trust POLICY "
                "(whose declared_state names the store and SecOps's signer)"
            )
        chosen.append(pull_policy(name, trust).query)
    names_seen = [q.name for q in chosen]
    twice = sorted({n for n in names_seen if names_seen.count(n) > 1})
    if twice:
        raise QueryError(f"policy {twice[0]} is named twice (give one of its sources)")
    return chosen

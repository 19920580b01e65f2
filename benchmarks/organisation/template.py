"""Builds of a workflow made from one the collector made: the same bytes, a fraction of the CPU.

The collector spends about 10 ms of CPU on a run (runner discovery and redaction of every
variable, the SBOM read and validated twice, RFC 8785 canonical JSON in pure Python). A
workflow's builds differ only in per-build values: run id and times, the CI job's variables,
the image digest, the SBOM and the package. :class:`RunTemplate` keeps what the collector
made of one build of a shape (a contract revision with a set of materials), and
:meth:`RunTemplate.push` records another build of that shape with the collector's own
builders (:func:`~attestlake.collect.statements.run_statement` and the SLSA provenance
through :class:`~attestlake.collect.record.RunRecord`,
:func:`~attestlake.collect.lifecycle.run_record`,
:func:`~attestlake.collect.push.push_record`, the signer), skipping only what gives the
same result again:

- the runner context is the template's with the build's variables, as
  :func:`~attestlake.evidence.runners.discover` reads them, not redacted again (the generated
  variables hold no credential);
- a material file is not written and read back: its digest, size and details are taken from
  the bytes in memory (an SBOM's details from the document it was made from);
- canonical JSON is ``json.dumps`` with sorted keys, which writes RFC 8785's bytes for
  statements of strings, integers, booleans and nulls (:func:`canonical`).

:meth:`RunTemplate.check` compares the statements :meth:`statements` makes for a build with
those the collector signed for it, byte for byte; the generator does so for the build each
template is made from, so a collector that records something new fails the generator instead
of going unnoticed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from attestlake.collect.lifecycle import run_record
from attestlake.collect.provenance import has_outputs
from attestlake.collect.push import push_record
from attestlake.collect.record import RunRecord, derive_run_id
from attestlake.evidence.material_formats import FILE_FORMATS
from attestlake.evidence.materials import Material, read_material
from attestlake.evidence.runner_context import RunnerContext
from attestlake.evidence.runners import runner_fields
from attestlake.signing.signing import SignedStatement, Signer
from attestlake.store import Store
from attestlake.store.oci import sha256_digest


def canonical(statement: Mapping[str, Any]) -> bytes:
    """RFC 8785 canonical JSON of a statement that holds only strings, integers, booleans and
    nulls (no floats), with keys in the Basic Multilingual Plane: for those, ``json.dumps``
    with sorted keys and no whitespace writes the same bytes, in C."""
    text = json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode()


@dataclass(frozen=True)
class Added:
    """One material a build adds: an image reference or a string, or a file's bytes (and,
    for an SBOM made here, what the collector's reader records about it)."""

    name: str
    value: str  # the reference, the string, or the file's path
    data: bytes | None = None
    details: Mapping[str, Any] | None = None


@dataclass
class RecordingSigner(Signer):
    """A signer that remembers the statements it was last asked to sign."""

    inner: Signer
    signed: list[bytes] = field(default_factory=list)

    @property
    def identity(self) -> str:
        return self.inner.identity

    def sign_statements(self, statements: Sequence[bytes]) -> list[SignedStatement]:
        self.signed = list(statements)
        return self.inner.sign_statements(statements)


@dataclass(frozen=True)
class RunTemplate:
    """The collector's record of one build (pushed, not reset), for builds of its shape."""

    made: RunRecord

    @classmethod
    def usable(cls, att: RunRecord) -> bool:
        """Whether builds like ``att`` can be made from it: not when its contract names
        policies (they are evaluated on each run's statement)."""
        return not att.contract.policies

    def runner(self, env: Mapping[str, str]) -> RunnerContext:
        """The runner context :func:`discover` gives for ``env``, a variable set like the
        template's."""
        like = self.made.runner
        ctx = copy.copy(like)
        for name, value in runner_fields(like.type, env).items():
            object.__setattr__(ctx, name, value)
        object.__setattr__(ctx, "environment", {n: env[n] for n in like.environment})
        return ctx

    def material(self, added: Added) -> Material:
        like = next(m for m in self.made.materials if m.name == added.name)
        if added.data is None:
            return read_material(
                like.name, like.kind, added.value, output=like.output, annotations=like.annotations
            )[0]
        details = added.details
        if details is None:
            details = FILE_FORMATS[like.kind][1](added.data, added.value)
        return replace(
            like,
            value=added.value,
            digest=sha256_digest(added.data),
            size=len(added.data),
            details=dict(details),
        )

    def record(
        self, env: Mapping[str, str], started: datetime, materials: Sequence[Added]
    ) -> RunRecord:
        """The run record the collector holds for a build in ``env`` started at ``started``
        once ``materials`` are added."""
        made = self.made
        runner = self.runner(env)
        return replace(
            made,
            run_id=derive_run_id(runner, made.workflow, made.project) or made.run_id,
            runner=runner,
            started_at=started,
            materials=[self.material(a) for a in materials],
        )

    @staticmethod
    def statements(att: RunRecord, finished: datetime) -> list[tuple[str, bytes]]:
        """The statements a push of ``att`` signs, by role: the run's, then its provenance."""
        out = [("envelope", canonical(att.statement(finished)))]
        if has_outputs(att.materials):
            out.append(("provenance", canonical(att.provenance(finished))))
        return out

    def push(
        self,
        att: RunRecord,
        materials: Sequence[Added],
        finished: datetime,
        signer: Signer,
        store: Store,
    ) -> None:
        """Sign and push ``att`` (made by :meth:`record`) as the collector's push does."""
        data = {a.name: a.data for a in materials}
        evidence = [
            (m, blob)
            for m in att.materials
            if (blob := data.get(m.name)) is not None and not _skips_upload(att, m.name)
        ]
        statements = self.statements(att, finished)
        push_record(
            store, signer, run_record(att, "success", statements, finished, evidence=evidence)
        )

    def check(
        self,
        env: Mapping[str, str],
        materials: Sequence[Added],
        finished: datetime,
        signed: Sequence[bytes],
    ) -> None:
        """RuntimeError unless the statements made here for the template's own build are
        ``signed``, the ones the collector signed for it."""
        att = self.record(env, self.made.started_at, materials)
        ours = [raw for _, raw in self.statements(att, finished)]
        if ours != list(signed):
            mine, theirs = b"\n".join(ours), b"\n".join(signed)
            at = next(
                (i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b),
                min(len(mine), len(theirs)),
            )
            lo = max(0, at - 60)
            raise RuntimeError(
                f"builds of {self.made.project}/{self.made.workflow} made from a template differ "
                f"from the collector's at byte {at}: {mine[lo : at + 60]!r} against "
                f"{theirs[lo : at + 60]!r}"
            )


def _skips_upload(att: RunRecord, name: str) -> bool:
    req = att.contract.material(name)
    return req is not None and req.skip_upload

"""The collector: what CI runs to craft, check, sign and push one workflow run's attestation.

CI runs the steps as separate commands, so the run in progress lives in a state file between
them (:mod:`attestlake.collect.run_state`). :class:`Attestation` is that state: ``init`` discovers the
runner, binds the contract (a file, or a revision published in a store) and may record the
start in the store; ``add`` validates materials by kind; ``status`` says what the contract
still needs; ``push`` signs the run statement (and SLSA provenance for the outputs) and pushes
them with the evidence (:mod:`attestlake.collect.push`), or refuses, pushing nothing, while anything
required is missing; ``reset`` records a failed or cancelled run instead.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

from attestlake.collect import lifecycle
from attestlake.collect.lifecycle import TRIGGERS
from attestlake.collect.policy_outcome import PolicyEvaluator
from attestlake.collect.push import ARTIFACT_TYPE, PushResult
from attestlake.collect.record import RunRecord, Status, derive_run_id
from attestlake.collect.run_state import DEFAULT_STATE, STATE_VERSION, load, save, to_state
from attestlake.signing.signing import Signer
from attestlake.store import Store

__all__ = [
    "ARTIFACT_TYPE",
    "DEFAULT_STATE",
    "STATE_VERSION",
    "TRIGGERS",
    "Attestation",
    "PushResult",
    "Status",
    "derive_run_id",
]


class Attestation(RunRecord):
    """A :class:`RunRecord` with its steps as methods: ``start``, ``push`` and ``reset``
    (:mod:`attestlake.collect.lifecycle`), and its state file (:mod:`attestlake.collect.run_state`)."""

    # -- pushing (the records themselves: attestlake.collect.lifecycle) ---------------------------
    def start(self, signer: Signer, store: Store, *, now: datetime | None = None) -> PushResult:
        """Record in the store that the run started (``run-<id>-started``)."""
        return lifecycle.start(self, signer, store, now=now)

    def push(
        self,
        signer: Signer,
        store: Store,
        *,
        now: datetime | None = None,
        provenance: bool = True,
        bundle_out: Path | None = None,
        policies: PolicyEvaluator | None = None,
    ) -> PushResult:
        """Sign and push; nothing is written to the store unless the contract is satisfied.

        SLSA provenance for the outputs is signed and pushed beside the run statement unless
        ``provenance`` is False (a run without outputs has none). ``policies`` evaluates the
        policies the contract names (:func:`attestlake.collect.lifecycle.push`)."""
        return lifecycle.push(
            self,
            signer,
            store,
            now=now,
            provenance=provenance,
            bundle_out=bundle_out,
            policies=policies,
        )

    def reset(
        self,
        trigger: str,
        reason: str | None,
        signer: Signer,
        store: Store,
        *,
        now: datetime | None = None,
    ) -> PushResult:
        """Record the run as failed or cancelled (``run-<id>-failure``/``-cancellation``)."""
        return lifecycle.reset(self, trigger, reason, signer, store, now=now)

    # -- state file ------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return to_state(self)

    def save(self, path: Path = DEFAULT_STATE) -> None:
        save(self, path)

    @classmethod
    def load(cls, path: Path = DEFAULT_STATE) -> Attestation:
        """The run in progress at ``path``, its contract's bytes parsed again and checked
        against the parsed form the state keeps (a run loaded here may be pushed)."""
        record = load(path, check_contract=True)
        return cls(**{f.name: getattr(record, f.name) for f in fields(record)})

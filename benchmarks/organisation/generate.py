"""Generate an organisation of N runs, signed for real, into an OCI layout store.

:func:`generate` plans the organisation (:mod:`benchmarks.organisation.plan`), declares its
keys, contracts, inventory and trust policy (:mod:`benchmarks.organisation.declared`), then
makes every workflow's runs with the real collector (:mod:`benchmarks.organisation.ci`) in
worker processes, one workflow at a time each, and writes the layout's ``index.json`` once at
the end. What it made, and which workflows carry which plant, is written to
``generated.json`` beside the store::

    DIR/store/          the OCI layout: attestlake crawl --from oci:DIR/store --trust DIR/trust.yaml
    DIR/trust.yaml      the trust policy:   --trust DIR/trust.yaml
    DIR/generated.json  counts, timings, planted workflows
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE
from attestlake.signing.keys import KeySigner
from attestlake.signing.signing import BUNDLE_MEDIA_TYPE, Signer, SigstoreSigner
from benchmarks.organisation.bulk_store import BulkLayoutStore, write_index
from benchmarks.organisation.ci import Tally, WorkflowRuns
from benchmarks.organisation.declared import declare
from benchmarks.organisation.plan import PLANTS, Plan, PlannedWorkflow, make_plan
from tests.sigstore_instance import SigstoreInstance

MARKER = ".attestlake-generated"
SayFn = Callable[[str], None]


@dataclass
class Generated:
    """What :func:`generate` made (also written to ``generated.json``)."""

    directory: str
    runs: int
    failed: int
    workflows: int
    envelopes: int
    bundles: int
    signed_bytes: int  # every signed statement layer (DSSE envelopes and Sigstore bundles)
    blob_bytes: int  # every blob written (statements, evidence, manifests)
    components: int
    seconds: float
    jobs: int
    now: str
    planted: dict[str, list[str]] = field(default_factory=dict)  # plant -> project/workflow

    @property
    def store(self) -> Path:
        return Path(self.directory) / "store"

    @property
    def trust_policy(self) -> Path:
        return Path(self.directory) / "trust.yaml"

    @classmethod
    def load(cls, directory: Path) -> Generated:
        return cls(**json.loads((directory / "generated.json").read_text(encoding="utf-8")))


# -- the workers ---------------------------------------------------------------------------
_worker: dict[str, Any] = {}


def _start_worker(
    directory: Path, scratch: Path, instance: SigstoreInstance, now: datetime, days: int
) -> None:
    work = scratch / str(os.getpid())
    work.mkdir(parents=True, exist_ok=True)
    keys = {
        name: KeySigner.from_file(directory / "keys" / f"{name}.key") for name in ("ci", "rogue")
    }
    _worker.update(
        store=BulkLayoutStore(directory / "store"),
        work=work,
        now=now,
        days=days,
        keys=keys,
        instance=instance,
        keyless={},
    )


def _signer(name: str) -> Signer:
    if not name.startswith("keyless:"):
        return _worker["keys"][name]  # type: ignore[no-any-return]
    identity = name.removeprefix("keyless:")
    if identity not in _worker["keyless"]:
        from tests.sigstore_double import FakeSigningContext, github_token

        context = FakeSigningContext(identity, instance=_worker["instance"])
        _worker["keyless"][identity] = SigstoreSigner.from_token(context, github_token(identity))
    return _worker["keyless"][identity]  # type: ignore[no-any-return]


def _make(planned: PlannedWorkflow) -> tuple[Tally, Counter[str], Counter[str]]:
    """Make one workflow's runs; its index entries go to this worker's part file."""
    store: BulkLayoutStore = _worker["store"]
    store.written.clear()
    store.written_bytes.clear()
    _worker["keyless"].clear()  # a fresh token per workflow: tokens expire
    runs = WorkflowRuns(planned, store, _worker["work"], _worker["now"], _worker["days"], _signer)
    runs.all()
    with (_worker["work"] / "index.jsonl").open("a", encoding="utf-8") as part:
        for entry in store.take_entries():
            part.write(json.dumps(entry, separators=(",", ":")) + "\n")
    return runs.tally, Counter(store.written), Counter(store.written_bytes)


# -- the main process ----------------------------------------------------------------------
def _prepare(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{directory} exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()):
        if not (directory / MARKER).is_file():
            raise ValueError(
                f"{directory} is not empty and was not made by the generator: choose another "
                "directory"
            )
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text("made by benchmarks/generate.py; safe to delete\n")


class _Progress:
    def __init__(self, total: int, say: SayFn, every: float = 2.0) -> None:
        self.total, self.say, self.every = total, say, every
        self.done = 0
        self.started = self.last = time.monotonic()

    def add(self, runs: int) -> None:
        self.done += runs
        now = time.monotonic()
        if now - self.last >= self.every or self.done == self.total:
            self.last = now
            rate = self.done / max(now - self.started, 1e-9)
            eta = (self.total - self.done) / rate if rate else 0.0
            self.say(
                f"  {self.done:,}/{self.total:,} runs ({rate:,.0f} runs/s, {eta:,.0f} s to go)"
            )


def _summary(
    plan: Plan, directory: Path, tally: Tally, written: tuple[Counter[str], Counter[str]]
) -> dict[str, Any]:
    counts, sizes = written
    return {
        "directory": str(directory),
        "runs": tally.runs,
        "failed": tally.failed,
        "workflows": len(plan.workflows),
        "envelopes": counts[ENVELOPE_MEDIA_TYPE],
        "bundles": counts[BUNDLE_MEDIA_TYPE],
        "signed_bytes": sizes[ENVELOPE_MEDIA_TYPE] + sizes[BUNDLE_MEDIA_TYPE],
        "blob_bytes": sum(sizes.values()),
        "components": tally.components,
        "planted": {
            plant: sorted(f"{p.workflow.project}/{p.name}" for p in plan.planted(plant))
            for plant in PLANTS
        },
    }


def generate(
    directory: Path,
    runs: int,
    *,
    days: int = 90,
    seed: int = 1984,
    jobs: int | None = None,
    now: datetime | None = None,
    say: SayFn = print,
) -> Generated:
    """Generate an organisation of ``runs`` runs into ``directory`` (see the module doc)."""
    plan = make_plan(runs, days=days, seed=seed)
    jobs = max(1, jobs or os.cpu_count() or 1)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    _prepare(directory)
    started = time.monotonic()
    instance = SigstoreInstance()
    declare(directory, plan, now, json.dumps(instance.trusted_root(), indent=1).encode())
    say(
        f"generating {runs:,} runs of {len(plan.workflows):,} workflows "
        f"({len(plan.teams)} teams) over {days} days with {jobs} worker(s)"
    )
    tally, counts, sizes = Tally(), Counter[str](), Counter[str]()
    progress = _Progress(runs, say)
    ordered = sorted(plan.workflows, key=lambda p: -p.runs)  # the longest first: even finish
    context = multiprocessing.get_context("fork")
    shm = Path("/dev/shm")  # the SBOM files the collector reads: in memory where possible
    with tempfile.TemporaryDirectory(prefix="generate-", dir=shm if shm.is_dir() else None) as tmp:
        init = (directory, Path(tmp), instance, now, days)
        with context.Pool(jobs, initializer=_start_worker, initargs=init) as pool:
            for made, written, written_bytes in pool.imap_unordered(_make, ordered):
                tally.add(made)
                counts.update(written)
                sizes.update(written_bytes)
                progress.add(made.runs)
        manifests = write_index(directory / "store", sorted(Path(tmp).glob("*/index.jsonl")))
    if manifests != tally.runs:
        raise RuntimeError(f"{manifests} manifests indexed for {tally.runs} runs")
    summary = _summary(plan, directory, tally, (counts, sizes))
    generated = Generated(
        **summary, seconds=round(time.monotonic() - started, 2), jobs=jobs, now=now.isoformat()
    )
    (directory / "generated.json").write_text(json.dumps(asdict(generated), indent=1))
    return generated

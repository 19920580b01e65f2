"""One workflow's runs, made with the real collector into a bulk layout store.

:class:`WorkflowRuns` makes the first build of each shape (a contract revision and the
materials added) as CI would, minus the state file between steps:
:meth:`RunRecord.init <attestlake.collect.record.RunRecord.init>` against the contract revision
pulled from the store, ``add`` for each material the contract names (the SBOM is a real file
in the work directory, read and validated by kind), then :func:`attestlake.collect.lifecycle.push`
(run statement and SLSA provenance, signed, evidence and manifest written). Every later build
of that shape is made from it (:mod:`benchmarks.organisation.template`: the same statements,
signed and pushed by the collector's code, without discovering the runner or reading the files
again); a failed build is recorded with :func:`~attestlake.collect.lifecycle.reset`. Build
times, actors and failures come from a random generator seeded with the workflow's name, so a
workflow's runs are the same whichever worker makes them.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from attestlake.collect import lifecycle
from attestlake.collect.record import RunRecord
from attestlake.contracts.publish import PulledContract, pull_contract
from attestlake.demo.sample_organisation import Component, image_digest, runner_env
from attestlake.signing.signing import Signer
from benchmarks.organisation.bulk_store import BulkLayoutStore
from benchmarks.organisation.plan import ORGANISATION, REGISTRY, PlannedWorkflow
from benchmarks.organisation.sbom import SbomWriter
from benchmarks.organisation.template import Added, RecordingSigner, RunTemplate

ACTORS = ("sarah", "miles", "kyle", "john", "dani", "grace")
NEW_PACKAGE = Component("orjson", "3.10.7", "pkg:pypi/orjson@3.10.7")
FAILURE_EVERY = 20  # the 8th build of every 20 fails, in a workflow with the failures plant


@dataclass
class Tally:
    """What one worker made."""

    runs: int = 0
    failed: int = 0
    components: int = 0  # SBOM components listed, over every SBOM

    def add(self, other: Tally) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def bumped(component: Component, build: int, position: int) -> Component:
    """The version a stack's component has at ``build``: a patch release every 60 builds,
    staggered over the stack."""
    step = (build + 13 * position) // 60
    if step == 0:
        return component
    major, _, rest = component.version.partition(".")
    minor, _, patch = rest.partition(".")
    return component.with_version(f"{major}.{minor}.{int(patch or 0) + step}")


@dataclass
class WorkflowRuns:
    planned: PlannedWorkflow
    store: BulkLayoutStore
    work: Path
    now: datetime
    days: int
    signers: Callable[[str], Signer]  # "ci", "rogue", or "keyless:<identity>"
    contracts: dict[str, PulledContract] = field(default_factory=dict)
    tally: Tally = field(default_factory=Tally)
    #: Whether later builds of a shape are made from its first (else each by the collector).
    reuse: bool = True
    #: The collector's first build of each shape (contract revision, materials added).
    templates: dict[tuple[int, tuple[str, ...]], RunTemplate] = field(default_factory=dict)
    sboms: SbomWriter = field(default_factory=SbomWriter)
    _versions: dict[tuple[int, int], Component] = field(default_factory=dict)

    def __post_init__(self) -> None:
        seed = int.from_bytes(hashlib.sha256(self.planned.name.encode()).digest()[:8], "big")
        self.rng = random.Random(seed)

    def contract(self, name: str, revision: int) -> PulledContract:
        ref = f"{self.store.ref}#{name}@{revision}"
        if ref not in self.contracts:
            self.contracts[ref] = pull_contract(ref)
        return self.contracts[ref]

    def started(self, build: int) -> datetime:
        wf = self.planned.workflow
        if "new-dependency" in wf.plants and build == wf.runs - 1:
            return self.now - timedelta(hours=self.rng.uniform(2, 40))
        span = (self.days - 2 if "new-dependency" in wf.plants else self.days) * 86400
        offset = (build + self.rng.random()) * span / wf.runs
        return self.now - timedelta(days=self.days) + timedelta(seconds=offset)

    def signer(self, build: int) -> Signer:
        wf = self.planned.workflow
        if "rogue-signer" in wf.plants and build == wf.runs - 2:
            return self.signers("rogue")
        if self.planned.keyless:
            return self.signers(
                f"keyless:https://github.com/{ORGANISATION}/{wf.project}"
                f"/.github/workflows/{wf.name}.yml@refs/heads/main"
            )
        return self.signers("ci")

    def components(self, build: int, started: datetime) -> tuple[Component, ...]:
        wf = self.planned.workflow
        out = [self._version(k, c, (build + 13 * k) // 60) for k, c in enumerate(wf.components)]
        if "new-dependency" in wf.plants and started >= self.now - timedelta(days=2):
            out.append(NEW_PACKAGE)
        return tuple(out)

    def _version(self, position: int, component: Component, step: int) -> Component:
        """:func:`bumped`, remembered: a component's version changes every 60 builds."""
        key = (position, step)
        if key not in self._versions:
            self._versions[key] = bumped(component, step * 60 - 13 * position, position)
        return self._versions[key]

    def materials(self, pulled: PulledContract, build: int, started: datetime) -> list[Added]:
        """What the build adds, in the contract's order: image, package, version, SBOM."""
        wf = self.planned.workflow
        digest = image_digest(ORGANISATION, wf.project, build)
        stale = "stale-sbom" in wf.plants and build == wf.runs // 2
        describes = image_digest(ORGANISATION, wf.project, build - 1) if stale else digest
        materials = pulled.contract.materials
        has_image = any(m.kind == "CONTAINER_IMAGE" for m in materials)
        out = []
        for req in materials:
            if req.optional and req.kind != "SBOM_CYCLONEDX_JSON":
                continue
            if req.kind == "CONTAINER_IMAGE":
                out.append(Added(req.name, f"{REGISTRY}/{wf.project}@{digest}"))
            elif req.kind == "ARTIFACT":
                package = self.work / f"{wf.project}-1.{build}.0.tar.gz"
                data = hashlib.sha512(f"{wf.name}/{build}".encode()).digest() * 8
                out.append(Added(req.name, str(package), data))
            elif req.kind == "STRING":
                out.append(Added(req.name, f"1.{build}.0"))
            elif req.kind == "SBOM_CYCLONEDX_JSON":
                if "image-without-sbom" in wf.plants and build % 4 == 3:
                    continue
                components = self.components(build, started)
                sbom = self.sboms.write(
                    wf.project, f"1.{build}.0", components, describes if has_image else None
                )
                path = str(self.work / "sbom.cdx.json")
                out.append(Added(req.name, path, sbom.data, sbom.details))
                self.tally.components += sbom.components
        return out

    def build(self, build: int) -> None:
        wf = self.planned.workflow
        last = wf.runs - 1
        started = self.started(build)
        pin = 1 if "dropped-sbom" in wf.plants and build >= last - 2 else 2
        pulled = self.contract(wf.contract, pin)
        actor = self.rng.choice(ACTORS)
        env = runner_env(wf.runner, wf, n=self.planned.first_job + build, build=build, actor=actor)
        finished = started + timedelta(minutes=self.rng.randint(4, 30))
        signer = self.signer(build)
        self.tally.runs += 1
        if "failures" in wf.plants and build % FAILURE_EVERY == 7 and build < last - 3:
            att = self.init(pulled, env, started)
            lifecycle.reset(att, "failure", "unit tests failed", signer, self.store, now=finished)
            self.tally.failed += 1
            return
        added = self.materials(pulled, build, started)
        shape = (pin, tuple(a.name for a in added))
        template = self.templates.get(shape) if self.reuse else None
        if template is None:
            self.collect(pulled, env, (started, finished), added, signer, shape)
            return
        att = template.record(env, started, added)
        template.push(att, added, finished, signer, self.store)

    def init(self, pulled: PulledContract, env: dict[str, str], started: datetime) -> RunRecord:
        wf = self.planned.workflow
        return RunRecord.init(
            pulled.contract,
            workflow=wf.name,
            project=wf.project,
            team=wf.team,
            env=env,
            now=started,
            contract_source=pulled.source,
        )

    def collect(
        self,
        pulled: PulledContract,
        env: dict[str, str],
        times: tuple[datetime, datetime],
        added: list[Added],
        signer: Signer,
        shape: tuple[int, tuple[str, ...]],
    ) -> None:
        """Make the build as CI does, with the collector (the files written, added, read and
        checked again, the statements signed and pushed); keep it as the template of the
        builds of its shape, once its statements are those the template makes for it."""
        started, finished = times
        att = self.init(pulled, env, started)
        for material in added:
            if material.data is not None:
                Path(material.value).write_bytes(material.data)
            att.add(material.name, material.value)
        recording = RecordingSigner(signer)
        lifecycle.push(att, recording, self.store, now=finished)
        if RunTemplate.usable(att):
            template = RunTemplate(att)
            template.check(env, added, finished, recording.signed)
            self.templates[shape] = template

    def all(self) -> None:
        for build in range(self.planned.runs):
            self.build(build)

"""The sample organisation's CI runs, made with the real collector, problems planted.

:class:`OrganisationRuns` publishes the organisation's contract revisions and inventory, then
makes each workflow's runs as CI would (``init``, ``start``, ``add``, ``push``, ``reset``; a
state file between steps): a run checks the contract revision that was the latest when it
started, unless its workflow pins one, and the plants its workflow lists change its runner,
materials, components or signer, tamper with what it pushed, or add runs that failed, were
cancelled or never ended (:data:`FAILURES`). Everything derives from the names and a seeded
random generator.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from attestlake.audit.push_policies import evaluator
from attestlake.collect.collector import Attestation
from attestlake.collect.policy_outcome import PolicyEvaluator
from attestlake.contracts.contracts import load_contract
from attestlake.contracts.inventory import load_inventory
from attestlake.contracts.publish import (
    PulledContract,
    publish,
    publish_contract,
    pull_contract,
    revisions,
)
from attestlake.demo.sample_organisation import (
    Component,
    Organisation,
    Workflow,
    image_digest,
    runner_env,
    write_sbom,
)
from attestlake.errors import ContractUnsatisfied
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE, Envelope
from attestlake.signing.signing import Signer
from attestlake.store import Descriptor, Manifest
from attestlake.store.layout import LayoutStore

LogFn = Callable[[str], None]
ACTORS = ("sarah", "miles", "kyle")
#: The unfinished runs that the ``failures`` and ``one-failure`` plants add: (days ago, reset
#: trigger, or None for a run that only recorded its start, reason).
FAILURES: dict[str, tuple[tuple[float, str | None, str | None], ...]] = {
    "failures": (
        (6.5, "failure", "unit tests failed"),
        (4.2, "failure", "image scan found critical vulnerabilities"),
        (3.1, None, None),  # started, never ended: expired
        (2.7, "cancellation", "superseded by a newer commit"),
        (1.3, "failure", "registry push timed out"),
        (9.2, None, None),  # expired too, but before the failure window
    ),
    "one-failure": (
        (2.5, "failure", "integration tests failed"),
        (1 / 24, None, None),  # started an hour ago: still running
    ),
}


def _tamper(store: LayoutStore, tag: str) -> None:
    """Change one claim in a pushed envelope (as an attacker with write access would)."""
    manifest = store.get_manifest(tag)
    env_layer = next(x for x in manifest.layers if x.media_type == ENVELOPE_MEDIA_TYPE)
    envelope = Envelope.parse(store.get_blob(env_layer.digest))
    forged = envelope.payload.replace(b'"status":"success"', b'"status":"success" ', 1)
    forged = forged.replace(b"refs/heads/main", b"refs/heads/evil", 1)
    raw = Envelope(envelope.payload_type, forged, envelope.signatures).to_json_bytes()
    new_layer = store.put_blob(raw, ENVELOPE_MEDIA_TYPE)
    layers = [
        Descriptor(new_layer.media_type, new_layer.digest, new_layer.size, x.annotations)
        if x.digest == env_layer.digest
        else x
        for x in manifest.layers
    ]
    forged_manifest = Manifest.build(
        artifact_type=manifest.artifact_type or "",
        layers=layers,
        annotations=manifest.annotations,
    )
    store.put_manifest(forged_manifest, tag=tag)


@dataclass
class OrganisationRuns:
    """The runs of the sample organisation, pushed one by one into ``store``."""

    org: Organisation
    data_dir: Path
    store: LayoutStore
    work: Path
    now: datetime
    signers: dict[str, Signer]
    say: LogFn
    rng: random.Random = field(default_factory=lambda: random.Random(1984))  # noqa: S311
    pushed: int = 0
    refused: int = 0
    lifecycle: int = 0
    jobs: int = 0  # CI job counter: run ids and URLs
    _pulled: dict[str, PulledContract] = field(default_factory=dict)
    _evaluators: dict[str, PolicyEvaluator] = field(default_factory=dict)
    _published: dict[str, list[tuple[datetime, int]]] = field(default_factory=dict)

    # -- SecOps: contracts and inventory --------------------------------------------------
    def publish(self) -> None:
        for item in self.org.contracts:
            contract = load_contract(self.data_dir / "contracts" / item.file)
            when = self.now - timedelta(days=item.published_days_ago)
            publish_contract(self.store, contract, now=when, signer=self.signers["secops"])
        if self.org.inventory is not None:
            inv = load_inventory(self.data_dir / self.org.inventory.file)
            when = self.now - timedelta(days=self.org.inventory.published_days_ago)
            publish(
                self.store, "inventory", inv.name, inv.raw, now=when, signer=self.signers["secops"]
            )

    def contract(self, name: str, started: datetime, pin: int | None) -> PulledContract:
        """The revision a run started at ``started`` pulls: ``pin``, else the latest then."""
        if pin is None:
            if name not in self._published:
                self._published[name] = [
                    (datetime.fromisoformat(r.created.replace("Z", "+00:00")), r.revision)
                    for r in revisions(self.store, "contract", name)
                ]
            pin = max(rev for created, rev in self._published[name] if created <= started)
        ref = f"{self.store.ref}#{name}@{pin}"
        if ref not in self._pulled:
            self._pulled[ref] = pull_contract(ref)
        return self._pulled[ref]

    def policies(self, att: Attestation) -> PolicyEvaluator | None:
        """What evaluates the policies of the run's contract at push, as ``attest push`` does
        (None when it names none)."""
        contract = att.contract
        if not contract.policies:
            return None
        if contract.digest not in self._evaluators:
            self._evaluators[contract.digest] = evaluator(contract, None)
        return self._evaluators[contract.digest]

    # -- CI: one run ----------------------------------------------------------------------
    def _init(
        self,
        wf: Workflow,
        build: int,
        started: datetime,
        *,
        runner: str | None = None,
        pin: int | None = None,
        self_hosted: bool = False,
    ) -> Attestation:
        runner = runner or wf.runner
        self.jobs += 1
        actor = self.rng.choice(ACTORS)
        env = runner_env(runner, wf, n=self.jobs, build=build, actor=actor, self_hosted=self_hosted)
        pulled = self.contract(wf.contract, started, pin)
        local_id = hashlib.sha256(f"{wf.project}/{wf.name}/{build}".encode()).hexdigest()[:32]
        att = Attestation.init(
            pulled.contract,
            workflow=wf.name,
            project=wf.project,
            team=wf.team,
            env=env,
            now=started,
            run_id=local_id if runner == "GENERIC" else None,
            contract_source=pulled.source,
        )
        state = self.work / "state.json"
        att.save(state)
        att = Attestation.load(state)
        if wf.records_start:
            att.start(self.signers["ci"], self.store, now=started)
            self.lifecycle += 1
        return att

    def components(self, wf: Workflow, build: int, started: datetime) -> tuple[Component, ...]:
        out = list(wf.components)
        if "old-log4j" in wf.plants and build < 4:
            out = [c.with_version("2.14.1") if c.name.startswith("log4j-") else c for c in out]
        if "new-dependency" in wf.plants and started >= self.now - timedelta(days=2):
            out = [c.with_version("2.2.3") if c.name == "urllib3" else c for c in out]
            out.append(Component("orjson", "3.10.7", "pkg:pypi/orjson@3.10.7"))
        if "rogue-signer" in wf.plants and build == wf.runs - 2:
            out.append(Component("debug-shim", "0.0.1", None, hashes=False))
        return tuple(out)

    def run(self, wf: Workflow, build: int, started: datetime) -> None:
        """One successful run of ``wf`` (its ``build``-th), with the plants that touch it."""
        plants, last = wf.plants, wf.runs
        runner = wf.runner
        if "local-build" in plants and build == 8:
            runner = "GENERIC"
        if "moved-to-gitlab" in plants and build < 4:
            runner = "GITHUB_ACTION"
        pin = 1 if "dropped-sbom" in plants and build >= last - 3 else wf.pin
        self_hosted = "self-hosted" in plants and build >= last - 4
        att = self._init(wf, build, started, runner=runner, pin=pin, self_hosted=self_hosted)
        self._materials(att, wf, build, started)
        signer = self.signers["ci"]
        if "release-key" in plants and build >= last - 3:
            signer = self.signers["release"]
        if "rogue-signer" in plants and build == last - 2:
            signer = self.signers["rogue"]
        state = self.work / "state.json"
        att.save(state)
        att = Attestation.load(state)
        finished = started + timedelta(minutes=self.rng.randint(4, 30))
        result = att.push(
            signer,
            self.store,
            now=finished,
            provenance=wf.provenance,
            policies=self.policies(att),
        )
        if "tampered" in plants and build == last - 4:
            _tamper(self.store, result.tag)
        self.pushed += 1

    def _materials(self, att: Attestation, wf: Workflow, build: int, started: datetime) -> None:
        plants = wf.plants
        digest = image_digest(self.org.name, wf.project, build)
        if "copied-image" in plants and build == 6:
            digest = image_digest(self.org.name, "base-images", 2)  # someone else's image
        if "copied-image" in plants and build == 8:
            digest = image_digest(self.org.name, wf.project, 7)  # a re-run of build 7
        describes = digest
        if "stale-sbom" in plants and build == 10:
            describes = image_digest(self.org.name, wf.project, 9)  # the previous build's SBOM
        run_dir = self.work / f"{wf.name}-{build:03d}"
        run_dir.mkdir(exist_ok=True)
        has_image = any(req.kind == "CONTAINER_IMAGE" for req in att.contract.materials)
        for req in att.contract.materials:
            if req.kind == "CONTAINER_IMAGE":
                att.add(req.name, f"{self.org.registry}/{wf.project}@{digest}")
            elif req.kind == "ARTIFACT":
                pkg = run_dir / f"{wf.project}-1.{build}.0.tar.gz"
                pkg.write_bytes(self.rng.randbytes(512))
                att.add(req.name, str(pkg))
            elif req.kind == "STRING":
                att.add(req.name, f"1.{build}.0")
            elif req.kind == "SBOM_CYCLONEDX_JSON":
                if "image-without-sbom" in plants and build % 4 == 3:
                    continue
                sbom = run_dir / "sbom.cdx.json"
                components = self.components(wf, build, started)
                write_sbom(
                    sbom, wf.project, f"1.{build}.0", components, describes if has_image else None
                )
                if build == 0 and not req.optional:
                    # The first push is made before the SBOM step: the contract refuses it.
                    try:
                        att.push(
                            self.signers["ci"], self.store, now=started, policies=self.policies(att)
                        )
                    except ContractUnsatisfied as exc:
                        self.refused += 1
                        self.say(f"refused ({wf.name}): {exc}")
                att.add(req.name, str(sbom))

    def unfinished(self, wf: Workflow, plant: str) -> None:
        """Runs that failed, were cancelled, or only recorded their start (see FAILURES)."""
        for i, (days_ago, trigger, reason) in enumerate(FAILURES[plant]):
            started = self.now - timedelta(days=days_ago)
            att = self._init(wf, 1000 + i, started)
            if trigger is not None:
                att.reset(
                    trigger,
                    reason,
                    self.signers["ci"],
                    self.store,
                    now=started + timedelta(minutes=6),
                )
                self.lifecycle += 1

    def impersonation(self, victim: Workflow) -> None:
        """The release key (trusted for its own project only) signs a run claiming to be
        ``victim``."""
        started = self.now - timedelta(days=2)
        att = self._init(victim, 2000, started)
        self._materials(att, victim, 2000, started)
        finished = started + timedelta(minutes=9)
        att.push(
            self.signers["release"],
            self.store,
            now=finished,
            provenance=False,
            policies=self.policies(att),
        )
        self.pushed += 1

    def workflow(self, wf: Workflow) -> None:
        span = (self.org.days - wf.until_days_ago) * 86400
        first = self.now - timedelta(days=self.org.days)
        for build in range(wf.runs):
            offset = int((build + self.rng.random()) * span / wf.runs)
            self.run(wf, build, first + timedelta(seconds=offset))
        for plant in sorted(wf.plants & set(FAILURES)):
            self.unfinished(wf, plant)
        self.say(f"pushed {wf.runs} runs of {wf.project}/{wf.name}")

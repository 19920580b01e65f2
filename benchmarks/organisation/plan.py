"""The plan of a generated organisation: teams, projects, workflows, their stacks and plants.

:func:`make_plan` derives everything from the number of runs, the number of days and a seed,
so the same arguments give the same organisation. Workflows are the demo's records
(:class:`attestlake.demo.sample_organisation.Workflow`), so that the runner environments,
image digests and SBOM components are made by the demo's own helpers.

Plants (each on a few workflows, and each on at least one workflow that can carry it; :data:`PLANTS` says what each does and which saved query must report it):
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

from attestlake.demo.sample_organisation import Component, Workflow

ORGANISATION = "cyberdyne"
REGISTRY = "registry.cyberdyne.example"
#: What each plant does to a workflow's runs, and the saved query that reports it.
PLANTS = {
    "image-without-sbom": "every 4th build ships its image without an SBOM (missing_sbom_digests)",
    "stale-sbom": "one build attaches the previous build's SBOM (missing_sbom_digests)",
    "dropped-sbom": "the last 3 builds pin contract revision 1 and drop the SBOM "
    "(non_compliant_workflows)",
    "new-dependency": "builds of the last 2 days add a package never listed before "
    "(new_dependencies)",
    "failures": "1 build in 20 fails: a failure record (run_events) instead of a success",
    "rogue-signer": "one build is signed with a key no trust policy names (verification_failures)",
}
#: One in this many GitHub workflows signs keyless (Sigstore bundles) instead of with the CI
#: key (the second one always, so that even a small organisation has one).
KEYLESS_EVERY = 33
CONTRACTS = ("container-build", "image-quick", "library-release")
ECOSYSTEMS = ("npm", "pypi", "maven", "golang", "deb/debian", "cargo", "nuget", "gem")
POOL_SIZE = 4000
MIN_RUNS = 12  # per workflow: the plants work on the last few builds


@dataclass(frozen=True)
class PlannedWorkflow:
    workflow: Workflow
    first_job: int  # CI job counter of its first build (run ids and URLs are unique)
    keyless: bool = False

    @property
    def name(self) -> str:
        return self.workflow.name

    @property
    def runs(self) -> int:
        return self.workflow.runs


@dataclass(frozen=True)
class Plan:
    runs: int
    days: int
    seed: int
    teams: tuple[str, ...]
    workflows: tuple[PlannedWorkflow, ...]

    def planted(self, plant: str) -> list[PlannedWorkflow]:
        return [p for p in self.workflows if plant in p.workflow.plants]


def _pool(rng: random.Random) -> list[Component]:
    """The packages the organisation uses; about 1 in 150 is listed sloppily (no purl or hashes)."""
    out = []
    for i in range(POOL_SIZE):
        eco = ECOSYSTEMS[i % len(ECOSYSTEMS)]
        name = f"{('core', 'util', 'http', 'json', 'log', 'auth', 'db', 'test')[i % 8]}-lib{i}"
        version = f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 20)}"
        if i % 150 == 149:
            out.append(Component(name, version, None, hashes=False))
        else:
            out.append(Component(name, version, f"pkg:{eco}/{name}@{version}"))
    return out


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """``total`` runs over ``parts`` workflows, a few busy and many quiet, each >= MIN_RUNS."""
    weights = [rng.lognormvariate(0.0, 0.8) for _ in range(parts)]
    spare = total - MIN_RUNS * parts
    shares = [MIN_RUNS + int(spare * w / sum(weights)) for w in weights]
    for i in range(total - sum(shares)):
        shares[i % parts] += 1
    return shares


def _plants(contract: str, rng: random.Random) -> frozenset[str]:
    """A workflow's plants: each with the chance that makes it 'a few percent'."""
    chances = {
        "image-without-sbom": 0.25 if contract == "image-quick" else 0.0,
        "stale-sbom": 0.03 if contract != "library-release" else 0.0,
        "dropped-sbom": 0.02 if contract == "container-build" else 0.0,
        "new-dependency": 0.05,
        "failures": 0.2,
        "rogue-signer": 0.01,
    }
    return frozenset(p for p, chance in chances.items() if rng.random() < chance)


def _ensure_each_plant(workflows: list[Workflow]) -> list[Workflow]:
    """Give each plant to at least one workflow that can carry it (when there are enough)."""
    out = list(workflows)
    fits = {
        "image-without-sbom": "image-quick",
        "stale-sbom": "container-build",
        "dropped-sbom": "container-build",
    }
    for n, plant in enumerate(PLANTS):
        if any(plant in wf.plants for wf in out):
            continue
        wanted = fits.get(plant)
        fitting = [i for i, wf in enumerate(out) if wanted is None or wf.contract == wanted]
        if fitting:
            chosen = min(fitting, key=lambda i: (len(out[i].plants), (i - n) % len(out)))
            out[chosen] = _with_plant(out[chosen], plant)
    return out


def _with_plant(wf: Workflow, plant: str) -> Workflow:
    return replace(wf, plants=wf.plants | {plant})


def _contract_for(i: int) -> str:
    """14 in 20 workflows build containers, 3 quick images, 3 release libraries (the first
    four hold one of each)."""
    if i % 20 in (1, 8, 15):
        return CONTRACTS[1]
    if i % 20 in (3, 11, 18):
        return CONTRACTS[2]
    return CONTRACTS[0]


def make_plan(runs: int, *, days: int = 90, seed: int = 1984) -> Plan:
    """The organisation for ``runs`` runs over ``days`` days (see the module doc)."""
    if runs < MIN_RUNS:
        raise ValueError(f"an organisation needs at least {MIN_RUNS} runs, not {runs}")
    if days < 3:
        raise ValueError(f"runs are spread over at least 3 days, not {days}")
    rng = random.Random(seed)
    count = max(1, min(runs // MIN_RUNS, max(6, runs // 150)))
    teams = tuple(f"team-{t:03d}" for t in range(max(2, math.ceil(count / 25))))
    pool = _pool(rng)
    workflows = []
    for i, n_runs in enumerate(_split(runs, count, rng)):
        contract = _contract_for(i)
        gitlab = i % 4 == 3 and contract == CONTRACTS[0]
        project = f"project-{i // 2:04d}"
        size = min(300, max(10, int(rng.lognormvariate(math.log(45), 0.6))))
        start = rng.randrange(len(pool))
        stack = tuple(pool[(start + k * 7) % len(pool)] for k in range(size))
        workflows.append(
            Workflow(
                name=f"{project}-{'release' if contract == 'library-release' else 'build'}-{i % 2}",
                project=project,
                team=teams[(i // 2) % len(teams)],
                contract=contract,
                runner="GITLAB_PIPELINE" if gitlab else "GITHUB_ACTION",
                runs=n_runs,
                components=stack,
                plants=_plants(contract, rng),
            )
        )
    workflows = _ensure_each_plant(workflows)
    planned, job, eligible = [], 0, 0
    for wf in workflows:
        keyless = False
        if wf.runner == "GITHUB_ACTION" and "rogue-signer" not in wf.plants:
            keyless = eligible % KEYLESS_EVERY == 1
            eligible += 1
        planned.append(PlannedWorkflow(wf, job, keyless))
        job += wf.runs
    return Plan(runs, days, seed, teams, tuple(planned))

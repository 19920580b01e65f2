"""The demo's sample organisation (``sample_data/organisation.yaml``) and what its runs carry.

:meth:`Organisation.load` reads the file into frozen records: teams, the contract revisions and
inventory to publish (and when), and the workflows with their runner, stack of components and
planted problems. The helpers below build what a CI job would hand the collector: the
runner's environment, image digests and CycloneDX SBOMs, all derived from names so that a
demo run is reproducible.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from attestlake.errors import InputError


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Component:
    """One SBOM component; ``purl`` None and ``hashes`` False make a sloppy one."""

    name: str
    version: str
    purl: str | None
    hashes: bool = True

    @classmethod
    def parse(cls, item: object, source: str) -> Component:
        if isinstance(item, str):
            item = {"purl": item}
        if not isinstance(item, dict):
            raise InputError(f"{source}: a component is a purl or a mapping")
        purl = str(item["purl"]) if item.get("purl") else None
        if purl is not None:
            path, _, version = purl.partition("@")
            name = path.rsplit("/", 1)[-1]
        else:
            name, version = str(item.get("name") or ""), str(item.get("version") or "")
        if not name or not version:
            raise InputError(f"{source}: component {item!r} needs a purl, or a name and version")
        return cls(name, version, purl, bool(item.get("hashes", True)))

    def with_version(self, version: str) -> Component:
        purl = f"{self.purl.partition('@')[0]}@{version}" if self.purl else None
        return replace(self, version=version, purl=purl)

    def cyclonedx(self) -> dict[str, Any]:
        ref = self.purl or f"{self.name}@{self.version}"
        out: dict[str, Any] = {"type": "library", "name": self.name, "version": self.version}
        out["bom-ref"] = ref
        if self.purl:
            out["purl"] = self.purl
        if self.hashes:
            out["hashes"] = [{"alg": "SHA-256", "content": _sha256(ref)}]
        return out


@dataclass(frozen=True)
class Published:
    """A sample file published to the store ``published_days_ago`` days before now."""

    file: str
    published_days_ago: float


@dataclass(frozen=True)
class Workflow:
    name: str
    project: str
    team: str
    contract: str
    runner: str
    runs: int
    pin: int | None = None
    until_days_ago: float = 0.0
    records_start: bool = False
    provenance: bool = True
    components: tuple[Component, ...] = ()
    plants: frozenset[str] = frozenset()
    #: Another workflow that this one's release key signs a run for (the impersonation plant).
    impersonates: str | None = None


@dataclass(frozen=True)
class Organisation:
    name: str
    days: int
    registry: str
    teams: Mapping[str, str]  # team -> owner
    contracts: tuple[Published, ...]
    inventory: Published | None
    workflows: tuple[Workflow, ...]

    @classmethod
    def load(cls, path: Path) -> Organisation:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            return cls._parse(doc, str(path))
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path}: not a sample organisation file: {exc}") from None

    @classmethod
    def _parse(cls, doc: dict[str, Any], source: str) -> Organisation:
        workflows = []
        for wf in doc["workflows"]:
            where = f"{source}: workflow {wf['name']}"
            workflows.append(
                Workflow(
                    name=wf["name"],
                    project=wf["project"],
                    team=wf["team"],
                    contract=wf["contract"],
                    runner=wf["runner"],
                    runs=int(wf["runs"]),
                    pin=int(wf["pin"]) if wf.get("pin") is not None else None,
                    until_days_ago=float(wf.get("until_days_ago", 0)),
                    records_start=bool(wf.get("records_start")),
                    provenance=bool(wf.get("provenance", True)),
                    components=tuple(Component.parse(c, where) for c in wf.get("components", [])),
                    plants=frozenset(wf.get("plants") or ()),
                    impersonates=wf.get("impersonates"),
                )
            )
        inventory = doc.get("inventory")
        return cls(
            name=doc["organisation"],
            days=int(doc.get("days", 10)),
            registry=doc.get("registry", "registry.example"),
            teams={t["name"]: t["owner"] for t in doc["teams"]},
            contracts=tuple(
                Published(c["file"], float(c["published_days_ago"])) for c in doc["contracts"]
            ),
            inventory=Published(inventory["file"], float(inventory["published_days_ago"]))
            if inventory
            else None,
            workflows=tuple(workflows),
        )


def image_digest(organisation: str, project: str, build: int) -> str:
    """The digest of a project's Nth image build (derived from the names: reproducible)."""
    return "sha256:" + _sha256(f"{organisation}/{project}/image/{build}")


def commit(project: str, build: int) -> str:
    return hashlib.sha1(f"{project}/commit/{build}".encode(), usedforsecurity=False).hexdigest()


def runner_env(
    runner: str,
    wf: Workflow,
    *,
    n: int,
    build: int,
    actor: str,
    self_hosted: bool = False,
) -> dict[str, str]:
    """What the CI job's environment holds (the collector records only its runner's variables
    and the contract's allow-list: the tokens here are never recorded)."""
    sha = commit(wf.project, build)
    if runner == "GENERIC":
        return {"HOME": f"/home/{actor}", "USER": actor, "DEPLOY_ENV": "laptop"}
    if runner == "GITLAB_PIPELINE":
        base = f"https://gitlab.cyberdyne.example/{wf.team}/{wf.project}"
        return {
            "GITLAB_CI": "true",
            "CI_SERVER_URL": "https://gitlab.cyberdyne.example",
            "CI_PROJECT_PATH": f"{wf.team}/{wf.project}",
            "CI_PROJECT_URL": base,
            "CI_JOB_ID": str(1000 + n),
            "CI_JOB_URL": f"{base}/-/jobs/{1000 + n}",
            "CI_PIPELINE_URL": f"{base}/-/pipelines/{500 + n}",
            "CI_COMMIT_SHA": sha,
            "CI_COMMIT_REF_NAME": "main",
            "GITLAB_USER_LOGIN": actor,
            "CI_PIPELINE_SOURCE": "push",
            "CI_JOB_TOKEN": "glcbt-demo-secret-never-recorded",
        }
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": f"cyberdyne/{wf.project}",
        "GITHUB_REPOSITORY_OWNER": "cyberdyne",
        "GITHUB_RUN_ID": str(9_000_000 + n),
        "GITHUB_SHA": sha,
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_ACTOR": actor,
        "GITHUB_EVENT_NAME": "push",
        "RUNNER_NAME": "cyberdyne-build-01" if self_hosted else "GitHub Actions 2",
        "RUNNER_OS": "Linux",
        "RUNNER_ENVIRONMENT": "self-hosted" if self_hosted else "github-hosted",
        "GITHUB_TOKEN": "ghs_demo-secret-never-recorded",
        "DEPLOY_ENV": "production",
    }


def write_sbom(
    path: Path,
    name: str,
    version: str,
    components: tuple[Component, ...],
    describes: str | None,
) -> None:
    """Write :func:`sbom_document` to ``path`` (indented, as SBOM tools write it)."""
    doc = sbom_document(name, version, components, describes)
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")


def sbom_document(
    name: str, version: str, components: tuple[Component, ...], describes: str | None
) -> dict[str, Any]:
    """A CycloneDX 1.5 SBOM whose main component is ``name`` (with the sha256 of the image it
    ``describes``, when there is one)."""
    main: dict[str, Any] = {"type": "application", "name": name, "version": version}
    main["bom-ref"] = f"{name}@{version}"
    if describes:
        main["type"] = "container"
        main["hashes"] = [{"alg": "SHA-256", "content": describes.split(":", 1)[1]}]
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {"component": main},
        "components": [c.cyclonedx() for c in components],
    }

"""The demo: the whole chain on a sample organisation, with no server and no network.

``run_demo`` reads ``sample_data/organisation.yaml`` and its contracts, makes every run with the
real collector (state file between steps, as in CI) into an OCI layout directory, plants the
problems listed there (a dropped SBOM, an image without SBOM, a tampered envelope, an
untrusted signer), crawls the store into a lake and runs the saved-query report.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from attestlake.collector import Attestation
from attestlake.contracts import Contract, load_contract
from attestlake.crawl import CrawlResult, crawl
from attestlake.dsse import ENVELOPE_MEDIA_TYPE, Envelope
from attestlake.errors import ContractUnsatisfied, InputError
from attestlake.keys import KeySigner, generate_key
from attestlake.lake import Lake
from attestlake.report import Report, render_markdown, run_report
from attestlake.store import Descriptor, Manifest
from attestlake.store.layout import LayoutStore
from attestlake.trust import load_policy

MARKER = ".attestlake-demo"
LogFn = Callable[[str], None]


def sample_data_dir() -> Path:
    repo = Path(__file__).resolve().parent.parent / "sample_data"
    return repo if repo.is_dir() else Path(__file__).parent / "_data" / "sample_data"


@dataclass(frozen=True)
class DemoResult:
    directory: Path
    store: Path
    lake: Path
    report_path: Path
    runs_pushed: int
    refused_pushes: int
    crawl: CrawlResult
    report: Report


def _prepare(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory} exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()):
        if not (directory / MARKER).is_file():
            raise InputError(
                f"{directory} is not empty and was not made by 'attestlake demo': "
                "choose another --dir"
            )
        for sub in ("store", "lake", "work", "keys"):
            shutil.rmtree(directory / sub, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text("made by attestlake demo; safe to delete\n")


def _env(runner: str, wf: Mapping[str, Any], n: int, rng: random.Random) -> dict[str, str]:
    sha = f"{rng.getrandbits(160):040x}"
    project = wf["project"]
    if runner == "GITLAB_PIPELINE":
        return {
            "GITLAB_CI": "true",
            "CI_PROJECT_URL": f"https://gitlab.cyberdyne.example/{wf['team']}/{project}",
            "CI_JOB_URL": f"https://gitlab.cyberdyne.example/{wf['team']}/{project}/-/jobs/{1000 + n}",
            "CI_PIPELINE_URL": f"https://gitlab.cyberdyne.example/{wf['team']}/{project}/-/pipelines/{500 + n}",
            "CI_COMMIT_SHA": sha,
            "CI_COMMIT_REF_NAME": "main",
            "GITLAB_USER_LOGIN": rng.choice(["sarah", "miles", "kyle"]),
            "CI_PIPELINE_SOURCE": "push",
            "CI_JOB_TOKEN": "glcbt-demo-secret-never-recorded",
        }
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": f"cyberdyne/{project}",
        "GITHUB_REPOSITORY_OWNER": "cyberdyne",
        "GITHUB_RUN_ID": str(9_000_000 + n),
        "GITHUB_SHA": sha,
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_ACTOR": rng.choice(["sarah", "miles", "kyle"]),
        "GITHUB_EVENT_NAME": "push",
        "RUNNER_NAME": "GitHub Actions 2",
        "RUNNER_OS": "Linux",
        "GITHUB_TOKEN": "ghs_demo-secret-never-recorded",
        "DEPLOY_ENV": "production",
    }


_COMPONENTS = [
    ("openssl", "3.0.13", "pkg:deb/debian/openssl@3.0.13"),
    ("zlib", "1.2.13", "pkg:deb/debian/zlib@1.2.13"),
    ("requests", "2.32.3", "pkg:pypi/requests@2.32.3"),
    ("urllib3", "2.2.2", "pkg:pypi/urllib3@2.2.2"),
    ("log4j-core", "2.17.1", "pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1"),
    ("lodash", "4.17.21", "pkg:npm/lodash@4.17.21"),
]


def _sbom(path: Path, name: str, image_digest: str | None, rng: random.Random) -> None:
    main: dict[str, Any] = {"type": "application", "name": name, "bom-ref": name}
    if image_digest:
        main["hashes"] = [{"alg": "SHA-256", "content": image_digest.split(":", 1)[1]}]
    components = [
        {"type": "library", "name": c, "version": v, "purl": p, "bom-ref": p}
        for c, v, p in rng.sample(_COMPONENTS, k=rng.randint(3, len(_COMPONENTS)))
    ]
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {"component": main},
        "components": components,
    }
    path.write_text(json.dumps(doc, indent=1))


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


def run_demo(
    directory: Path,
    *,
    now: datetime | None = None,
    sample_data: Path | None = None,
    log: LogFn | None = None,
) -> DemoResult:
    """Run the whole chain into ``directory`` (see the module doc)."""
    say = log or (lambda _line: None)
    data_dir = sample_data or sample_data_dir()
    org = yaml.safe_load((data_dir / "organisation.yaml").read_text(encoding="utf-8"))
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    rng = random.Random(1984)  # noqa: S311 - reproducible sample data, not security
    _prepare(directory)
    keys, work = directory / "keys", directory / "work"
    keys.mkdir()
    work.mkdir()
    private, public = generate_key()
    (keys / "ci.key").write_bytes(private)
    (keys / "ci.key").chmod(0o600)
    (keys / "ci.pub").write_bytes(public)
    rogue_private, _ = generate_key()
    (keys / "rogue.key").write_bytes(rogue_private)
    (directory / "trust.yaml").write_text(
        "# Trust policy of the demo: the CI signing key only.\nkeys:\n  - path: keys/ci.pub\n"
    )
    signer, rogue = KeySigner.from_file(keys / "ci.key"), KeySigner.from_file(keys / "rogue.key")
    store = LayoutStore(directory / "store")
    contracts: dict[str, Contract] = {}
    for path in sorted((data_dir / "contracts").glob("*.yaml")):
        contracts[path.name.removesuffix(".yaml")] = load_contract(path)

    days = int(org.get("days", 10))
    pushed = refused = 0
    for wf in org["workflows"]:
        n_runs, plant = int(wf["runs"]), wf.get("plant")
        registry = org.get("registry", "registry.example")
        for i in range(n_runs):
            started = (
                now
                - timedelta(days=days)
                + timedelta(seconds=int((i + rng.random()) * days * 86400 / n_runs))
            )
            contract = contracts[wf["contract"]]
            if plant == "dropped-sbom" and i >= n_runs - 3:
                contract = contracts[f"{wf['contract']}.v1"]
            env = _env(wf["runner"], wf, pushed + refused, rng)
            state = work / "state.json"
            att = Attestation.init(
                contract,
                workflow=wf["name"],
                project=wf["project"],
                team=wf["team"],
                env=env,
                now=started,
            )
            att.save(state)
            att = Attestation.load(state)
            run_dir = work / f"{wf['name']}-{i:03d}"
            run_dir.mkdir()
            image_digest = None
            for req in contract.materials:
                if req.kind == "CONTAINER_IMAGE":
                    image_digest = f"sha256:{rng.getrandbits(256):064x}"
                    att.add(req.name, f"{registry}/{wf['project']}@{image_digest}")
                elif req.kind == "ARTIFACT":
                    pkg = run_dir / f"{wf['project']}-1.{i}.0.tar.gz"
                    pkg.write_bytes(rng.randbytes(512))
                    att.add(req.name, str(pkg))
                elif req.kind == "STRING":
                    att.add(req.name, f"1.{i}.0")
                elif req.kind == "SBOM_CYCLONEDX_JSON":
                    if plant == "image-without-sbom" and i % 4 == 3:
                        continue
                    sbom = run_dir / "sbom.cdx.json"
                    _sbom(sbom, wf["project"], image_digest, rng)
                    if i == 0 and not req.optional:
                        # The first push is made before the SBOM step: the contract refuses it.
                        try:
                            att.push(signer, store, now=started + timedelta(minutes=3))
                        except ContractUnsatisfied as exc:
                            refused += 1
                            say(f"refused ({wf['name']}): {exc}")
                    att.add(req.name, str(sbom))
            att.save(state)
            att = Attestation.load(state)
            use = rogue if plant == "tampered-and-rogue" and i == n_runs - 2 else signer
            result = att.push(use, store, now=started + timedelta(minutes=rng.randint(4, 30)))
            if plant == "tampered-and-rogue" and i == n_runs - 4:
                _tamper(store, result.tag)
            pushed += 1
        say(f"pushed {n_runs} runs of {wf['project']}/{wf['name']}")

    lake_dir = directory / "lake"
    shutil.rmtree(lake_dir, ignore_errors=True)
    crawled = crawl(store, lake_dir, load_policy(directory / "trust.yaml"), now=now)
    say(
        f"crawled {crawled.discovered} attestations: {crawled.verified} verified, "
        f"{crawled.not_verified} not verified"
    )
    with Lake.open(lake_dir) as lake:
        report = run_report(lake, now=now)
    report_path = directory / "report.md"
    report_path.write_text(render_markdown(report), encoding="utf-8")
    return DemoResult(
        directory=directory,
        store=directory / "store",
        lake=lake_dir,
        report_path=report_path,
        runs_pushed=pushed,
        refused_pushes=refused,
        crawl=crawled,
        report=report,
    )

"""The demo: the whole chain on a sample organisation, with no server and no network.

``run_demo`` reads ``sample_data/organisation.yaml`` (:mod:`attestlake.demo.sample_organisation`),
publishes its contract revisions and its inventory into an OCI layout directory, makes every
run with the real collector (``init``, ``start``, ``add``, ``push``, ``reset``; a state file
between steps, as in CI; :mod:`attestlake.demo.ci_runs`), plants the problems the organisation
file lists, crawls the store into a lake and runs the saved-query report. A run checks the
contract revision that was the latest when it started, unless its workflow pins one. Everything
derives from the names and a seeded random generator, so that the same ``now`` gives the same
lake (but for the signing keys, which are new each time).

The plants (and the queries that must, or must not, report them) are documented beside each
workflow in the organisation file and in ``docs/queries.md``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from attestlake.audit.formats import render_report
from attestlake.audit.report import Report, render_markdown, run_report
from attestlake.crawl.crawl import CrawlResult, crawl
from attestlake.demo.ci_runs import LogFn, OrganisationRuns
from attestlake.demo.sample_organisation import Organisation
from attestlake.errors import InputError
from attestlake.lake.lake import Lake
from attestlake.signing.keys import KeySigner, generate_key
from attestlake.signing.signing import Signer
from attestlake.store.layout import LayoutStore
from attestlake.verify.verify import load_policy

MARKER = ".attestlake-demo"
TRUST_POLICY = """\
# Trust policy of the demo: the CI signing key for every project, the CLI's release key for
# skynet-cli only, and SecOps's key for the contracts and inventory published to the store.
declared_state:
  stores: [oci:store]
  keys: [keys/secops.pub]
keys:
  - path: keys/ci.pub
  - path: keys/release.pub
    projects: [skynet-cli]
"""


def sample_data_dir() -> Path:
    repo = Path(__file__).resolve().parent.parent.parent / "sample_data"
    return repo if repo.is_dir() else Path(__file__).parent.parent / "_data" / "sample_data"


@dataclass(frozen=True)
class DemoResult:
    directory: Path
    store: Path
    lake: Path
    report_path: Path
    runs_pushed: int  # successful runs pushed (the tampered and the rogue one included)
    refused_pushes: int  # pushes the contract refused (nothing was written)
    crawl: CrawlResult
    report: Report
    lifecycle_records: int = 0  # start, failure and cancellation records


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


def new_key(keys: Path, name: str) -> KeySigner:
    """A new signing key pair, written as ``keys/NAME.key`` (private, mode 0600) and
    ``keys/NAME.pub``."""
    private, public = generate_key()
    (keys / f"{name}.key").write_bytes(private)
    (keys / f"{name}.key").chmod(0o600)
    (keys / f"{name}.pub").write_bytes(public)
    return KeySigner.from_file(keys / f"{name}.key")


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
    org = Organisation.load(data_dir / "organisation.yaml")
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    _prepare(directory)
    keys, work = directory / "keys", directory / "work"
    keys.mkdir()
    work.mkdir()
    signers: dict[str, Signer] = {
        name: new_key(keys, name) for name in ("ci", "release", "rogue", "secops")
    }
    (keys / "rogue.pub").unlink()  # nobody publishes the rogue key
    (directory / "trust.yaml").write_text(TRUST_POLICY)
    demo = OrganisationRuns(
        org, data_dir, LayoutStore(directory / "store"), work, now, signers, say
    )
    demo.publish()
    by_name = {wf.name: wf for wf in org.workflows}
    for wf in org.workflows:
        demo.workflow(wf)
    for wf in org.workflows:
        if wf.impersonates:
            demo.impersonation(by_name[wf.impersonates])

    lake_dir = directory / "lake"
    shutil.rmtree(lake_dir, ignore_errors=True)
    crawled = crawl(demo.store, lake_dir, load_policy(directory / "trust.yaml"), now=now)
    say(
        f"crawled {crawled.discovered} attestations: {crawled.verified} verified, "
        f"{crawled.not_verified} not verified"
    )
    with Lake.open(lake_dir) as lake:
        report = run_report(lake, now=now)
    report_path = directory / "report.md"
    report_path.write_text(render_markdown(report), encoding="utf-8")
    (directory / "report.html").write_text(render_report(report, "html"), encoding="utf-8")
    return DemoResult(
        directory=directory,
        store=directory / "store",
        lake=lake_dir,
        report_path=report_path,
        runs_pushed=demo.pushed,
        refused_pushes=demo.refused,
        crawl=crawled,
        report=report,
        lifecycle_records=demo.lifecycle,
    )

"""Shared fixtures: the real-world corpus under ``../shared/corpus``, and third-party test data.

The corpus is read in place (never copied into the project). Its location is
``$ATTESTLAKE_CORPUS`` or, by default, ``shared/corpus`` next to the project directory.
Third-party test data is fetched by ``scripts/fetch-test-assets`` into ``.test-assets/`` (or
``$ATTESTLAKE_TEST_ASSETS``), never committed.
"""

from __future__ import annotations

import fcntl
import os
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest

from attestlake.demo.demo import DemoResult, run_demo
from tests.demo_lake import NOW
from tests.security.harness import Tally
from tests.security.lake_fixtures import listing

# A bug in a verifier or normaliser raises in the suite (and in the commands it starts)
# instead of being recorded as an ``internal_error`` outcome; tests of that outcome unset it.
os.environ.setdefault("ATTESTLAKE_STRICT", "1")

_attacks = Tally()


#: The modules that take longest (seconds of test time, measured with ``--durations=0``): run
#: first, so that with ``--dist loadscope`` (a module's tests on one worker, in the order
#: collected) no worker starts a long module when the others are nearly done.
SLOW_FIRST = (
    "tests/integration/test_s3_lake.py",
    "tests/integration/test_spark.py",
    "tests/security/test_loss.py",
    "tests/integration/test_crawl_resume.py",
    "tests/integration/test_reverify.py",
    "tests/security/test_registry_faults.py",
    "tests/security/test_hostile_more.py",
    "tests/notebooks/test_notebooks.py",
    "tests/security/test_lake_damage.py",
    "tests/integration/test_demo.py",
    "tests/integration/test_gate_from_registry.py",
    "tests/security/test_sql_read_only.py",
    "tests/integration/test_gate_from.py",
    "tests/integration/test_declared_state.py",
    "tests/security/test_forgery.py",
    "tests/security/test_forgery_more.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _attacks.add(report)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    line = _attacks.line()
    if line is not None:
        terminalreporter.write_sep("=", "attack harness")
        terminalreporter.write_line(line)


DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
#: Where ``scripts/fetch-test-assets`` puts third-party test data (``$ATTESTLAKE_TEST_ASSETS``).
DEFAULT_TEST_ASSETS = Path(__file__).resolve().parents[1] / ".test-assets"


def _data_directory(variable: str, default: Path, what: str, how: str) -> Path:
    """The directory ``$variable`` names, or ``default``; skip (fail when ``CI=true``) if it is
    not there, saying ``how`` to get it."""
    configured = os.environ.get(variable)
    path = Path(configured) if configured else default
    if not path.is_dir():
        source = variable if configured else "the default location"
        reason = f"{what} not found at {path} (from {source}); {how}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The corpus directory; skip (or fail when ``CI=true``) if it is not there."""
    how = "set ATTESTLAKE_CORPUS to the shared corpus directory"
    return _data_directory("ATTESTLAKE_CORPUS", DEFAULT_CORPUS, "corpus", how)


@pytest.fixture(scope="session")
def pypi_assets() -> Path:
    """pypi-attestations' test assets (real PEP 740 attestations and the distributions they
    attest), fetched by ``scripts/fetch-test-assets``; skip (or fail when ``CI=true``) without."""
    base = os.environ.get("ATTESTLAKE_TEST_ASSETS")
    default = (Path(base) if base else DEFAULT_TEST_ASSETS) / "pypi-attestations"
    how = "run scripts/fetch-test-assets (scripts/test does)"
    return _data_directory("ATTESTLAKE_PYPI_ASSETS", default, "pypi-attestations assets", how)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoResult]:
    """The sample organisation, built once (``run_demo`` at :data:`tests.demo_lake.NOW`) and
    shared read-only: a test that writes takes :func:`tests.demo_lake.copy_demo`.

    Under pytest-xdist the workers share one build: the first to get the lock file builds it
    in the run's common temporary directory and leaves the DemoResult beside it (pickled);
    the others load that."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    directory, saved = shared / "shared-demo" / "demo", shared / "shared-demo.pickle"
    with (shared / "shared-demo.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if saved.is_file():
            result: DemoResult = pickle.loads(saved.read_bytes())
        else:
            result = run_demo(directory, now=NOW)
            saved.write_bytes(pickle.dumps(result))
    before = listing(result.directory)
    yield result
    assert listing(result.directory) == before, (
        f"a test wrote into the shared demo directory {result.directory}: use copy_demo"
    )

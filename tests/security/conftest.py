"""The standing attack harness: every test here is an attack on attestlake.

Each test carries ``@pytest.mark.attack(KIND)``, where KIND says what a failure of that test
would mean:

- ``forgery``: a forged or duplicated row reached the trusted tables;
- ``loss``: a record of the lake was lost, deleted or never written;
- ``secret``: a secret was recorded, signed, pushed or printed;
- ``crash``: one hostile document, fault or damaged file stopped a command with a traceback
  (or a wrong exit code) instead of a clear error or a ``not_verified`` row.

A test that takes longer than ``ATTESTLAKE_ATTACK_TIMEOUT`` seconds (default 120) is stopped
and counted as a **hang**, whatever its kind. The session ends with a printed summary: cases
tried, held, forged accepted, records lost, secrets leaked, crashes, hangs. The last five must
be 0: any failure here fails the suite.

``ATTESTLAKE_FUZZ_EXAMPLES`` raises the number of hypothesis examples of the fuzz tests
(bounded in CI).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from types import FrameType

import pytest

from tests.security.harness import KINDS, VERDICT

TIMEOUT = int(os.environ.get("ATTESTLAKE_ATTACK_TIMEOUT", "120"))
FUZZ_EXAMPLES = int(os.environ.get("ATTESTLAKE_FUZZ_EXAMPLES", "60"))


class Hang(Exception):
    """Raised in a test that ran past the harness's time limit."""


def _attack_kind(item: pytest.Item) -> str:
    marker = item.get_closest_marker("attack")
    if marker is None or not marker.args or marker.args[0] not in KINDS:
        raise pytest.UsageError(
            f"{item.nodeid}: tests in tests/security need @pytest.mark.attack(KIND), "
            f"KIND one of {sorted(KINDS)}"
        )
    return str(marker.args[0])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            _attack_kind(item)


@pytest.fixture(autouse=True)
def _time_limit() -> Iterator[None]:
    """Stop a test that hangs (SIGALRM interrupts blocking reads and opens too)."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"stopped after {TIMEOUT} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(TIMEOUT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Tag each attack's report with its verdict (tallied by tests/conftest.py, also across
    pytest-xdist workers: reports travel to the controlling process with their properties)."""
    report = yield
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if report.skipped:
            verdict = "skipped"
        elif report.passed:
            verdict = "held"
        elif call.excinfo is not None and call.excinfo.errisinstance(Hang):
            verdict = "hangs"
        else:
            verdict = KINDS[_attack_kind(item)]
        report.user_properties.append((VERDICT, verdict))
    return report


# The real registry fixtures (docker-registry on 127.0.0.1) of the integration tests.
from tests.integration.conftest import registry, registry_basic_auth  # noqa: E402, F401

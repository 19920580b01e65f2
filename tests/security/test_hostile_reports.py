"""Evidence reports built to exhaust the crawler: a JUnit XML report of millions of elements
that are no test case, of one case with millions of children, or nested millions deep. Its
rows are read in memory bounded by a small multiple of the report's size, never by the
number of elements it holds."""

from __future__ import annotations

import tracemalloc

import pytest

from attestlake.crawl.normalize.junit import MAX_DEPTH, cases
from attestlake.errors import ContentError

N = 1_000_000


def _peak(data: bytes) -> tuple[list[dict[str, object]] | str, int]:
    """The rows of ``data`` (or the ContentError's message) and the peak memory reading it."""
    tracemalloc.start()
    try:
        try:
            rows: list[dict[str, object]] | str = list(cases(data))
        except ContentError as exc:
            rows = str(exc)
        return rows, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.attack("crash")
@pytest.mark.parametrize(
    "body",
    [
        b"<a/>" * N,  # elements beside the cases: held to the end of the report
        # 6.5 MB: holding its elements would take some 200 MB, reading it takes under 1 MB
        b"<testcase name='c'>"
        + b"<a/>" * (N // 4)
        + b"<failure message='m'/>" * (N // 4)
        + b"</testcase>",
    ],
    ids=["beside-cases", "children-of-one-case"],
)
def test_millions_of_elements_do_not_stay_in_memory(body: bytes) -> None:
    data = b"<testsuites><testsuite name='s'>" + body + b"</testsuite></testsuites>"
    rows, peak = _peak(data)
    assert peak < 2 * len(data), f"{peak / 1e6:.0f} MB to read {len(data) / 1e6:.0f} MB"
    if b"testcase" in body:
        assert isinstance(rows, list)
        assert [(r["suite"], r["case_name"], r["status"], r["message"]) for r in rows] == [
            ("s", "c", "failed", "m")
        ]


@pytest.mark.attack("crash")
def test_elements_nested_millions_deep_are_refused_early() -> None:
    depth = 4 * MAX_DEPTH
    data = b"<testsuites>" + b"<a>" * depth + b"</a>" * depth + b"</testsuites>"
    rows, peak = _peak(data)
    assert rows == f"elements nest more than {MAX_DEPTH} deep"
    assert peak < 100e6, f"{peak / 1e6:.0f} MB"  # each open element held: 300 MB past the bound

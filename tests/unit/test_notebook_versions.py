"""Version ranges of the component search."""

from __future__ import annotations

import pytest

from attestlake.errors import InputError
from attestlake.notebook.versions import parse_range, version_key


def test_versions_order_numerically_with_pre_releases_first() -> None:
    ordered = ["1.9", "2.0.0-rc1", "2.0.0", "2.0.1", "2.10", "2.17.1", "2.17.1.1", "10.0"]
    assert sorted(reversed(ordered), key=version_key) == ordered


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        (">=2.0,<2.18", ["2.0", "2.17.1", "2.17.99"], ["1.9.9", "2.18", "2.18.0", "3"]),
        ("<2.17.2", ["2.17.1", "2.0", "2.17.2-rc1"], ["2.17.2", "2.18.0"]),
        ("==1.2.3", ["1.2.3"], ["1.2.4", "1.2"]),
        ("1.2.3", ["1.2.3"], ["1.2.30"]),
        ("!=1.0, >0.5", ["0.9", "1.1"], ["1.0", "0.5"]),
    ],
)
def test_ranges(text: str, inside: list[str], outside: list[str]) -> None:
    wanted = parse_range(text)
    assert all(v in wanted for v in inside), [v for v in inside if v not in wanted]
    assert not any(v in wanted for v in outside), [v for v in outside if v in wanted]


def test_an_empty_range_matches_everything_even_no_version() -> None:
    for text in (None, "", "  "):
        assert "0.0.1" in parse_range(text) and None in parse_range(text)
    assert None not in parse_range("<2")


@pytest.mark.parametrize("bad", ["=>2.0", "<", "2.0 or 3.0", ">=2.0;<3"])
def test_a_bad_range_says_what_is_expected(bad: str) -> None:
    with pytest.raises(InputError, match="expected clauses like"):
        parse_range(bad)

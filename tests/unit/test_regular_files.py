"""Reading files under a bound: exactly the file, or one byte over the bound to say it is too
big, also when the file grows while it is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from attestlake._internal.regular_files import open_regular, read_at_most


@pytest.mark.parametrize(
    ("limit", "read"), [(0, 1), (5, 6), (9, 10), (10, 10), (11, 10), (1 << 25, 10)]
)
def test_reads_the_file_or_one_byte_past_the_bound(tmp_path: Path, limit: int, read: int) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    with open_regular(path) as fh:
        data = read_at_most(fh, limit)
    assert data == b"0123456789"[:read]


def test_a_file_that_grows_while_read_is_still_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    with open_regular(path) as fh:
        with path.open("ab") as more:  # grows after the size was taken
            monkeypatch.setattr("attestlake._internal.regular_files.size_of", lambda _fh: 10)
            more.write(b"y" * 50)
        data = read_at_most(fh, 30)
    assert data == b"x" * 10 + b"y" * 21  # one byte over the bound: refused as too big

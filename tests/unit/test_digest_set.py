"""The crawl's compact set of digests answers as a set of the digest strings would."""

from __future__ import annotations

import hashlib

from attestlake.crawl.digest_set import DigestSet


def _digest(n: int) -> str:
    return "sha256:" + hashlib.sha256(str(n).encode()).hexdigest()


def test_it_holds_what_was_added_and_nothing_else() -> None:
    added = [_digest(n) for n in range(0, 20_000, 2)]
    digests = DigestSet(added)
    digests.add(added[0])  # again: still one
    assert len(digests) == len(added)
    assert all(d in digests for d in added)
    assert not any(_digest(n) in digests for n in range(1, 20_000, 2))


def test_a_remainder_made_of_two_neighbours_is_not_found() -> None:
    """Two digests of one bucket sit side by side: bytes across both are no digest of it."""
    first, second = "ab12" + "11" * 30, "ab12" + "22" * 30
    digests = DigestSet(["sha256:" + first, "sha256:" + second])
    straddling = "ab12" + "11" * 15 + "22" * 15
    assert "sha256:" + straddling not in digests
    digests.add("sha256:" + straddling)
    assert "sha256:" + straddling in digests and len(digests) == 3


def test_other_keys_are_kept_as_they_are() -> None:
    lower = _digest(1)
    upper = "sha256:" + lower[7:].upper()
    digests = DigestSet([lower, "file.json#0", "sha256:short"])
    assert upper not in digests  # another string: another key, as in a set of strings
    assert "file.json#0" in digests and "sha256:short" in digests and "file.json" not in digests
    digests.add(upper)
    assert upper in digests and len(digests) == 4

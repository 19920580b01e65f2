"""The crawl's compact set of digests answers as a set of the digest strings would."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from attestlake.crawl.digest_set import DigestSet, _holds


def _digest(n: int) -> str:
    return "sha256:" + hashlib.sha256(str(n).encode()).hexdigest()


def test_it_holds_what_was_added_and_nothing_else() -> None:
    added = [_digest(n) for n in range(0, 20_000, 2)]
    digests = DigestSet(added)
    digests.add(added[0])  # again: still one
    assert len(digests) == len(added)
    assert all(d in digests for d in added)
    assert not any(_digest(n) in digests for n in range(1, 20_000, 2))


def test_bytes_across_two_neighbours_are_not_a_digest_of_the_bucket() -> None:
    """Two digests of one bucket sit side by side: bytes across both are no digest of it."""
    first, second = bytes.fromhex("ab12" + "11" * 30), bytes.fromhex("ab12" + "22" * 30)
    bucket = bytearray(first + second)
    assert _holds(bucket, first) and _holds(bucket, second)
    assert not _holds(bucket, first[16:] + second[:16])
    assert not _holds(bucket + first[:31], first[1:] + first[:1])


def test_a_set_that_grows_past_its_buckets_keeps_every_digest() -> None:
    """The buckets are doubled as the set grows (64 digests a bucket on average): what was
    added before each doubling is still there, and nothing else."""
    digests = DigestSet()
    for n in range(0, 60_000, 3):
        digests.add(_digest(n))
        if n % 3_000 == 0:
            assert _digest(n) in digests and _digest(n + 1) not in digests
    assert len(digests) == 20_000
    assert all(_digest(n) in digests for n in range(0, 60_000, 3))
    assert not any(_digest(n) in digests for n in range(1, 60_000, 3))


GIVEN_BACK = """
import hashlib
from attestlake._internal.memory_release import give_back
from attestlake.crawl.digest_set import DigestSet

def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

kept, digests = [], DigestSet()
before = resident()
for n in range(400_000):
    digests.add("sha256:" + hashlib.sha256(str(n).encode()).hexdigest())
    if n % 4 == 0:
        kept.append({"n": n})  # objects allocated meanwhile, and kept
grown = resident() - before
del digests
give_back()
print(grown, resident() - before)
"""


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux's /proc")
def test_a_dropped_set_goes_back_to_the_system() -> None:
    """A crawl drops its sets before it computes the maintained tables: their memory must go
    back, not stay in the interpreter's arenas among the objects allocated meanwhile."""
    out = subprocess.run(
        [sys.executable, "-c", GIVEN_BACK], capture_output=True, text=True, check=True
    ).stdout
    grown, left = map(int, out.split())
    kept = 100_000 * 300  # the dictionaries kept, with room to spare
    assert grown > 12_000_000  # 400,000 digests of 32 bytes, and the dictionaries
    assert left < kept + 0.2 * (grown - kept), (grown, left)


def test_other_keys_are_kept_as_they_are() -> None:
    lower = _digest(1)
    upper = "sha256:" + lower[7:].upper()
    digests = DigestSet([lower, "file.json#0", "sha256:short"])
    assert upper not in digests  # another string: another key, as in a set of strings
    assert "file.json#0" in digests and "sha256:short" in digests and "file.json" not in digests
    digests.add(upper)
    assert upper in digests and len(digests) == 4

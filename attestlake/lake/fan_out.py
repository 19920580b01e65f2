"""One operation on many tables of a lake: at once in object storage, in turn on a disk.

In object storage each table's operation (listing its objects, reading its log, a commit) is
a series of requests that mostly wait on the network, so the tables go at once, a few
threads at a time. On a local disk the same work is mostly Python and goes in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from attestlake.lake.object_store import LakeRoot, ObjectLake

_T = TypeVar("_T")
_R = TypeVar("_R")

#: Tables handled at once in object storage.
THREADS = 8


def each_table(root: LakeRoot, call: Callable[[_T], _R], items: Iterable[_T]) -> list[_R]:
    """``call`` of each item, in order. When one raises, the first in order is raised once
    every call has ended (the others may have run)."""
    listed = list(items)
    if not isinstance(root, ObjectLake) or len(listed) < 2:
        return [call(item) for item in listed]
    with ThreadPoolExecutor(min(THREADS, len(listed)), thread_name_prefix="lake") as pool:
        futures = [pool.submit(call, item) for item in listed]
    return [future.result() for future in futures]

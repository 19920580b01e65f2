"""Crawl, and SIGKILL the crawling process right after one chosen write (``BATCH:TABLE``).

Run as a script by the resume tests::

    python tests/crawl_killer.py --kill-at 2:runs -- --from STORE --lake LAKE --trust TRUST ...

``TABLE`` is a table name, ``crawls`` (the batch's journal entry) or ``first`` (the first table
the batch wrote). Without ``--kill-at`` it is an ordinary crawl. The arguments after ``--`` are
``attestlake crawl``'s own (``--from``, ``--lake``, ``--trust``, ``--batch-size``, ``--jobs``).
``--merge-after N`` merges a table's small files once it holds N of them (the crawl's own
threshold is far above a test store's batches).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path


def killer(spec: str) -> Callable[[int, str, int], None]:
    """The ``on_written`` callback that SIGKILLs this process at ``spec`` (``BATCH:TABLE``)."""
    batch_text, _, table = spec.partition(":")
    batch, firsts = int(batch_text), set[int]()

    def on_written(done: int, name: str, rows: int) -> None:
        first = done not in firsts
        firsts.add(done)
        if done == batch and (name == table or (table == "first" and first)):
            os.kill(os.getpid(), signal.SIGKILL)

    return on_written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kill-at")
    parser.add_argument("--from", dest="source", required=True)
    parser.add_argument("--lake", type=Path, required=True)
    parser.add_argument("--trust", type=Path, required=True)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--merge-after", type=int)
    args = parser.parse_args([a for a in argv if a != "--"])

    if args.merge_after is not None:
        from attestlake.lake import write

        write.MERGE_AFTER = args.merge_after

    from attestlake.crawl.crawl import crawl
    from attestlake.crawl.sources import open_source
    from attestlake.verify.verify import load_policy

    source = open_source(args.source)
    try:
        crawl(
            source,
            args.lake,
            load_policy(args.trust),
            batch_size=args.batch_size,
            jobs=args.jobs,
            on_written=killer(args.kill_at) if args.kill_at else None,
        )
    finally:
        source.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

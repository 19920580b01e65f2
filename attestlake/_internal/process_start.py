"""Refusing work while a worker process starts.

A crawl's workers start from a server process (``forkserver``), and Python runs the script
that started the crawl again in each of them, as ``__mp_main__``, before the worker does
anything. A script that calls the crawl without ``if __name__ == "__main__":`` would then
crawl again in every worker, and wait there for the lake's writer lock that its parent holds:
the crawl would never end. Writers check first and refuse with the reason instead; the worker
ends, and the crawl goes on without workers.
"""

from __future__ import annotations

import multiprocessing

from attestlake.errors import InputError

__all__ = ["refuse_while_starting"]


def refuse_while_starting(what: str) -> None:
    """InputError when this process is a worker still starting (running its parent's script
    again): ``what`` says what was called."""
    # multiprocessing marks a process this way while it prepares (spawn and forkserver); its
    # own check of the same mark raises a RuntimeError that names the fork start method only.
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise InputError(
            f"{what} was called while a worker process was starting: Python runs the script "
            "that started it again in each worker, so call it under "
            "'if __name__ == \"__main__\":' (the crawl goes on without workers)"
        )

"""The crawl's progress on a terminal: one line per phase, each with its count, its total once
the listing has ended, and its rate in units per second."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

if TYPE_CHECKING:
    from rich.progress import Task

    from attestlake.crawl.progress import CrawlProgress, ProgressFn


class _Rate(ProgressColumn):
    """Units per second from the phase's start to now, or to its end once it ended (rich's
    own estimate starts again whenever the total changes, as it does when the listing ends)."""

    def render(self, task: Task) -> Text:
        elapsed = task.finished_time or task.elapsed
        rate = task.completed / elapsed if elapsed and task.completed else None
        return Text(f"{rate:,.0f} units/s" if rate else "", style="progress.data.speed")


@contextlib.contextmanager
def crawl_progress() -> Iterator[ProgressFn]:
    """A :data:`~attestlake.crawl.progress.ProgressFn` that draws on stderr while the block
    runs; the lines go when it ends (the summary follows)."""
    columns = (
        TextColumn("{task.description:<9}"),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(),
        TimeElapsedColumn(),
    )
    tasks: dict[str, TaskID] = {}
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:

        def show(event: CrawlProgress) -> None:
            task = tasks.get(event.phase)
            if task is None:
                task = tasks[event.phase] = bar.add_task(event.phase, total=None)
            bar.update(task, completed=event.done, total=event.total)

        yield show

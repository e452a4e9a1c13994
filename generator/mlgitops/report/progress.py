"""A progress bar for long runs on a terminal; nothing at all in CI or when output is piped."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Any


class _Bar:
    def __init__(self, progress: Any = None) -> None:
        self._progress = progress
        self._task = None

    def total(self, count: int) -> None:
        if self._progress is not None and count:
            self._task = self._progress.add_task("building overlays", total=count)

    def advance(self, count: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, count)


def wanted() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextmanager
def bar(enabled: bool = True) -> Any:
    if not (enabled and wanted()):
        yield _Bar()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True) as progress:
        yield _Bar(progress)

"""Ctrl-C: the first one interrupts the run (KeyboardInterrupt, exit 130), later ones are ignored so
the cleanup it starts (killing kustomize, removing temp files) cannot itself be cut short.

Standard library only: the console script installs this before importing anything heavy.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

EXIT_CODE = 130  # 128 + SIGINT, as shells report it


def _first(signum: Any, frame: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the cleanup
    raise KeyboardInterrupt


@contextmanager
def handled() -> Any:
    """Within: Ctrl-C raises KeyboardInterrupt once, then is ignored. Outside: as before."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _first)
    try:
        yield
    finally:
        if previous is not _first:  # nested: the outer one restores (or keeps ignoring a second Ctrl-C)
            signal.signal(signal.SIGINT, previous)


@contextmanager
def deferred() -> Iterator[None]:
    """Within: SIGINT and SIGTERM wait until the block ends (a restore that must not be cut short)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _terminated(signum: Any, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt("terminated")


@contextmanager
def terminable() -> Iterator[None]:
    """Within: SIGTERM (a CI job cancelled, `kill`) interrupts like Ctrl-C, so the same cleanup runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

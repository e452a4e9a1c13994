"""Ctrl-C, SIGTERM and SIGHUP: the first one interrupts the run (KeyboardInterrupt, exit 128 + its number:
130, 143, 129), later ones are ignored so the cleanup it starts (killing kustomize, removing temp files)
cannot itself be cut short. SIGTERM is how CI cancels a job (GitHub Actions, `timeout`, `kill`), SIGHUP a
closed terminal: without this, Python dies at once on them and leaves kustomize and its scratch folders.

Standard library only: the console script installs this before importing anything heavy.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

EXIT_CODE = 130  # 128 + SIGINT, as shells report it
SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))

_received: list[int] = []  # the signal that interrupted this run, once one did
_active: list[bool] = []  # [True] while handled() is in force


def exit_code() -> int:
    """128 + the signal that interrupted the run, as shells report it (130 for Ctrl-C)."""
    return 128 + _received[0] if _received else EXIT_CODE


def _first(signum: Any, frame: Any) -> None:
    for each in SIGNALS:  # a second signal must not interrupt the cleanup
        signal.signal(each, signal.SIG_IGN)
    _received[:] = [signum]
    raise KeyboardInterrupt


def raise_if_received() -> None:
    """At a safe point of a long loop (main thread only): the interrupt again if one arrived and the run
    goes on. A signal's KeyboardInterrupt that lands while Python runs a finalizer or a callback of native
    code is reported and dropped there, and the signals after it are ignored: without this, such a run
    would go on to the end as if never interrupted."""
    if _received and _active and threading.current_thread() is threading.main_thread():
        raise KeyboardInterrupt


@contextmanager
def handled() -> Any:
    """Within: Ctrl-C, SIGTERM or SIGHUP raises KeyboardInterrupt once, then all three are ignored.
    Outside: as before."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is _first:
        yield  # nested: the outer one restores (or keeps ignoring a second signal)
        return
    _received.clear()
    previous = {each: signal.signal(each, _first) for each in SIGNALS}
    _active[:] = [True]
    try:
        yield
    finally:
        _active.clear()
        for each, handler in previous.items():
            signal.signal(each, handler)


def reset_in_child() -> None:
    """In a forked worker: SIGINT ignored (the parent handles it), SIGTERM and SIGHUP end it at once,
    not the parent's handler."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for each in SIGNALS[1:]:
        signal.signal(each, signal.SIG_DFL)


@contextmanager
def deferred() -> Iterator[None]:
    """Within: SIGINT, SIGTERM and SIGHUP wait until the block ends (a restore that must not be cut short)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, set(SIGNALS))
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)

"""An interrupt that Python drops (it landed in a finalizer) still ends the run as interrupted."""

from __future__ import annotations

import gc
import os
import signal

import pytest
from mlgitops import cli
from mlgitops.report import interrupts

# The point of these tests: Python reports the dropped interrupt ("Exception ignored in ... __del__").
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


class _SignalledWhenCollected:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)  # the handler's KeyboardInterrupt is raised in here, and dropped


def test_an_interrupt_dropped_in_a_finalizer_is_raised_again_at_the_next_safe_point():
    with interrupts.handled():
        _SignalledWhenCollected()  # collected at once: "Exception ignored in ... __del__"
        gc.collect()
        with pytest.raises(KeyboardInterrupt):
            interrupts.raise_if_received()


def test_without_an_interrupt_the_safe_point_does_nothing():
    with interrupts.handled():
        interrupts.raise_if_received()


def test_a_command_that_ran_to_the_end_after_a_dropped_interrupt_exits_as_interrupted(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_main", lambda argv: _SignalledWhenCollected() and 0)
    assert cli.main(["--version"]) == 130
    assert "interrupted" in capsys.readouterr().err

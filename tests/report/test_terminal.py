"""Colour on a terminal only, never with NO_COLOR or when piped; --quiet prints only errors."""

from __future__ import annotations

import io

import click
from conftest import run_cli
from mlgitops.report.findings import Finding, Position, Severity
from mlgitops.report.formats import format_grouped, format_text
from mlgitops.report.terminal import wants_colour

ERROR = Finding("schema", "'replicas' must be an integer", "models/a.yaml", Position(3, 5), "write 2")
WARNING = Finding("not-a-spec", "this file in models/ is not read as a spec", "models/x.txt",
                  severity=Severity.WARNING)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert wants_colour(Terminal())
    assert not wants_colour(io.StringIO())  # piped
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_colour(Terminal())


def test_coloured_text_is_the_plain_text_once_styles_are_removed():
    for formatter in (format_text, format_grouped):
        coloured = formatter([ERROR, WARNING], True)
        assert "\x1b[31m" in coloured and "\x1b[33m" in coloured, formatter.__name__
        assert click.unstyle(coloured) == formatter([ERROR, WARNING]), formatter.__name__
        assert "\x1b" not in formatter([ERROR, WARNING])


def test_quiet_prints_only_errors(checked, capsys):
    (checked / "models/notes.txt").write_text("not a spec\n")
    loud = run_cli(capsys, "generate", "--check", "--repo", str(checked))
    assert "not-a-spec" in loud.err and "up to date" in loud.err
    quiet = run_cli(capsys, "generate", "--check", "--quiet", "--repo", str(checked))
    assert quiet.code == 0 and quiet.out == quiet.err == ""
    quiet_check = run_cli(capsys, "check", "-q", "--repo", str(checked))
    assert quiet_check.code == 0 and quiet_check.out == ""

"""Colour on a terminal: only when the stream is one, and never when NO_COLOR is set (no-color.org)."""

from __future__ import annotations

import os
from typing import Any

import click

SEVERITY_COLOURS = {"error": "red", "warning": "yellow"}


def wants_colour(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def paint(text: str, colour: bool, **style: Any) -> str:
    """text styled (click.style's keywords) when colour is on, else text unchanged."""
    return click.style(text, **style) if colour and text else text

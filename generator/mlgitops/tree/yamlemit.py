"""Deterministic YAML for plain data, read back identically by YAML 1.1 and 1.2 parsers.

Go's YAML 1.1 parsers (kustomize, kubectl, Flux, Argo CD) read `y`, `on`, `012`, `1:20`, `0o17` or
`2024-01-01` as something other than a string, so every string is emitted plain only when it
cannot be mistaken for anything else under either YAML version; otherwise it is double-quoted.
Keys are sorted (kustomize's output order), sequences are not indented (kustomize's style), lines end
in LF. A hand-written emitter because PyYAML's (~2,100 Deployments/s here) is too slow for 14,000
files in the time budget; tests check it against PyYAML's YAML 1.1 resolver and real kustomize.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

# A plain scalar is allowed only from this conservative alphabet, not starting with an indicator.
_SAFE_PLAIN = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./@+-]*(?:[: ][A-Za-z0-9_./@+-]+)*\Z")
# Strings that YAML 1.1 or 1.2 resolves to a non-string: bools, nulls, ints (any base, sexagesimal,
# underscores), floats (incl. .inf/.nan, exponents), timestamps, merge and value keys.
_IMPLICIT = re.compile(
    r"""(?x)\A(?:
      y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
    | ~|null|Null|NULL
    | [-+]?[0-9][0-9a-fA-F_:.xXoObB+-]*       # anything number-like: ints (any base), floats, sexagesimal
    | [-+]?\.[0-9][0-9_eE+-]*
    | [-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)
    | [0-9][0-9][0-9][0-9]-[0-9].*             # timestamps, in any of YAML 1.1's spellings
    | <<|=|\.\.\..*                         # merge and value keys; a document-end marker
    )\Z"""
)
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")


def _needs_escape(ch: str) -> bool:
    o = ord(ch)
    if 0x20 <= o <= 0x7E:
        return ch in '"\\'
    if o in (0x2028, 0x2029, 0xFEFF):
        return True
    return not (0xA0 <= o <= 0xD7FF or 0xE000 <= o <= 0xFFFD or 0x10000 <= o <= 0x10FFFF)


def _escape(ch: str) -> str:
    o = ord(ch)
    if ch in '"\\':
        return "\\" + ch
    if ch == "\n":
        return "\\n"
    if ch == "\t":
        return "\\t"
    if o <= 0xFF:
        return f"\\x{o:02x}"
    if o <= 0xFFFF:
        return f"\\u{o:04x}"
    return f"\\U{o:08x}"


def _double_quoted(s: str) -> str:
    return '"' + "".join(_escape(c) if _needs_escape(c) else c for c in s) + '"'


@lru_cache(maxsize=65536)
def scalar_str(s: str) -> str:
    """The YAML text of a string: plain when unambiguous, else double-quoted."""
    if s and _SAFE_PLAIN.match(s) and not _IMPLICIT.match(s) and s[0] not in _INDICATORS:
        return s
    return _double_quoted(s)


def scalar(value) -> str:
    if isinstance(value, str):
        return scalar_str(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "." not in text:  # YAML 1.1 floats need a dot: 1e-05 -> 1.0e-05
            mantissa, _, exponent = text.partition("e")
            text = f"{mantissa}.0" + (f"e{exponent}" if exponent else "")
        return text
    raise TypeError(f"cannot emit {type(value).__name__} as YAML")


def _emit(value, indent: str, out: list[str], first: str = "") -> None:
    """Append the lines of a block collection (value is a non-empty dict or list). first, when given, is
    what the first line starts with instead of indent (`- ` of the list item holding this collection)."""
    if type(value) is dict or isinstance(value, dict):
        _emit_map(value, indent, out, first or indent)
        return
    lead = first or indent
    inner = indent + "  "
    for item in value:
        kind = type(item)
        if kind is str:
            out.append(f"{lead}- {scalar_str(item)}")
        elif (kind is dict or kind is list or isinstance(item, (dict, list))) and item:
            _emit(item, inner, out, f"{lead}- ")
        else:
            out.append(f"{lead}- {_inline(item)}")
        lead = indent


def _emit_map(value: dict, indent: str, out: list[str], lead: str) -> None:
    inner = indent + "  "
    for key, item in sorted(value.items()):  # keys are unique, so only they are compared
        head = f"{lead}{scalar_str(key)}:"
        lead = indent
        kind = type(item)
        if kind is str:  # the commonest leaf, without the two calls of _inline
            out.append(f"{head} {scalar_str(item)}")
        elif kind is dict or (kind is not list and isinstance(item, dict)):
            if item:
                out.append(head)
                _emit_map(item, inner, out, inner)
            else:
                out.append(f"{head} {{}}")
        elif kind is list or isinstance(item, list):
            if item:
                out.append(head)
                _emit(item, indent, out)
            else:
                out.append(f"{head} []")
        else:
            out.append(f"{head} {scalar(item)}")


def _inline(value) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return scalar(value)


def dumps(value) -> str:
    """One YAML document (no '---'), LF line endings, trailing newline."""
    if isinstance(value, (dict, list)) and value:
        out: list[str] = []
        _emit(value, "", out)
        return "\n".join(out) + "\n"
    return _inline(value) + "\n"


def dumps_all(values) -> str:
    return "---\n".join(dumps(v) for v in values)


"""How Go's YAML reads a scalar or a map key, so that our verdicts are kubeconform's.

kubeconform parses each document with sigs.k8s.io/yaml: go-yaml v2 (YAML 1.1-ish) decodes into Go
values, which are converted to JSON and decoded again. The consequences, mirrored here:
- `y`, `yes`, `on`, `n`, `no`, `off` (and their capitalised forms) are booleans, not strings;
- integers go through Go's strconv.ParseInt with a base prefix, after removing `_`: `012` is octal
  10, `08` is the float 8.0, `0x1F`, `0o17`, `0b101` and `1_000` are integers; past int64 comes
  uint64, then a float;
- `1.10` is the float 1.1 and `1e3` is 1000.0; `.inf` and `.nan` cannot become JSON (an error);
- timestamps (`2024-01-01`) and sexagesimal numbers (`1:20`) stay strings;
- a non-string map key becomes a string: `5` -> "5", `on` -> "true", `3.14` -> "3.14".

Characters, as go-yaml v2.4.0's reader and scanner see them (readerc.go, yamlprivateh.go, scannerc.go;
the same in the goyaml.v2 fork of sigs.k8s.io/yaml v1.4.0, which kubeconform uses):
- it refuses, anywhere in the text (quoted or not), every character outside tab, LF, CR, U+0020-U+007E,
  NEL U+0085, U+00A0-U+D7FF, U+E000-U+FFFD and U+10000-U+10FFFF: C0 and C1 controls, DEL,
  surrogates, U+FFFE and U+FFFF ("control characters are not allowed");
- CR, NEL U+0085, LS U+2028 and PS U+2029 are line breaks (YAML 1.2 readers such as yaml-rs read the
  last three as text);
- a tab may not start a token at the start of a line, or after `-`, `?` or a complex key's `:`;
- a byte order mark is skipped at the start of the text; elsewhere its reading depends on where
  go-yaml's internal buffer happens to start (`is_bom` looks at the buffer's first bytes, not at the
  current position), so a document holding one cannot be read the way Go would for sure.

The fast parser (yaml-rs) agrees with these rules except on a few spellings and characters;
`needs_exact(text)` finds every document holding one of them, and those go through the exact reader
(yamlexact.py).
"""

from __future__ import annotations

import functools
import math
import re
import struct
from typing import Any

_MAP: dict[str, Any] = {"": None, "~": None, "null": None, "Null": None, "NULL": None}
for _word in ("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"):
    _MAP[_word] = True
for _word in ("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"):
    _MAP[_word] = False
for _word, _value in ((".nan", math.nan), (".inf", math.inf), ("+.inf", math.inf), ("-.inf", -math.inf)):
    for _spelling in (_word, _word.replace("n", "N", 1).replace("i", "I", 1), _word.upper()):
        _MAP[_spelling] = _value
_MAP[".NaN"] = math.nan

MERGE = "<<"
_GO_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_DOT_FLOAT = re.compile(r"\.[0-9]+(?:[eE][-+]?[0-9]+)?\Z")  # what Go's ParseFloat accepts after a dot
_DIGITS = {16: set("0123456789abcdefABCDEF"), 10: set("0123456789"), 8: set("01234567"), 2: set("01")}
INT64 = (-(2**63), 2**63 - 1)
UINT64_MAX = 2**64 - 1


def _parse_int(text: str) -> int | None:
    """Go's strconv.ParseInt(text, 0, 64) without the range check: None when not an integer."""
    body, sign = text, 1
    if body[:1] in ("+", "-"):
        sign, body = (-1 if body[0] == "-" else 1), body[1:]
    base = 10
    if len(body) > 1 and body[0] == "0":
        prefix = body[1].lower()
        base, body = {"x": (16, body[2:]), "o": (8, body[2:]), "b": (2, body[2:])}.get(prefix, (8, body[1:]))
    if not body or not set(body) <= _DIGITS[base]:
        return None
    if base == 10 and len(body.lstrip("0")) > len(str(UINT64_MAX)):  # out of range whatever it is, and past
        return sign * (UINT64_MAX + 1)  # 4,300 digits int() would refuse it (ValueError, int_max_str_digits)
    return sign * int(body, base)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None  # Go's ParseFloat fails on overflow


def resolve_plain(text: str) -> Any:
    """The value go-yaml v2 gives an unquoted, untagged scalar decoded into interface{}."""
    if text in _MAP:
        return _MAP[text]
    first = text[0]
    if first == ".":  # Go's ParseFloat, and the text when it fails (`.5e400` overflows: Go keeps the text)
        value = _finite(float(text)) if _DOT_FLOAT.match(text) else None
        return text if value is None else value
    if first not in "+-0123456789":
        return text
    value = _go_number(text.replace("_", ""))
    return text if value is None else value


def _go_number(plain: str) -> int | float | None:
    """The number go-yaml v2 reads in a plain scalar (underscores removed), None when it is a string."""
    number = _parse_int(plain)
    if number is not None and (INT64[0] <= number <= INT64[1] or (number <= UINT64_MAX and plain[0] not in "+-")):
        return number
    if _GO_FLOAT.match(plain):
        value = _finite(float(plain))
        if value is not None:
            return value
    for prefix, sign in (("0b", 1), ("-0b", -1)):
        digits = plain[len(prefix):]
        if plain.startswith(prefix) and digits and set(digits) <= _DIGITS[2]:
            number = sign * int(digits, 2)
            if INT64[0] <= number <= UINT64_MAX:
                return number
    return None


def _go_float_key(value: float) -> str:
    """strconv.FormatFloat(value, 'g', -1, 32), as sigs.k8s.io/yaml turns a float key into a string."""
    if not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if abs(value) > 3.4028234663852886e38:  # past float32: Go formats +Inf / -Inf
        return ".inf" if value > 0 else "-.inf"
    single = struct.unpack("f", struct.pack("f", value))[0]
    mantissa, exponent_text = _shortest_float32(abs(single)).split("e")
    digits, exponent = mantissa.replace(".", "").rstrip("0") or "0", int(exponent_text)
    return ("-" if single < 0 else "") + _g_format(digits, exponent)


def _shortest_float32(value: float) -> str:
    """The shortest %e text that reads back as the same float32."""
    for places in range(9):
        text = f"{value:.{places}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == value:
            break
    return text


def _g_format(digits: str, exponent: int) -> str:
    """Go's %g of the decimal 0.<digits> x 10^(exponent+1), without its sign."""
    if exponent < -4 or exponent >= 6:
        fraction = f".{digits[1:]}" if len(digits) > 1 else ""
        return f"{digits[0]}{fraction}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if exponent < 0:
        return f"0.{'0' * (-exponent - 1)}{digits}"
    whole, fraction = digits[: exponent + 1].ljust(exponent + 1, "0"), digits[exponent + 1:]
    return f"{whole}{'.' + fraction if fraction else ''}"


def key_text(key: Any) -> str | None:
    """The JSON object key sigs.k8s.io/yaml makes of a decoded map key (None: unsupported, an error)."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        return _go_float_key(key)
    return None


# Spellings where yaml-rs (YAML 1.2 rules) and go-yaml v2 disagree, or that need the exact reader.
# False alarms only cost speed; tests/kube/test_goyaml.py checks the two readers agree.
_BOOL_WORDS = ("y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF")
_KEY_WORDS = ("true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL", "~", "<<")
# Whitespace-separated words that are risky whole: a YAML 1.1 boolean (value or key) or a special key.
_TOKENS = frozenset(_BOOL_WORDS + tuple(w + ":" for w in _BOOL_WORDS + _KEY_WORDS) + ("<<",))
# A number with a leading zero (Go reads octal), or starting with `_` or `.` and holding an underscore
# (Go reads a string, yaml-rs a number: `.5_`, and `.0E0_`, found by tests/kube/test_goyaml.py's big numbers).
_ZERO = re.compile(r"0(?:(?<=[\s,\[{]0)|(?<=[\s,\[{][+-]0))[0-9_]|_(?:(?<=[\s,\[{]_)|(?<=[\s,\[{][.+-]_))[0-9_.]"
                   r"|\.(?<=[\s,\[{]\.)[0-9eE+-]*_")
# A key that is not a string once Go has read it: a number, null, empty, a collection, or `? ` explicit.
# The line's first character after its indentation is looked at first: most lines start with a letter and fail there.
_KEY = re.compile(r"\n[ \t]*+(?=[-?+.0-9~\[{:])"
                  r"(?:(?:[-?][ \t]++)*+(?:(?:[+.0-9~\[{]|-(?![ \t]))[^:\n]*)?:(?:[ \t]|\r?$)"
                  r"|(?:-[ \t]++)*+\?(?:[ \t]|\r?$))", re.MULTILINE)
# A non-empty flow collection: rare in kustomize output. YAML's white space is space and tab (and line breaks),
# not Python's \s: `[\xa0:]` is a flow mapping whose key is a no-break space, which Go refuses.
_FLOW = re.compile(r"[\[{][ \t]*+[^\]} \t\r\n]")
_ANCHOR = re.compile(r"[&*](?<=[\s\[{,][&*])")  # an anchor or alias (yaml-rs accepts empty names)
# A block scalar left empty at the end (yaml-rs: "\n"): the text ends (but for whitespace) in | or > and these.
_BLOCK_HEADER_TAIL = "-+0123456789"


# What go-yaml v2's reader accepts (readerc.go); any other character fails the whole document.
GO_READABLE = "\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff"


@functools.cache
def _unreadable() -> re.Pattern[str]:  # compiled when first needed: ~10 ms, at every start otherwise
    return re.compile(f"[^{GO_READABLE}]")


BOM = "\ufeff"
# Bytes of a text that is plain printable ASCII, tab and line ends: anything left over is worth a look.
_PLAIN_BYTES = bytes(range(0x20, 0x7F)) + b"\t\n\r"
_HIGH_BYTES = bytes(range(0x80, 0x100))  # the bytes of UTF-8 sequences beyond ASCII


@functools.cache
def _odd() -> re.Pattern[str]:
    """Beyond plain ASCII, what yaml-rs may read differently: every character Go refuses, the YAML 1.1
    line breaks NEL, LS and PS, and the byte order mark (compiled when first needed, as _unreadable())."""
    return re.compile("[^\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")


# A word (the start of a plain scalar) that may be a number past 64 bits, where Go and yaml-rs part ways: a float
# past float64 (Go's ParseFloat fails, so Go keeps the text; yaml-rs reads infinity): an exponent of three digits
# or more, or 19 digits before it; an integer past int64 (Go: uint64, then a float; yaml-rs: an int); a hexadecimal,
# octal or binary one past 64 bits (Go: the text). Go removes `_` first. False alarms (`1e100`) only cost speed.
_BIG_NUMBER = (r"[-+]?(?:(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9_]{3}|[0-9][0-9_]{18}"
               r"|0[xXoObB][0-9a-fA-F_]{16})")


@functools.cache
def _big() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A candidate for _BIG_NUMBER inside a text (cheap to look for), and _BIG_NUMBER starting a word in words
    joined by line breaks (compiled when first needed, as _unreadable(): `mlgitops --version` reads this module)."""
    return (re.compile(r"[0-9._][eE][-+]?[0-9_]{3}|[0-9][0-9_]{18}|0[xXoObB][0-9a-fA-F_]{16}"),
            re.compile(r"\n" + _BIG_NUMBER))


_LONE_CR = re.compile(r"\r(?!\n)")
_TAB = re.compile(r"(?:^|[-?:])[ ]*\t", re.MULTILINE)  # a tab where Go may refuse it
# Nesting: block collections nest at most one level per column of a line's leading run of spaces and
# `- ` (plus two), so a document without a run this long stays far below yamlexact.MAX_DEPTH.
_DEEP = re.compile(r"\n[ -]{150}")
# A block scalar at the top of a document (`--- |`, or `|` alone on the first line): Go (libyaml) gives its
# content an indentation of at least 1, yaml-rs takes lines at column 0 too (`--- |` then `a: true`: Go reads
# "", yaml-rs "a: true\n"). Found by tests/kube/test_goyaml_screen.py's stream property.
_TOP_BLOCK = re.compile(r"\n(?:---[ \t]+)?[|>]")


def first_unreadable(text: str) -> int | None:
    """Index of the first character go-yaml v2's reader refuses (None: every character is readable)."""
    found = _unreadable().search(text)
    return found.start() if found else None


def odd_characters(text: str) -> bool:
    """True when text holds a character the two readers may treat differently (see the module text).
    ~1 us for a 2 KB ASCII document: the scan is bytes.translate, a regex only for what is left."""
    rest = text.encode("utf-8", "surrogatepass").translate(None, _PLAIN_BYTES)
    if rest:
        if rest.translate(None, _HIGH_BYTES):
            return True  # an ASCII control character
        if _odd().search(rest.decode("utf-8", "surrogatepass")):  # only the characters beyond ASCII
            return True
    if "\t" in text and _TAB.search(text):
        return True
    return "\r" in text and _LONE_CR.search(text) is not None


def needs_exact(text: str) -> bool:
    """True when the fast parser might read this document differently from go-yaml v2.

    Literals, a set of words and regexes anchored on rare characters: ~12 us for a 2 KB document.
    Exact reading for: YAML 1.1 booleans, numbers with a leading 0 or _, non-string or empty keys,
    tags, merge keys, anchors, directives, document end markers, .inf/.nan, non-empty flow
    collections, an empty block scalar at the end, deep nesting, and the characters of
    odd_characters() (control characters, YAML 1.1 line breaks, byte order marks, tabs that may
    start a token, a CR alone), and numbers past 64 bits (_BIG_NUMBER: a float past float64 such as
    `1e400` is text to Go and infinity to yaml-rs, an integer past uint64 a float to Go and an int to
    yaml-rs, a hexadecimal one text to Go).
    """
    if odd_characters(text):
        return True
    text = "\n" + text
    if _has_marker(text) or _DEEP.search(text) or _TOP_BLOCK.search(text):
        return True
    return _odd_tokens(text)


# Literal text that only a document go-yaml may read differently can hold (tags, merge keys, directives,
# document ends, infinities and NaNs).
_MARKERS = ("!", "<<", "\n%", "\n...", ".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN")
_INF_NAN = re.compile("|".join(re.escape(marker) for marker in _MARKERS[4:]))  # one pass, not six


def _has_marker(text: str) -> bool:
    return "!" in text or "<<" in text or "\n%" in text or "\n..." in text or _INF_NAN.search(text) is not None


# What screen() looks for in each distinct word: a number with a leading 0 or _ (or .5_ and the like), an anchor,
# alias, directive or document end at its start; a tag, a comma or flow bracket, a merge key, .inf/.nan inside.
# Two regexes, each fast to search: the first looks only after each line break (its literal first character),
# the second only where one of its few first characters is.


@functools.cache
def _risky_start() -> re.Pattern[str]:  # compiled when first needed, as _big()
    return re.compile(r"\n(?:[+-]?0[0-9_]|[.+-]?_[0-9_.]|\.[0-9eE+-]*_|[&*%]|\.\.\.|" + _BIG_NUMBER + ")")


_RISKY_INSIDE = re.compile(r"[!,\[{]|<<|\.(?:inf|Inf|INF|nan|NaN|NAN)")
_ASCII_LINES = bytes(range(0x20, 0x7F)) + b"\n"  # printable ASCII and LF: no tab, no CR


def screen(text: str) -> bool:
    """False only when needs_exact() is False for every document in text (a stream, `---` lines and all):
    the cheap "maybe" over many documents at once, ~3 times faster than needs_exact() on each.

    Every check of needs_exact() is local to a line or a word, and documents are whole lines apart, so
    one pass over the stream finds whatever any document holds; each check here finds at least what its
    counterpart in needs_exact() finds: any character beyond printable ASCII and LF (odd_characters),
    the same _DEEP, _KEY and _TOP_BLOCK, the same words (_TOKENS), and in each distinct word what _ZERO, _ANCHOR,
    _FLOW and _MARKERS look for (a comma, [ or { anywhere in a word counts: they are _ZERO's and
    _ANCHOR's separators too). Not covered: the end of each document (an empty block scalar there),
    which the caller checks per document with ends_in_block_header(). tests/kube/test_goyaml_screen.py
    holds the two against each other.
    """
    # Every check is local to a line (the first to a character), so each distinct line is looked at once:
    # generated manifests repeat most of theirs (64 documents of 2,000 lines hold ~200 distinct ones), and
    # splitting the lines costs half as much as splitting the words of the whole text.
    text = "\n" + "\n".join(set(text.split("\n")))
    if text.encode("utf-8", "surrogatepass").translate(None, _ASCII_LINES):
        return True
    if _DEEP.search(text) or _KEY.search(text) or _TOP_BLOCK.search(text):
        return True
    words = set(text.split())  # ~1,000 distinct words in 6,000 generated documents
    if not _TOKENS.isdisjoint(words):
        return True
    words.difference_update(("{}", "[]"))
    joined = "\n" + "\n".join(words)
    return _risky_start().search(joined) is not None or _RISKY_INSIDE.search(joined) is not None


_BLOCK_HEADER = re.compile(r"[|>][-+0-9]*[ \t]*(?:#[^\n]*)?\r?$", re.MULTILINE)  # | or > ending a line (or more)


def ends_in_block_header(text: str) -> bool:
    """A block scalar may reach the end of the text, where yaml-rs and go-yaml part ways: an empty one
    (the text ends, but for whitespace, in | or > and its indicators: yaml-rs reads "\n"), or one whose
    last line has no line break after it (`k: |` then `  x`: Go reads "x", yaml-rs "x\n"; kubeconform
    cuts documents before the line break ahead of `---`, so every document but the last ends so)."""
    if "|" not in text and ">" not in text:
        return False
    if text.rstrip().rstrip(_BLOCK_HEADER_TAIL).endswith(("|", ">")):
        return True
    return not text.endswith("\n") and _BLOCK_HEADER.search(text) is not None


def _odd_tokens(text: str) -> bool:
    words = text.split()
    if not _TOKENS.isdisjoint(words) or _ZERO.search(text) or _KEY.search(text):
        return True
    inside, starting = _big()
    if inside.search(text) and starting.search("\n" + "\n".join(words)):  # a word that is a big number
        return True
    # an empty block scalar at the end, without a regex scan for | and > through the whole text
    if (("&" in text or "*" in text) and _ANCHOR.search(text)) or ends_in_block_header(text):
        return True
    return ("[" in text or "{" in text) and _FLOW.search(text) is not None

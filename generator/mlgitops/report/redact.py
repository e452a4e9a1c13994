"""Secrets are referenced, never printed: masking what the secret detector (report/secrets.py) matches.

The spec refuses a literal secret (spec/semantics.py, spec/training.py, and check's policies for raw patches);
these functions make sure no output repeats one anyway: schema hints, the drift diff of `generate --check`,
`mlgitops diff` (every format prints text masked here).
"""

from __future__ import annotations

import re

from mlgitops.report.secrets import (
    ARG_HINT,
    SECRET_HINT,
    is_secret_name,
    secret_flag,
    secret_kind,
    split_secret_flags,
    words,
)

__all__ = ["ARG_HINT", "MASK", "SECRET_HINT", "is_secret_name", "mask_env_values", "secret_flag", "words"]

MASK = "***"
# One line of YAML as emitted by mlgitops or kustomize, possibly behind a unified diff's prefix:
# `<prefix><indent>[- ]key: value`.
_LINE = re.compile(r"^(?P<lead>[-+ ]?)(?P<indent> *)(?P<item>- )?(?P<key>[A-Za-z_][\w.-]*):(?P<rest>.*)$")


def mask_env_values(text: str) -> str:
    """YAML (or a unified diff of YAML) with the value of every secret-named env var written as ***.

    An env entry is `- name: DB_PASSWORD` followed by `value: ...` at the same depth (keys are sorted, so
    `name` comes first); flow style `{name: X, value: Y}` is masked too. Diff headers pass unchanged.
    """
    masker = _EnvMasker()
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        out.append(line if body.startswith(("+++ ", "--- ", "@@")) else masker.line(body) + ending)
    return "".join(out)


class _EnvMasker:
    """The state of mask_env_values from one line to the next."""

    def __init__(self) -> None:
        self.secret_depth: int | None = None  # indentation of the keys of the env entry being masked
        self.masked_value = False  # the previous line was a masked value: its continuation lines are masked too

    def line(self, body: str) -> str:
        body = _mask_flow(body)
        match = _LINE.match(body)
        indent = len(body[1:]) - len(body[1:].lstrip(" ")) if body[:1] in "-+ " else 0
        if self.masked_value and self.secret_depth is not None and indent > self.secret_depth \
                and body.strip(" +-"):
            return body[:1 + indent] + MASK  # a folded or block scalar's next line
        self.masked_value = False
        return self._keyed(body, match) if match else body

    def _keyed(self, body: str, match: re.Match[str]) -> str:
        depth = len(match["indent"]) + (2 if match["item"] else 0)
        key = match["key"]
        if match["item"]:
            self.secret_depth = None
        if key == "name" and is_secret_name(match["rest"].strip().strip("\"'")):
            self.secret_depth = depth
        elif self.secret_depth is not None and depth < self.secret_depth:
            self.secret_depth = None
        elif self.secret_depth == depth and key == "value" and match["rest"].strip():
            self.masked_value = True
            return f"{body[:len(body) - len(match['rest'])]} {MASK}"
        return body


_FLOW = re.compile(r"\{[^{}]*\bname: *[\"']?(?P<name>[A-Za-z_][\w.-]*)[\"']?[^{}]*\}")
_FLOW_VALUE = re.compile(r"(\bvalue: *)(\"(?:[^\"\\]|\\.)*\"|'(?:[^']|'')*'|[^,}]*)")


def _mask_flow(body: str) -> str:
    def one(match: re.Match[str]) -> str:
        if not is_secret_name(match["name"]):
            return match.group()
        return _FLOW_VALUE.sub(lambda v: v[1] + MASK, match.group())
    return _FLOW.sub(one, body)


_TOKEN = re.compile(r"[^\s'\",\[\]{}]{8,}")  # a scalar, or a piece of one, long enough to hold a credential
_FLAG_VALUE = re.compile(r"(?P<flag>-{1,2}[A-Za-z][\w.-]*=)(?P<value>[^\s'\",\]}]+)")
_ITEM = re.compile(r"^[-+ ]? *- +['\"]?(?P<item>[^'\"]*)['\"]?$")  # `- value` of a block sequence


def mask_secrets(text: str) -> str:
    """YAML (or a unified diff of YAML) with every secret the detector sees written as ***: the values of
    secret-named env vars, `--api-key=...` and the item after a bare `--api-key`, and any value that holds a
    credential whatever its name (a URL with a password, a cloud key, a token, a private key's lines)."""
    out = []
    after_flag = False  # the previous sequence item was a bare flag whose name says secret
    for line in mask_env_values(text).splitlines(keepends=True):
        if line.startswith(("+++ ", "--- ", "@@")):
            out.append(line)
            continue
        item = _ITEM.match(line.rstrip("\r\n"))
        if after_flag and item and item["item"]:
            line = line.replace(item["item"], MASK, 1)
        after_flag = bool(item) and bool(split_secret_flags([item["item"] if item else "", "x"]))
        out.append(mask_line(line))
    return "".join(out)


def mask_line(line: str) -> str:
    """One line of text with each `--secret-flag=value` and each credential-shaped token written as ***."""
    line = _FLAG_VALUE.sub(lambda m: m["flag"] + MASK if secret_flag(m.group()) else m.group(), line)
    return _TOKEN.sub(lambda m: MASK if secret_kind(m.group()) else m.group(), line)

"""Secrets are referenced, never printed: which env var names say "secret", and masking their values.

The spec refuses a literal value under such a name (spec/semantics.py); these functions make sure no
output repeats one anyway: schema hints, the drift diff of `generate --check`, `mlgitops diff`.
"""

from __future__ import annotations

import re
from itertools import pairwise

MASK = "***"
SECRET_HINT = ("put the value in a Secret and reference it: secrets: [{env: NAME, secret: <Secret name>, "
               "key: <key>}]; a literal value ends up in Git and in every diff")

# A name says secret when one of its words is one of these (DB_PASSWORD, hfToken, OPENAI_API_KEY) ...
_SECRET_WORDS = {"PASSWORD", "PASSWD", "PASSPHRASE", "TOKEN", "SECRET", "APIKEY", "PRIVATEKEY", "ACCESSKEY",
                 "CREDENTIAL", "CREDENTIALS"}
# ... or two of its words in a row are one of these.
_SECRET_PAIRS = {("API", "KEY"), ("PRIVATE", "KEY"), ("ACCESS", "KEY"), ("SIGNING", "KEY"), ("ENCRYPTION", "KEY"),
                 ("CLIENT", "SECRET"), ("AUTH", "KEY")}
# ... unless its last word says it holds where the secret is, not the secret (DB_PASSWORD_FILE).
_REFERENCE_WORDS = {"FILE", "PATH", "DIR", "REF", "NAME"}
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def words(name: str) -> list[str]:
    """The words of an env var name, upper-cased: DB_PASSWORD, dbPassword and db-password -> [DB, PASSWORD]."""
    return [w.upper() for w in _WORD.findall(name)]


def is_secret_name(name: object) -> bool:
    """Whether an env var (or any key) name says its value is a secret."""
    if not isinstance(name, str):
        return False
    parts = words(name)
    if not parts or parts[-1] in _REFERENCE_WORDS:
        return False
    return any(w in _SECRET_WORDS for w in parts) or any(p in _SECRET_PAIRS for p in pairwise(parts))


_FLAG = re.compile(r"-{1,2}(?P<name>[A-Za-z][\w.-]*)=(?P<value>.+)", re.DOTALL)
_ENV_REF = re.compile(r"\$\([A-Za-z_][A-Za-z0-9_]*\)")  # Kubernetes expands $(VAR) from the container's env


def secret_flag(arg: object) -> str | None:
    """The flag of a command-line argument `--api-key=<literal>` whose name says secret, else None.
    `--api-key=$(API_KEY)` is the way to pass one (the env var comes from a Secret) and is fine."""
    match = _FLAG.fullmatch(arg) if isinstance(arg, str) else None
    if match is None or not is_secret_name(match["name"]) or _ENV_REF.fullmatch(match["value"]):
        return None
    return match["name"]


ARG_HINT = ("put the value in a Secret, reference it as an env var (secrets: [{env: NAME, secret: <Secret name>, "
            "key: <key>}]) and pass --FLAG=$(NAME): Kubernetes expands it; a literal ends up in Git and in every diff")


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

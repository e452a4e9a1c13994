"""The one secret detector: names that say secret, and values that hold a credential whatever their name.

Spec checks (spec/semantics.py, spec/training.py), the policies on built objects (a raw patch) and every
masking of output (report/redact.py: drift of `generate --check`, `mlgitops diff`) ask this module, so
what is refused and what is masked cannot disagree.

Values are read by Yelp's detect-secrets plugins (maintained patterns: AWS keys, private keys, URLs with a
password, JWTs, GitHub/GitLab/Slack/Stripe/OpenAI/PyPI/npm tokens ...) and its high-entropy measure; the
plugins are used one by one on a value, never through detect-secrets' global settings. Content addresses
(image digests, sha256 and git revisions, UUIDs) are not secrets and are never flagged.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
from functools import cache
from itertools import pairwise
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # detect-secrets imports requests (~0.4 s): loaded on the first value that needs it
    from detect_secrets.plugins.base import RegexBasedDetector
    from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString

# --- names ------------------------------------------------------------------------------------------------------

# A name says secret when one of its words is one of these (DB_PASSWORD, hfToken, OPENAI_API_KEY, MYSQL_PWD) ...
_SECRET_WORDS = {"PASSWORD", "PASSWD", "PWD", "PASSPHRASE", "PASS", "TOKEN", "SECRET", "APIKEY", "PRIVATEKEY",
                 "ACCESSKEY", "CREDENTIAL", "CREDENTIALS"}
# ... or a whole name is one of these (libpq's PGPASSWORD and PGPASSFILE's sibling, MySQL's MYSQL_PWD) ...
_SECRET_NAMES = {"PGPASSWORD", "MYSQLPWD", "PGPASS", "HFTOKEN", "HUGGINGFACEHUBTOKEN"}
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
    """Whether an env var (or any key, or a flag) name says its value is a secret."""
    if not isinstance(name, str):
        return False
    parts = words(name)
    if not parts or parts[-1] in _REFERENCE_WORDS:
        return False
    return "".join(parts) in _SECRET_NAMES or any(w in _SECRET_WORDS for w in parts) or \
        any(p in _SECRET_PAIRS for p in pairwise(parts))


_FLAG = re.compile(r"-{1,2}(?P<name>[A-Za-z][\w.-]*)=(?P<value>.+)", re.DOTALL)
_BARE_FLAG = re.compile(r"-{1,2}(?P<name>[A-Za-z][\w.-]*)")
_ENV_REF = re.compile(r"\$\([A-Za-z_][A-Za-z0-9_]*\)")  # Kubernetes expands $(VAR) from the container's env


def is_reference(value: object) -> bool:
    """`$(NAME)`: the way to pass a secret (the env var comes from a Secret); never a secret itself."""
    return isinstance(value, str) and bool(_ENV_REF.fullmatch(value))


def secret_flag(arg: object) -> str | None:
    """The flag of a command-line argument `--api-key=<literal>` whose name says secret, else None.
    `--api-key=$(API_KEY)` is the way to pass one (the env var comes from a Secret) and is fine."""
    match = _FLAG.fullmatch(arg) if isinstance(arg, str) else None
    if match is None or not is_secret_name(match["name"]) or is_reference(match["value"]):
        return None
    return match["name"]


def split_secret_flags(args: object) -> list[tuple[int, str]]:
    """(index of the value, flag) for each `["--api-key", "<literal>"]`: a bare flag whose name says secret,
    followed by a literal that is not another flag nor a `$(VAR)` reference."""
    items = args if isinstance(args, list) else []
    out = []
    for i, (flag, value) in enumerate(pairwise(items)):
        match = _BARE_FLAG.fullmatch(flag) if isinstance(flag, str) else None
        if match and is_secret_name(match["name"]) and isinstance(value, str) and value and \
                not value.startswith("-") and not is_reference(value):
            out.append((i + 1, match["name"]))
    return out


# --- values -----------------------------------------------------------------------------------------------------

_CANDIDATE = re.compile(r"[A-Za-z0-9+/_=-]{20,}")  # a run of base64 / base64url characters long enough to matter
_HEX = re.compile(r"[0-9a-fA-F]+")
_ENTROPY_LIMIT = 4.5  # detect-secrets' default for Base64HighEntropyString
_HIGH_ENTROPY = "High Entropy String"


@cache
def _plugins() -> tuple[RegexBasedDetector, ...]:
    from detect_secrets.plugins.artifactory import ArtifactoryDetector
    from detect_secrets.plugins.aws import AWSKeyDetector
    from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
    from detect_secrets.plugins.basic_auth import BasicAuthDetector
    from detect_secrets.plugins.discord import DiscordBotTokenDetector
    from detect_secrets.plugins.github_token import GitHubTokenDetector
    from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
    from detect_secrets.plugins.jwt import JwtTokenDetector
    from detect_secrets.plugins.mailchimp import MailchimpDetector
    from detect_secrets.plugins.npm import NpmDetector
    from detect_secrets.plugins.openai import OpenAIDetector
    from detect_secrets.plugins.private_key import PrivateKeyDetector
    from detect_secrets.plugins.pypi_token import PypiTokenDetector
    from detect_secrets.plugins.sendgrid import SendGridDetector
    from detect_secrets.plugins.slack import SlackDetector
    from detect_secrets.plugins.square_oauth import SquareOAuthDetector
    from detect_secrets.plugins.stripe import StripeDetector
    from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
    from detect_secrets.plugins.twilio import TwilioKeyDetector

    patterns: tuple[type[RegexBasedDetector], ...] = (
        AWSKeyDetector, BasicAuthDetector, PrivateKeyDetector, JwtTokenDetector, GitHubTokenDetector,
        GitLabTokenDetector, SlackDetector, StripeDetector, OpenAIDetector, PypiTokenDetector, NpmDetector,
        ArtifactoryDetector, AzureStorageKeyDetector, DiscordBotTokenDetector, MailchimpDetector, SendGridDetector,
        SquareOAuthDetector, TelegramBotTokenDetector, TwilioKeyDetector)
    return tuple(plugin() for plugin in patterns)


@cache
def _entropy() -> Base64HighEntropyString:
    from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString

    return Base64HighEntropyString(limit=_ENTROPY_LIMIT)


def _random_token(token: str) -> bool:
    """A token that reads like a generated key: mixed case and digits, high entropy, and not a content address
    (hexadecimal digests and revisions), a UUID or a run like abcdef123456."""
    from detect_secrets.filters.heuristic import is_potential_uuid, is_sequential_string

    if _HEX.fullmatch(token.strip("=")) or is_potential_uuid(token) or is_sequential_string(token):
        return False
    if not (re.search(r"[a-z]", token) and re.search(r"[A-Z]", token) and re.search(r"[0-9]", token)):
        return False
    return _entropy().calculate_shannon_entropy(token) > _ENTROPY_LIMIT


def secret_kind(value: object) -> str | None:
    """What credential a value holds ("AWS Access Key", "Basic Auth Credentials", "High Entropy String", ...),
    or None. Never returns or logs the value."""
    if not isinstance(value, str) or len(value) < 8 or is_reference(value):
        return None
    if _known_clean and _digest(value) in _known_clean:
        return None
    return _cached_kind(value)


# Values already found to hold no credential, by the SHA-256 of the value: a caller may keep them in its
# signed cache (generate does, keyed on mlgitops's code and detect-secrets' version), so a run whose only
# values are known ones never imports detect-secrets (~0.15 s). Never the value itself, and never a secret.
_known_clean: set[bytes] = set()
_found_clean: set[bytes] = set()


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def detector_version() -> bytes | None:
    """What decides a verdict besides mlgitops's own code: detect-secrets' version file (read, not imported)."""
    found = importlib.util.find_spec("detect_secrets")
    if found is None or not found.submodule_search_locations:
        return None
    try:
        with open(os.path.join(next(iter(found.submodule_search_locations)), "__version__.py"), "rb") as handle:
            return handle.read(4096)
    except OSError:
        return None


def remember_clean(digests: set[bytes]) -> None:
    """Digests of values known to hold no credential (from a cache the caller trusts)."""
    _known_clean.update(digests)


def add_found_clean(digests: set[bytes]) -> None:
    """Digests another process (a render worker) found to hold no credential."""
    _found_clean.update(digests)


def found_clean() -> set[bytes]:
    """Digests of the values this process found to hold no credential."""
    return set(_found_clean)


@cache
def _cached_kind(value: str) -> str | None:
    for plugin in _plugins():
        if any(True for _ in plugin.analyze_string(value)):
            return str(plugin.secret_type)
    if any(_random_token(t) for t in _CANDIDATE.findall(value)):
        return _HIGH_ENTROPY
    _found_clean.add(_digest(value))
    return None


def is_secret(name: object, value: object) -> bool:
    """Whether a (name, literal value) pair must not be written or shown: by its name or by its value."""
    return (isinstance(value, str) and bool(value) and not is_reference(value) and is_secret_name(name)) or \
        secret_kind(value) is not None


# --- what the checks say ----------------------------------------------------------------------------------------

SECRET_HINT = ("put the value in a Secret and reference it: secrets: [{env: NAME, secret: <Secret name>, "
               "key: <key>}]; a literal value ends up in Git and in every diff")
ARG_HINT = ("put the value in a Secret, reference it as an env var (secrets: [{env: NAME, secret: <Secret name>, "
            "key: <key>}]) and pass --FLAG=$(NAME): Kubernetes expands it; a literal ends up in Git and in every diff")
VALUE_HINT = ("put the credential in a Secret and reference it (secrets: [{env: NAME, secret: <Secret name>, key: "
              "<key>}], then $(NAME) where a value needs it, e.g. postgres://app:$(DB_PASSWORD)@db/x); if it is no "
              "credential, say so: policies: {exceptions: {secret-in-value: {reason: ...}}}")

Problem = tuple[str, str, str, bool]  # (rule, message, hint, whether the finding points at the key)


def env_problem(name: object, value: object) -> Problem | None:
    """Why an env var (`name: value`, also model.fetch.env and sweep parameters) must not hold its literal: its
    name says secret (secret-in-env), or its value holds a credential (secret-in-value). The value is never
    repeated."""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool) or value == "" or is_reference(value):
        return None
    if is_secret_name(name):
        return ("secret-in-env", f"env '{name}' holds a literal value, and its name says it is a secret",
                SECRET_HINT.replace("NAME", str(name)), True)
    kind = secret_kind(value)
    if kind:
        return "secret-in-value", f"env '{name}' holds what looks like a credential ({kind})", VALUE_HINT, False
    return None


def arg_problems(args: object) -> list[tuple[int, str, str, str]]:
    """(index, rule, message, hint) for each argument that passes a secret as a literal: `--api-key=...`, the
    value after a bare `--api-key`, or any argument that holds a credential."""
    items = args if isinstance(args, list) else []
    out = []
    split = dict(split_secret_flags(items))
    for i, arg in enumerate(items):
        if flag := secret_flag(arg):
            out.append((i, "secret-in-env", (f"argument '--{flag}=...' holds a literal value, and its name says it "
                        "is a secret"), ARG_HINT.replace("FLAG", flag)))
        elif i in split:
            out.append((i, "secret-in-env", (f"the argument after '--{split[i]}' is a literal value, and the flag's "
                        "name says it is a secret"), ARG_HINT.replace("FLAG", split[i])))
        elif kind := secret_kind(arg):
            out.append((i, "secret-in-value", f"argument {i + 1} holds what looks like a credential ({kind})",
                        VALUE_HINT))
    return out

"""Weights references: whether a URI names a version, whether its content is pinned, whether a writer's prefix
reaches a reader's weights. Pure; shared by `check` (on the built pods) and `status` (on the specs).

Content-pinned references, after their upstream conventions:
- `oci://registry/repo@sha256:<64 hex>`: a model image by digest (KServe's modelcar pattern, storage URI
  `oci://`; a digest names exactly one content).
- `hf://org/model:<40 hex>`: a Hugging Face repository at a commit (KServe's storage initializer reads
  `hf://${REPO}/${MODEL}:${HASH}`, the part after `:` being the revision); a branch or tag name can move.
- any URI the spec declares immutable (`model.immutable: true`: a write-once bucket, S3 Object Lock).
"""

from __future__ import annotations

import re

OCI_DIGEST = re.compile(r"^oci://[^@\s]+@sha256:[0-9a-f]{64}$")
HF_COMMIT = re.compile(r"^hf://[^:\s]+:[0-9a-f]{40}$")
RUN_VAR = "MLGITOPS_RUN"  # what a training pod receives for `{run}` (render/training.py)
TRIAL_VAR = "MLGITOPS_TRIAL"  # and for `{trial}`
PLACEHOLDERS = {"{run}": f"$({RUN_VAR})", "{trial}": f"$({TRIAL_VAR})"}  # Kubernetes expands $(VAR) in env values


def pinned(uri: str, immutable: bool = False) -> str:
    """How the content of uri is pinned ("digest", "commit", "immutable"), "" when it may change."""
    if OCI_DIGEST.match(uri):
        return "digest"
    if HF_COMMIT.match(uri):
        return "commit"
    return "immutable" if immutable and uri else ""


def names_version(uri: str, version: str) -> bool:
    """Whether the version appears in uri as a whole part (`/2.1.0/`, `model-2.1.0.pt`, `v2.1.0`), not inside
    a longer version (`2.1` in `2.1.0`)."""
    if not version:
        return False
    # What re.search(r"(?<![A-Za-z0-9.])[vV]?VERSION(?![A-Za-z0-9]|\.[0-9])") finds, without compiling a
    # pattern per version (a check of 1,000 models compiled ~1,000, evicting every other from re's cache).
    start = uri.find(version)
    while start >= 0:
        end = start + len(version)
        after = uri[end:end + 2]
        if not (after[:1] in _WORD or (after[:1] == "." and after[1:] in _DIGITS)) and (
                _free_before(uri, start) or (uri[start - 1:start] in ("v", "V") and _free_before(uri, start - 1))):
            return True
        start = uri.find(version, start + 1)
    return False


_DIGITS = frozenset("0123456789")
_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") | _DIGITS


def _free_before(uri: str, at: int) -> bool:
    """No letter, digit or dot just before uri[at] (or at is its start)."""
    return at == 0 or (uri[at - 1] not in _WORD and uri[at - 1] != ".")


def static_prefix(value: str) -> str:
    """The part of a writer's URI fixed before the pod starts: up to the first `$(VAR)` Kubernetes expands."""
    return value.split("$(", 1)[0]


def reaches(writer: str, reader: str) -> bool:
    """Whether a writer whose keys start with `writer` (its static prefix) can change the weights at `reader`.
    Object stores are flat: a prefix holds every key that starts with it. So the writer's prefix equals or
    contains the reader's weights, or the reader loads a folder (`.../`) the writer writes into."""
    if "://" not in writer or "://" not in reader:
        return False
    return reader.startswith(writer) or (reader.endswith("/") and writer.startswith(reader))

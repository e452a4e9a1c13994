"""The name rules of each kind of object mlgitops generates, in one table (the API server's validation:
k8s.io/apimachinery/pkg/api/validation/path and pkg/apis/core/validation: a Service's name is a DNS-1035 label,
so it starts with a letter, `ValidateServiceName = apimachineryvalidation.NameIsDNS1035Label`; a Namespace's a
DNS-1123 label; most other kinds a DNS-1123 subdomain). A model's name names every generated object, so the
spec's `metadata.name` must satisfy the strictest rule of the table (`MODEL_NAME`, config and model schema
patterns are held to it by a test)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# The largest object an API server stores: etcd refuses a request over --max-request-bytes, 1.5 MiB by default
# (etcd embed.DefaultMaxRequestBytes; the kube-apiserver itself takes request bodies up to 3 MiB). Here, not in
# kube/manifests.py: generate checks every object it renders against it without importing a YAML reader.
MAX_OBJECT_BYTES = 1536 * 1024


@dataclass(frozen=True)
class NameRule:
    name: str  # as Kubernetes' error messages call it
    pattern: str
    max_length: int
    says: str  # what a name must be, for a finding

    @property
    def short(self) -> str:
        """The rule in a few words, for a hint: 'a DNS-1035 label (a letter first, at most 40 characters)'."""
        first = "a letter" if self.pattern.startswith("^[a-z](") else "a letter or digit"
        return f"a {self.name} ({first} first, at most {self.max_length} characters)"


DNS1123_SUBDOMAIN = NameRule("DNS-1123 subdomain", r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
                             253, "lower-case letters, digits, '-' and '.', starting and ending with a letter or digit")
DNS1123_LABEL = NameRule("DNS-1123 label", r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", 63,
                         "lower-case letters, digits and '-', starting and ending with a letter or digit")
DNS1035_LABEL = NameRule("DNS-1035 label", r"^[a-z]([-a-z0-9]*[a-z0-9])?$", 63,
                         "lower-case letters, digits and '-', starting with a letter and ending with a letter or digit")

# kind -> its name rule; a kind not listed: a DNS-1123 subdomain (ConfigMaps, Deployments, Jobs, CRs, ...).
KINDS: dict[str, NameRule] = {
    "Service": DNS1035_LABEL,
    "Namespace": DNS1123_LABEL,
    # a CronJob's Jobs are named <name>-<timestamp> and must be labels: the API server allows at most 52 characters
    "CronJob": NameRule("DNS-1123 label", DNS1123_LABEL.pattern, 52, DNS1123_LABEL.says),
}

# The model name: the strictest rule a generated object's name imposes (its Service), with room for the suffixes
# mlgitops appends (`-canary`, `-training`, the environment in Flux and Argo CD names).
MODEL_NAME = NameRule("DNS-1035 label", DNS1035_LABEL.pattern, 40, DNS1035_LABEL.says)


def rule(kind: str) -> NameRule:
    return KINDS.get(kind, DNS1123_SUBDOMAIN)


def problem(kind: str, name: str) -> str | None:
    """Why the API server would refuse an object of this kind with this name, or None."""
    found = rule(kind)
    if len(name) > found.max_length:
        return f"a {kind}'s name is at most {found.max_length} characters; '{name}' has {len(name)}"
    if not re.match(found.pattern, name):
        return f"a {kind}'s name must be a {found.name} ({found.says}); '{name}' is not"
    return None

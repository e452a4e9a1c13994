"""Pod-level options of a training section: the ServiceAccount its pods run as and their restart policy."""

from __future__ import annotations

from typing import Any


def apply(section: dict[str, Any], pod: dict[str, Any]) -> None:
    """`serviceAccount` (an existing account by name, e.g. one bound to a cloud identity that reads the bucket;
    its token mounted only if asked) and `restartPolicy` into pod."""
    account = section.get("serviceAccount")
    if account:
        pod["serviceAccountName"] = account["name"]
        pod["automountServiceAccountToken"] = account["automountToken"]
    if "restartPolicy" in section:
        pod["restartPolicy"] = section["restartPolicy"]

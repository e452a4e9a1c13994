"""Container image references: `name[:tag][@digest]`, split the way kustomize's images transformer sees them."""

from __future__ import annotations

import re

# A released version's tag (a semantic version): the default immutableTagPattern of the policies (mlgitops.yaml),
# which also sets the base's pull policy; config.schema.json documents it as the default.
VERSION_TAG = r"^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$"
_IMAGE = re.compile(r"^(?P<name>[^@]+?)(?::(?P<tag>[^:/@]+))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$")


def split_image(image: str) -> tuple[str, str | None, str | None]:
    m = _IMAGE.match(image)
    if not m:
        return image, None, None
    return m["name"], m["tag"], m["digest"]

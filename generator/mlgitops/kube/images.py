"""Container image references: `name[:tag][@digest]`, split the way kustomize's images transformer sees them."""

from __future__ import annotations

import re

# A released version's tag: numbers joined by dots (two or more, an optional `v`), then an optional build suffix,
# as the common release tags are: semantic versions (`v0.6.3`), NGC's calendar versions (`25.01-py3`), framework
# builds (`2.4.0-cuda12.1`, `2.3.1_cpu`); moving names (`latest`, `main`, `stable`, `nightly`) never match. The
# default immutableTagPattern of the policies (mlgitops.yaml), which also sets the base's pull policy;
# config.schema.json documents it as the default.
VERSION_TAG = r"^v?[0-9]+(\.[0-9]+)+([-+_][0-9A-Za-z][0-9A-Za-z._-]*)?$"
_IMAGE = re.compile(r"^(?P<name>[^@]+?)(?::(?P<tag>[^:/@]+))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$")


def split_image(image: str) -> tuple[str, str | None, str | None]:
    m = _IMAGE.match(image)
    if not m:
        return image, None, None
    return m["name"], m["tag"], m["digest"]

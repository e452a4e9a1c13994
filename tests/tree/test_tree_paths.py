"""Which paths a generated tree may name: proven before anything is written (writer.outside)."""

from __future__ import annotations

import pytest
from mlgitops.tree.writer import outside


@pytest.mark.parametrize("path", ["base/m/deployment.yaml", "overlays/dev/m/kustomization.yaml", "clusters/a",
                                  "base/.hidden", "base/..dots", "overlays/dev/m/a b.yaml"])
def test_a_plain_path_under_a_generated_root_is_allowed(path):
    assert outside(path) is None


@pytest.mark.parametrize("path", ["base/../models/m.yaml", "base/./x", "base//x", "base/x/", "/base/x", "base/..",
                                  "base/.", "base/a\\b", "base/a\0b", "overlays/dev/../../x"])
def test_a_path_with_a_part_that_is_not_plain_is_refused(path):
    assert outside(path) == "is not a plain relative path"


@pytest.mark.parametrize("path", ["base", "models/m.yaml", "basement/x", "x/base/y", "mlgitops.yaml"])
def test_a_path_outside_the_generated_roots_is_refused(path):
    assert outside(path) == "is not under base/, overlays/, clusters/"

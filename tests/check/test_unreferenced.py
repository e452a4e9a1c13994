"""A file a person put in a generated folder is never deployed: check says so."""

from __future__ import annotations

from mlgitops.check import pipeline as check
from mlgitops.report.findings import Severity


def test_a_persons_file_in_an_overlay_or_base_folder_is_a_warning(generated):
    (generated / "overlays/prod/house-prices/extra-configmap.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n")
    (generated / "base/house-prices/notes.md").write_text("remember to scale up\n")
    (generated / "base/house-prices/.gitkeep").write_text("")
    result = check.run(check.Options(generated, use_cache=False))
    found = [(f.file, f.rule, f.severity) for f in result.findings]
    assert found == [("base/house-prices/notes.md", "unreferenced-file", Severity.WARNING),
                     ("overlays/prod/house-prices/extra-configmap.yaml", "unreferenced-file", Severity.WARNING)]

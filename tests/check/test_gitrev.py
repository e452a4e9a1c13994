"""The Git side of `mlgitops diff`: blob ids as Git computes them, the base revision's files, its blobs."""

from __future__ import annotations

import os
import subprocess

from gitrepo import commit, init
from mlgitops.check import gitrev, rendered_diff


def test_blob_ids_are_gits(tmp_path):
    for content in (b"", b"kind: Service\n", bytes(range(256)) * 10):
        (tmp_path / "f").write_bytes(content)
        expected = subprocess.run(["git", "hash-object", str(tmp_path / "f")], capture_output=True, text=True,
                                  check=True).stdout.strip()
        assert gitrev.blob_id(content) == expected


def test_the_base_revisions_files_and_their_blobs(tmp_path):
    (tmp_path / "base/m").mkdir(parents=True)
    (tmp_path / "base/m/service.yaml").write_bytes(b"kind: Service\n")
    (tmp_path / "overlays/dev/m").mkdir(parents=True)
    (tmp_path / "overlays/dev/m/kustomization.yaml").write_bytes(b"resources: [../../../base/m]\n")
    os.symlink("kustomization.yaml", tmp_path / "overlays/dev/m/link.yaml")  # skipped, as writer.scan skips it
    (tmp_path / "models").mkdir()
    (tmp_path / "models/m.yaml").write_bytes(b"not listed\n")
    base = gitrev.Base("HEAD", commit(init(tmp_path)))
    files = gitrev.listing(tmp_path, base)
    assert files == {"base/m/service.yaml": gitrev.blob_id(b"kind: Service\n"),
                     "overlays/dev/m/kustomization.yaml": gitrev.blob_id(b"resources: [../../../base/m]\n")}
    assert gitrev.read_blobs(tmp_path, set(files.values())) == {
        gitrev.blob_id(b"kind: Service\n"): b"kind: Service\n",
        gitrev.blob_id(b"resources: [../../../base/m]\n"): b"resources: [../../../base/m]\n"}


def test_an_overlays_inputs_are_its_folder_and_its_models_base():
    files = {"base/a/deployment.yaml": "1", "base/b/deployment.yaml": "2", "overlays/dev/a/kustomization.yaml": "3",
             "overlays/dev/a/patch.yaml": "4", "overlays/dev/b/kustomization.yaml": "5", "overlays/dev/c/x.yaml": "6"}
    sigs = rendered_diff.signatures(files)
    assert sigs == {
        "overlays/dev/a": ((("overlays/dev/a/kustomization.yaml", "3"), ("overlays/dev/a/patch.yaml", "4")),
                           (("base/a/deployment.yaml", "1"),)),
        "overlays/dev/b": ((("overlays/dev/b/kustomization.yaml", "5"),), (("base/b/deployment.yaml", "2"),))}
    changed_base = rendered_diff.signatures({**files, "base/a/deployment.yaml": "9"})
    gone = rendered_diff.signatures({p: i for p, i in files.items() if "/b/" not in p})
    assert rendered_diff.changed(sigs, changed_base) == ["overlays/dev/a"]
    assert rendered_diff.changed(sigs, gone) == ["overlays/dev/b"]
    assert rendered_diff.changed(sigs, sigs) == []

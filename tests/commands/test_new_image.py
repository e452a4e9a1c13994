"""`mlgitops new --image` refuses, before writing anything, the images `check` would refuse."""

from __future__ import annotations

import pytest
from conftest import make_repo, run_cli

REFUSED = {
    "registry.example.com/m": "--image: image 'registry.example.com/m' is untagged (image-latest)",
    "registry.example.com/m:latest": "--image: image 'registry.example.com/m:latest' is tagged :latest (image-latest)",
    "registry.example.com/m@sha256:abc": "--image: image 'registry.example.com/m@sha256:abc' has a malformed digest "
                                         "(image-latest)",
    "registry.example.com/m:main": "--image: image tag 'main' is not an immutable version (in prod) (image-pinned)",
}


@pytest.mark.parametrize("image", sorted(REFUSED))
def test_new_refuses_an_image_check_would_refuse_and_writes_nothing(image, tmp_path, capsys):
    repo = make_repo(tmp_path / "repo", models=[])
    result = run_cli(capsys, "new", "m", "--image", image, "--repo", str(repo))
    assert result.code == 1
    assert result.err.splitlines()[0] == REFUSED[image]
    assert not (repo / "models/m.yaml").exists()


def test_new_accepts_a_version_tag_or_a_digest(tmp_path, capsys):
    repo = make_repo(tmp_path / "repo", models=[])
    digest = "registry.example.com/d@sha256:" + "0123456789abcdef" * 4
    for name, image in (("t", "registry.example.com/t:1.2.0"), ("d", digest)):
        assert run_cli(capsys, "new", name, "--image", image, "--repo", str(repo)).code == 0
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    assert run_cli(capsys, "check", "--repo", str(repo)).code == 0

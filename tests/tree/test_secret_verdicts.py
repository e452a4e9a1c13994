"""The secret detector's verdicts on mlgitops.yaml's values are kept in the signed cache, so that a run whose
values were judged before imports no detector (detect-secrets imports requests: ~0.2 s of every check and
diff). A kept verdict is the detector's own; one the cache cannot vouch for is judged again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlgitops.report.secrets import secret_kind
from mlgitops.tree import cache

VALUES = ["https://github.com/example/ml-models.git", "https://deploy:s3cr3tPassw0rd@git.example.com/ml.git",
          "AKIAIOSFODNN7EXAMPLE", "short", "", "$(GIT_TOKEN)"]


def entries(root: Path) -> list[Path]:
    folder = cache.location(root) / "secrets"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def judged(root: Path, values: list[str]) -> list[str | None]:
    judge = cache.SecretVerdicts(root)
    out = [judge(v) for v in values]
    judge.save()
    return out


def test_a_kept_verdict_is_the_detectors_and_a_miss_is_judged(tmp_path):
    expected = [secret_kind(v) for v in VALUES]
    assert expected[1] == "Basic Auth Credentials" and expected[2] == "AWS Access Key" and expected[0] is None
    assert judged(tmp_path, VALUES) == expected  # judged, kept
    kept = entries(tmp_path)
    assert len(kept) == len(VALUES)
    judge = cache.SecretVerdicts(tmp_path)
    assert [judge(v) for v in VALUES] == expected  # from the cache
    assert judge.store.hits == len(VALUES) and judge.judged == {}
    judge.save()
    assert entries(tmp_path) == kept


@pytest.mark.parametrize("forgery", ["swap", "garbage"])
def test_a_verdict_the_cache_cannot_vouch_for_is_judged_again(tmp_path, forgery):
    judged(tmp_path, VALUES[:2])
    clean, leaked = entries(tmp_path)  # which holds which does not matter: each goes under the other's key
    first, second = clean.read_bytes(), leaked.read_bytes()
    if forgery == "swap":  # each entry under the other's key: "no secret" now stands where the credential was
        clean.write_bytes(second)
        leaked.write_bytes(first)
    else:
        clean.write_bytes(b"null")
        leaked.write_bytes(b"null")
    judge = cache.SecretVerdicts(tmp_path)
    assert judge(VALUES[1]) == "Basic Auth Credentials"
    assert judge(VALUES[0]) is None
    assert judge.store.hits == 0


def test_verdicts_are_kept_only_when_saved_and_a_disabled_cache_still_judges(tmp_path):
    assert cache.SecretVerdicts(tmp_path)(VALUES[1]) == "Basic Auth Credentials"  # a run that keeps nothing
    assert entries(tmp_path) == []
    judge = cache.SecretVerdicts(tmp_path, enabled=False)
    assert judge(VALUES[1]) == "Basic Auth Credentials"
    judge.save()
    assert entries(tmp_path) == []


def _check_imports(repo: Path) -> tuple[str, bool]:
    code = ("import sys\nfrom pathlib import Path\nfrom mlgitops.spec.repo import Repo\n"
            "from mlgitops.tree import generation\ngen = generation.build(Repo(Path(sys.argv[1])))\n"
            "print([f.rule for f in gen.findings], 'detect_secrets' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code, str(repo)], capture_output=True, text=True, env=os.environ)
    assert proc.returncode == 0, proc.stderr
    rules, loaded = proc.stdout.split("] ")
    return rules + "]", loaded.strip() == "True"


@pytest.mark.slow
def test_a_second_run_on_the_same_config_loads_no_detector_and_finds_the_same(generated):
    assert _check_imports(generated) == ("[]", False)  # the session's run judged the URL already
    config = generated / "mlgitops.yaml"
    text = config.read_text()
    config.write_text(text.replace("https://github.com/", "https://gitlab.example.com/"))
    assert _check_imports(generated) == ("[]", True)  # a new value: judged by the detector
    assert _check_imports(generated) == ("[]", False)  # the same verdict, from the cache
    config.write_text(text.replace("https://github.com/", "https://deploy:s3cr3tPassw0rd@github.com/"))
    findings, loaded = _check_imports(generated)
    assert loaded and "secret-in-value" in findings
    assert _check_imports(generated) == (findings, True)  # a run with errors keeps nothing, verdicts neither

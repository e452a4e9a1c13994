"""Issue 16, items 7, 8 and 9 (URLs): what a pull request can put in a repository or a command line is
refused at its line, bounded, and never a crash, a hang or a traceback.

The crashes are run in subprocesses (a segfault would take pytest down with it), bounded by timeouts.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import run_cli, snapshot
from mlgitops.spec.config import url_credentials

SPEC = "models/house-prices.yaml"
LIMIT = 60
DEEP = 30_000  # levels: ~25,000 overflowed the C composer's stack (exit 139) before the depth check


def mlgitops(repo: Path, *args: str, timeout: float = LIMIT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlgitops", *args, "--repo", str(repo)], capture_output=True, check=False,
                          text=True, timeout=timeout)


def refused_at(result: subprocess.CompletedProcess, where: str, rule: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    assert where in result.stdout + result.stderr and f"({rule})" in result.stdout + result.stderr


# 7. crashes and hangs


@pytest.mark.slow
@pytest.mark.parametrize("nesting", ["[" * DEEP + "]" * DEEP, "{a: " * DEEP + "1" + "}" * DEEP],
                         ids=["flow-sequences", "flow-mappings"])
def test_deep_flow_nesting_in_a_spec_is_a_finding_not_a_segfault(generated, nesting):
    spec = generated / SPEC
    spec.write_text(spec.read_text() + f"  extra: {nesting}\n")
    before = snapshot(generated)
    for command in (("generate",), ("generate", "--check"), ("check", "--no-cache")):
        refused_at(mlgitops(generated, *command), SPEC, "yaml-depth")
    assert snapshot(generated) == before


def test_deep_flow_nesting_in_mlgitops_yaml_is_a_finding_not_a_segfault(generated):
    config = generated / "mlgitops.yaml"
    config.write_text(config.read_text() + "x: " + "[" * DEEP + "]" * DEEP + "\n")
    refused_at(mlgitops(generated, "generate"), "mlgitops.yaml:", "yaml-depth")


def test_deep_block_nesting_on_one_line_is_a_finding_too(generated):
    spec = generated / SPEC
    spec.write_text(spec.read_text() + "  extra:\n    " + "- " * DEEP + "x\n")
    result = mlgitops(generated, "generate")
    assert result.returncode == 1 and "Traceback" not in result.stderr


def test_a_nested_alias_bomb_given_to_set_is_refused_without_expanding(generated):
    bomb = "{a: &a [x, x, x, x, x, x, x, x, x], " + ", ".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]" for i in range(9)) + "}"
    before = snapshot(generated)
    result = mlgitops(generated, "set", "house-prices", f"serving.env={bomb}", timeout=30)
    assert result.returncode == 2 and "(yaml-alias)" in result.stderr and "Traceback" not in result.stderr
    assert snapshot(generated) == before


@pytest.mark.parametrize("value, rule", [("[" * DEEP + "]" * DEEP, "yaml-depth"), ("!!python/object:os.system x",
                                          "yaml-tag"), ('"\\e[31mred"', "control-character")])
def test_set_reads_its_value_as_a_spec_is_read(generated, value, rule):
    result = mlgitops(generated, "set", "house-prices", f"serving.env={{A: {value}}}")
    assert result.returncode == 2 and f"({rule})" in result.stderr and "Traceback" not in result.stderr


def test_validate_skips_a_fifo_in_a_folder_with_a_warning_and_never_blocks(tmp_path, capsys):
    folder = tmp_path / "manifests"
    folder.mkdir()
    os.mkfifo(folder / "pipe.yaml")
    (folder / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "mlgitops", "validate", str(folder)], capture_output=True, check=False,
                            text=True, timeout=LIMIT, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{folder / 'pipe.yaml'}: a FIFO, not a regular file: skipped (k8s-read)" in result.stdout
    assert "1 valid, 0 invalid, 0 errors, 1 skipped" in result.stdout
    assert time.monotonic() - started < LIMIT


def test_an_unreadable_models_folder_is_one_line_of_error(generated, capsys, monkeypatch):
    # as root a chmod would not stop the read: the folder's listing fails as it would for another user
    real = os.scandir

    def refuse(path="."):  # a folder descriptor (shutil.rmtree's) is not the models folder
        if not isinstance(path, int) and os.path.basename(os.fspath(path)) == "models":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", refuse)
    for command in (("generate",), ("generate", "--check"), ("set", "house-prices", "serving.replicas=3")):
        result = run_cli(capsys, *command, "--repo", str(generated))
        assert result.code == 2 and "Traceback" not in result.err
        assert result.err.startswith("mlgitops: error: cannot read models/") and "Permission denied" in result.err


# 8. values the API server refuses


@pytest.mark.parametrize("old, new, field", [
    ("    replicas: 2\n", "    replicas: 2147483648\n", "replicas"),
    ("maxReplicas: 10", "maxReplicas: 2147483648", "maxReplicas"),
    ("maxReplicas: 10", "maxReplicas: 99999999999999999999999999", "maxReplicas"),
    ("    port: 5000\n", "    port: 5000\n    security: {runAsUser: 4294967296}\n", "runAsUser"),
])
def test_numbers_beyond_their_kubernetes_type_are_refused_at_the_spec_line(generated, capsys, old, new, field):
    spec = generated / SPEC
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new))
    line = next(i for i, t in enumerate(spec.read_text().splitlines(), 1) if new.strip().splitlines()[-1] in t)
    result = run_cli(capsys, "generate", "--check", "--repo", str(generated))
    assert result.code == 1
    said = result.out + result.err
    assert f"{SPEC}:{line}:" in said and f"'{field}' must be at most" in said
    assert "please report" not in result.out + result.err


def test_the_largest_int32_still_passes(generated, capsys):
    result = run_cli(capsys, "set", "house-prices", "serving.replicas=2147483647", "--repo", str(generated))
    assert "must be at most" not in result.err


@pytest.mark.parametrize("text", ['"a\\0b"', '"\\e[31mred"', '"del\\x7f"', '"bell\\a"', '"c1\\x85ok\\x9b"'],
                         ids=["NUL", "ESC", "DEL", "BEL", "C1"])
@pytest.mark.parametrize("where", ["env", "annotation", "label"])
def test_control_characters_are_refused_at_the_spec_line(generated, capsys, text, where):
    spec = generated / SPEC
    added = {"env": f"        env: {{GREETING: {text}}}\n",
             "annotation": f"      patches:\n      - target: {{kind: Deployment}}\n        merge: {{metadata: "
                           f"{{annotations: {{note: {text}}}}}}}\n",
             "label": f"      labels: {{x: {text}}}\n"}[where]
    assert spec.read_text().endswith("targetCPUUtilization: 70}\n")  # prod's override ends the spec
    spec.write_text(spec.read_text() + added)
    line = len(spec.read_text().splitlines())
    before = snapshot(generated)
    result = run_cli(capsys, "generate", "--repo", str(generated))
    assert result.code == 1
    assert f"{SPEC}:{line}:" in result.err and "(control-character)" in result.err
    assert "\x1b" not in result.out + result.err
    assert snapshot(generated) == before


def test_tab_and_newline_are_fine(generated, capsys):
    spec = generated / SPEC
    spec.write_text(spec.read_text() + '        env: {NOTE: "a\\tb\\nc"}\n')
    assert run_cli(capsys, "generate", "--repo", str(generated)).code == 0


# 9. URLs with credentials


@pytest.mark.parametrize("url", ["https://user:ghp_S3cr3tT0ken@github.com/org/repo.git",
                                 "https://ghp_S3cr3tT0ken@github.com/org/repo.git",
                                 "http://x-access-token:ghp_S3cr3tT0ken@git.example.com/repo.git",
                                 "ssh://git:ghp_S3cr3tT0ken@github.com/org/repo.git"])
def test_a_url_with_credentials_is_refused_and_never_printed(generated, tmp_path, capsys, url):
    assert url_credentials(url) is not None
    config = generated / "mlgitops.yaml"
    text = config.read_text()
    config.write_text(text.replace("git:\n", f'git:\n  url: "{url}"\n', 1) if "  url:" not in text else
                      "\n".join(f'  url: "{url}"' if t.startswith("  url:") else t for t in text.splitlines()) + "\n")
    line = next(i for i, t in enumerate(config.read_text().splitlines(), 1) if t.startswith("  url:"))
    result = run_cli(capsys, "generate", "--check", "--repo", str(generated))
    assert result.code == 1 and f"mlgitops.yaml:{line}:" in result.err and "(url-credentials)" in result.err
    assert "S3cr3t" not in result.out + result.err
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    result = run_cli(capsys, "init", "--repo-url", url, str(fresh))
    assert result.code == 2 and "holds credentials" in result.err and "S3cr3t" not in result.out + result.err
    assert not any(fresh.iterdir())


def test_an_ssh_user_is_not_a_credential():
    assert url_credentials("ssh://git@github.com/org/repo.git") is None
    assert url_credentials("https://github.com/org/repo.git") is None
    assert url_credentials("https://github.com/org/repo@v1.git") is None


# sizes: a spec no cluster could take makes every command slow; it is refused before it is parsed


def _bloated(repo: Path, count: int) -> None:
    """The spec with count env vars added (~20 bytes each), as a generator of specs might write it."""
    spec = repo / SPEC
    env = ", ".join(f"VAR_{i:06d}: value-{i:06d}" for i in range(count))
    spec.write_text(spec.read_text().replace("env: {LOG_LEVEL: info,", f"env: {{{env}, LOG_LEVEL: info,", 1))


@pytest.mark.slow
@pytest.mark.parametrize("command", [["check", "--no-cache"], ["generate"], ["generate", "--check"], ["status"],
                                     ["diff", "--base", "HEAD"]], ids=lambda c: " ".join(c))
def test_a_1_mb_spec_is_refused_at_its_first_line_and_every_command_ends(generated, command):
    git = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "specs"]):  # diff's base: the spec as it was
        subprocess.run(["git", *args], cwd=generated, check=True, env=git)
    _bloated(generated, 40_000)
    assert (generated / SPEC).stat().st_size > 1_000_000
    result = mlgitops(generated, *command, timeout=LIMIT)  # before the limit: minutes (kustomize alone > 60 s)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stderr[-2000:]
    out = result.stdout + result.stderr
    assert SPEC in out and "1:1" in out and "more than a spec may be (256 KiB) (spec-too-large)" in out, out[-2000:]


def test_a_spec_just_under_the_limit_still_generates(generated, capsys):
    from mlgitops.spec.model import MAX_SPEC_BYTES

    _bloated(generated, 100)
    assert (generated / SPEC).stat().st_size < MAX_SPEC_BYTES
    assert run_cli(capsys, "generate", "--repo", str(generated)).code == 0


def test_a_generated_object_larger_than_the_api_server_stores_is_a_finding_at_the_spec(generated, capsys,
                                                                                        monkeypatch):
    """A spec under its own limit can still expand (per environment, per container): measured on the objects.
    The limit is lowered here to below the size of the example's Deployment, as a bigger spec would reach it."""
    from mlgitops.kube import names

    deployment = (generated / "base/house-prices/deployment.yaml").stat().st_size
    _bloated(generated, 1)  # a spec the cache has not seen: rendered again
    monkeypatch.setattr(names, "MAX_OBJECT_BYTES", deployment - 1)
    run = run_cli(capsys, "generate", "--repo", str(generated))
    assert run.code == 1
    assert f"{SPEC}:1:1: generates base/house-prices/deployment.yaml with an object of" in run.out + run.err
    assert "(object-too-large)" in run.out + run.err


# Network: a pull request's kustomization that names something to fetch


class _Recorder(http.server.BaseHTTPRequestHandler):
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:  # http.server's name
        self.paths.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fetched}\n")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback_server():
    """An HTTP server on 127.0.0.1 that records every request: Go's HTTP client reaches it past any proxy."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.paths
    server.shutdown()


OVERLAY = "overlays/dev/house-prices"


# check and validate refuse through the same walk (kustomize.refuse_fetches, before every build): check, a whole
# --no-cache run, with the URL the server records; validate with each form of URL.
CHECK, VALIDATE = ["check", "--no-cache"], ["validate", OVERLAY]
URLS = [("{server}/base.yaml", "{server}/base.yaml"),
        ("https://ci:s3cr3t@[::1]:1/base.yaml", "https://***@[::1]:1/base.yaml"),
        ("file:///tmp/repo//base", "file:///tmp/repo//base")]


@pytest.mark.parametrize(("command", "url", "shown"), [(CHECK, *URLS[0]), *((VALIDATE, *url) for url in URLS)],
                         ids=["check", "validate-loopback", "validate-ipv6-with-password", "validate-file"])
def test_a_kustomization_naming_a_url_past_the_proxy_is_never_built(generated, capsys, loopback_server, command, url,
                                                                      shown):
    server, requests = loopback_server
    with open(generated / OVERLAY / "kustomization.yaml", "a", encoding="utf-8") as handle:
        handle.write(f"- {url.format(server=server)}\n")  # its last key is resources
    run = run_cli(capsys, *command[:1], *([str(generated / OVERLAY)] if command[0] == "validate" else
                                          [*command[1:], "--repo", str(generated)]))
    assert run.code == 1 and requests == []
    assert f"names {shown.format(server=server)}: a build never fetches anything" in run.out + run.err
    assert "s3cr3t" not in run.out + run.err


def test_a_remote_file_elsewhere_meets_the_refusing_proxy(generated, capsys):
    """check's builds run with the offline environment, as validate's: a fetch goes to a proxy that refuses it."""
    with open(generated / OVERLAY / "kustomization.yaml", "a", encoding="utf-8") as handle:
        handle.write("- https://203.0.113.7/base.yaml\n")  # TEST-NET-3: no such server
    run = run_cli(capsys, "check", "--no-cache", "--repo", str(generated))
    assert run.code == 1 and "proxyconnect tcp" in run.out


@pytest.mark.parametrize("key", ["components", "transformers", "generators", "validators"])
def test_a_url_in_a_folder_a_kustomization_builds_is_found_too(generated, capsys, loopback_server, key):
    """kustomize builds each folder listed under these keys as a kustomization of its own: it is read too."""
    server, requests = loopback_server
    inner = generated / OVERLAY / "inner"
    inner.mkdir()
    (inner / "kustomization.yaml").write_text(f"resources:\n- {server}/inner.yaml\n", encoding="utf-8")
    with open(generated / OVERLAY / "kustomization.yaml", "a", encoding="utf-8") as handle:
        handle.write(f"{key}:\n- inner\n")
    run = run_cli(capsys, "validate", str(generated / OVERLAY))
    assert run.code == 1 and requests == []
    assert f"inner/kustomization.yaml names {server}/inner.yaml: a build never fetches" in run.out + run.err


@pytest.mark.parametrize(("written", "shown"), [
    ('- "http://\\x6cocalhost:{port}/x.yaml"\n', "names http://localhost:{port}/x.yaml"),  # as Go's YAML reads it
    ("- !!binary aHR0cDovL2xvY2FsaG9zdDox\n", "holds a !!binary value or a %TAG directive"),  # http://localhost:1
    ("#" + "x" * (1 << 20) + "\n- {server}/late.yaml\n", "is larger than 1 MiB"),  # past what is read
], ids=["yaml-escape", "binary", "past-1-mib"])
def test_a_url_hidden_from_a_plain_reading_is_refused_too(generated, capsys, loopback_server, written, shown):
    server, requests = loopback_server
    port = server.rsplit(":", 1)[1]
    with open(generated / OVERLAY / "kustomization.yaml", "a", encoding="utf-8") as handle:
        handle.write(written.format(server=server, port=port))  # its last key is resources
    run = run_cli(capsys, "validate", str(generated / OVERLAY))
    assert run.code == 1 and requests == []
    assert f"kustomization.yaml {shown.format(port=port)}" in run.out + run.err

"""Batched kustomize builds equal single-overlay builds (what Flux and Argo CD do), and name failures."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from mlgitops.check import build
from mlgitops.kube import kustomize
from mlgitops.render.units import OVERLAY_FIELDS
from mlgitops.report import interrupts
from mlgitops.report.findings import FatalError

OVERLAYS = sorted(p.parent.relative_to(ROOT).as_posix() for p in ROOT.glob("overlays/*/*/kustomization.yaml"))


@pytest.mark.slow
def test_batched_output_equals_single_builds_and_really_batches(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the aggregate kustomizations go
    argv = kustomize.build_argv()
    singles = {o: build.build_one(ROOT, o, argv).objects for o in OVERLAYS}
    calls = []
    monkeypatch.setattr(build, "build_one", lambda *a: calls.append(a) or pytest.fail("fell back"))
    batched = build.build_all(ROOT, OVERLAYS)
    assert calls == []
    assert {o: b.objects for o, b in batched.items()} == singles
    assert all(not b.error for b in batched.values())
    assert list(tmp_path.iterdir()) == []  # scratch folders removed
    assert not (ROOT / ".mlgitops-cache/build").exists()  # and none in the repository


def test_a_broken_overlay_is_named_and_the_rest_of_its_batch_still_builds(generated):
    broken = generated / "overlays/prod/house-prices/kustomization.yaml"
    broken.write_text(broken.read_text().replace("../../../base/house-prices", "../../../base/nowhere"))
    overlays = [f"overlays/prod/{m}" for m in ("fraud-detector", "house-prices", "image-classifier")]
    results = build.build_all(generated, overlays)
    assert "nowhere" in results["overlays/prod/house-prices"].error
    assert results["overlays/prod/house-prices"].objects == []
    assert len(results["overlays/prod/fraud-detector"].objects) == 9  # with its SLO PrometheusRule and dashboard


@pytest.mark.parametrize(("models", "envs"), [(100, 2), (300, 3), (4, 3), (1, 3), (13, 1), (41, 4), (7, 5)])
def test_batches_hold_one_unit_per_model_mix_environments_and_stay_small(models, envs):
    names = [f"e{k}" for k in range(envs)]
    overlays = [f"overlays/{env}/m{i:03}" for env in names for i in range(models) if (i + len(env)) % 7 or env == "e0"]
    overlays += [f"overlays/{env}/m{i:03}/training" for env in names[:2] for i in range(0, models, 3)]
    groups = build.batches(overlays, size=40)
    assert sorted(o for g in groups for o in g) == sorted(overlays)  # every overlay once
    assert max(len(g) for g in groups) <= 40
    assert all(len({o.split("/")[2] for o in g}) == len(g) for g in groups)  # objects are told apart by model
    assert all(len({o.endswith("/training") for o in g}) == 1 for g in groups)  # training folders apart ...
    assert all(len({o.split("/")[1] for o in g}) == 1 for g in groups if g[0].endswith("/training"))  # by env
    serving = [o for o in overlays if not o.endswith("/training")]
    assert sum(1 for g in groups if not g[0].endswith("/training")) == max(-(-len(serving) // 40), envs)  # fewest
    if models >= 40 and envs > 1:  # serving batches mix the environments
        assert all(len({o.split("/")[1] for o in g}) == envs for g in groups if not g[0].endswith("/training"))


def test_a_models_units_share_a_batch_only_when_each_has_a_namespace_of_its_own():
    overlays = [f"overlays/{env}/m" for env in ("dev", "prod", "staging")]
    own = {o: f"ml-{o.split('/')[1]}" for o in overlays}
    assert [sorted(g) for g in build.batches(overlays, namespaces=own)] == [overlays]
    for namespaces in (None, dict.fromkeys(overlays, "ml"), {overlays[0]: "a", overlays[1]: "b"}):
        assert sorted(map(len, build.batches(overlays, namespaces=namespaces))) == [1, 1, 1]


@pytest.mark.parametrize(("text", "found"), [
    (b"kind: Kustomization\nnamespace: ml-dev\nresources: [../../../base/m]\n", "ml-dev"),
    (b"kind: Kustomization\nresources: [../../../base/m]\n", None),
    (b"namespace: ml-dev\n---\nnamespace: ml-prod\n", None),
    (b"namespace: [ml-dev]\n", None),
    (b"namespace: ml-\xff\n", None),
    (b"namespace: ml-dev\nresources: [../../../base/m]\nreplacements: [{path: r.yaml}]\n", None),
    (b"namespace: ml-dev\nresources: [../../../base/m]\ntransformers: [t.yaml]\n", None),
], ids=["plain", "none", "two-documents", "not-a-string", "not-utf8", "replacements", "transformers"])
def test_the_namespace_of_an_overlay_is_read_from_its_kustomization_or_left_out(text, found):
    files = {"overlays/dev/m/kustomization.yaml": text, "overlays/dev/m/training/kustomization.yaml": text}
    assert build.namespaces_of(["overlays/dev/m", "overlays/dev/m/training"], files) == (
        {"overlays/dev/m": found} if found else {})


def test_generated_overlays_hold_only_the_fields_whose_namespace_every_object_takes():
    """namespaces_of trusts an overlay's namespace only with these fields (a replacement runs after it)."""
    for overlay in OVERLAYS:
        if not overlay.endswith("/training"):
            data = yaml.safe_load((ROOT / overlay / "kustomization.yaml").read_text())
            assert set(data) <= OVERLAY_FIELDS, overlay


def test_an_object_in_no_units_namespace_is_not_attributed():
    by_name = {"m": ["overlays/dev/m", "overlays/prod/m"]}
    namespaces = {"overlays/dev/m": "ml-dev", "overlays/prod/m": "ml-prod"}
    obj = {"metadata": {"name": "m", "namespace": "ml-prod", "labels": {build.INSTANCE: "m", build.ENV_LABEL: "prod"}}}
    assert build._owner(obj, by_name, namespaces) == "overlays/prod/m"
    assert build._owner({"metadata": {**obj["metadata"], "namespace": "other"}}, by_name, namespaces) is None
    assert build._owner({"metadata": {"name": "m", "labels": {build.INSTANCE: "m"}}}, by_name, namespaces) is None


@pytest.mark.parametrize(("models", "jobs"), [(300, 2), (100, 2), (4, 2), (300, 3), (300, 1), (1, 2)])
def test_batches_come_in_full_rounds_of_jobs(models, jobs):
    """900 overlays in 23 batches of 40 on two CPUs: the 23rd would build alone while the other CPU idles.
    The serving overlays are dealt round 24 instead (37 or 38 each), when there are enough of them."""
    overlays = [f"overlays/{env}/m{i:03}" for env in ("dev", "prod", "staging") for i in range(models)]
    overlays += [f"overlays/dev/m{i:03}/training" for i in range(0, models, 3)]
    groups = build.batches(overlays, size=40, jobs=jobs)
    assert sorted(o for g in groups for o in g) == sorted(overlays)
    assert max(len(g) for g in groups) <= 40
    assert all(len({o.split("/")[2] for o in g}) == len(g) for g in groups)
    assert len(groups) % jobs == 0 or len(groups) == len(overlays)
    assert len(groups) - jobs < len(build.batches(overlays, size=40))  # at most jobs - 1 more batches


def test_garbage_from_kustomize_is_an_error_not_a_traceback(tmp_path, monkeypatch):
    fake = tmp_path / "kustomize"
    fake.write_text("#!/bin/sh\nprintf 'a: [unclosed\\n'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("MLGITOPS_KUSTOMIZE", f"{fake} build")
    result = build.build_one(ROOT, OVERLAYS[0], kustomize.build_argv())
    assert result.error.startswith("kustomize printed unreadable YAML")


def test_a_hanging_kustomize_times_out(tmp_path):
    fake = tmp_path / "kustomize"
    fake.write_text("#!/bin/sh\nsleep 5\n")
    fake.chmod(0o755)
    with pytest.raises(kustomize.Failed, match="timed out"):
        kustomize.run(kustomize.Command((str(fake), "build", "x"), timeout=0.2))


def test_missing_kustomize_is_an_environment_error(monkeypatch, tmp_path):
    monkeypatch.delenv("MLGITOPS_KUSTOMIZE", raising=False)
    monkeypatch.setattr(kustomize.sys, "executable", str(tmp_path / "python"))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(FatalError, match="kustomize is not installed"):
        kustomize.build_argv()


@pytest.mark.slow
def test_an_object_that_names_another_model_sends_the_batch_to_single_builds(generated, monkeypatch):
    patch = generated / "overlays/prod/house-prices/deployment-patch.yaml"
    patch.write_text(patch.read_text().replace("  name: house-prices\n",
                                               "  labels:\n    app.kubernetes.io/instance: fraud-detector\n"
                                               "  name: house-prices\n", 1))
    overlays = [f"overlays/prod/{m}" for m in ("fraud-detector", "house-prices", "image-classifier")]
    argv = kustomize.build_argv()
    singles = {o: build.build_one(generated, o, argv).objects for o in overlays}
    calls = []
    original = build.build_one
    monkeypatch.setattr(build, "build_one", lambda *a: calls.append(a[1]) or original(*a))
    batched = build.build_batch(generated, overlays, argv)
    assert calls == overlays
    assert {b.overlay: b.objects for b in batched} == singles


@pytest.mark.slow
def test_another_models_base_in_a_hand_edited_overlay_is_never_given_to_that_models_overlay(generated):
    """house-prices' prod overlay lists fraud-detector's base: fraud-detector's objects in ml-prod, which the
    batch gave to fraud-detector's dev overlay (a dozen false fidelity errors there)."""
    with open(generated / "overlays/prod/house-prices/kustomization.yaml", "a", encoding="utf-8") as handle:
        handle.write("- ../../../base/fraud-detector\n")  # its last key is resources
    overlays = ["overlays/dev/fraud-detector", "overlays/prod/house-prices"]
    argv = kustomize.build_argv()
    singles = {o: build.build_one(generated, o, argv).objects for o in overlays}
    assert {b.overlay: b.objects for b in build.build_batch(generated, overlays, argv)} == singles


def _gone(pgid: int) -> bool:
    """No live process is left in the group (a killed orphan may linger as a zombie until init reaps it;
    SIGKILL lands asynchronously, so wait for it to land)."""
    for _ in range(1000):
        live = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[2]) == pgid and fields[0] not in "ZX":
                    live.append(entry)
        if not live:
            return True
        threading.Event().wait(0.01)
    return False


def test_ctrl_c_while_waiting_on_a_build_kills_its_whole_process_group():
    """A kustomize that started a helper (a wrapper script, say): Ctrl-C takes both down."""
    procs = build.Processes()
    started = []
    real_popen = subprocess.Popen

    def popen(*args, **kwargs):
        proc = real_popen(*args, **kwargs)
        started.append(proc.pid)
        return proc

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(subprocess, "Popen", popen)
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            with pytest.raises(KeyboardInterrupt):
                procs.run(kustomize.Command(("sh", "-c", "sleep 60 & sleep 60; wait")))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert _gone(started[0])


def test_a_cancelled_build_kills_what_runs_and_starts_nothing_more():
    procs = build.Processes()
    outcome = []

    def worker():
        try:
            procs.run(kustomize.Command(("sh", "-c", "sleep 60 & sleep 60; wait")))
        except build.Cancelled:
            outcome.append("cancelled")

    thread = threading.Thread(target=worker)
    thread.start()
    while not procs._running:
        assert thread.is_alive()
        threading.Event().wait(0.01)
    (running,) = procs._running
    procs.cancel()
    thread.join()
    assert outcome == ["cancelled"]
    assert _gone(running.pid)
    with pytest.raises(build.Cancelled):
        procs.run(kustomize.Command(("true",)))


def _hanging_kustomize(tmp_path: Path, monkeypatch) -> Path:
    """Every build hangs until killed; scratch folders go to the returned folder."""
    script = tmp_path / "k.sh"
    script.write_text("sleep 60\n")
    monkeypatch.setenv("MLGITOPS_KUSTOMIZE", f"sh {script}")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return scratch


TWO_BATCHES = ["overlays/dev/a", "overlays/prod/a"]  # one model's two units: never in one batch


def test_builds_dropped_unread_kill_their_builds_and_leave_no_scratch_folder(tmp_path, monkeypatch):
    """A caller interrupted between starting the builds and reading them drops the Builds: that alone
    stops the builds and removes the scratch folder (nobody may be left to close it)."""
    scratch = _hanging_kustomize(tmp_path, monkeypatch)
    builds = build.Builds(tmp_path, TWO_BATCHES, jobs=2)
    procs = builds.procs
    while len(procs._running) < 2:
        threading.Event().wait(0.01)
    running = [p.pid for p in procs._running]
    assert [p.name[:15] for p in scratch.iterdir()] == ["mlgitops-build-"]
    del builds
    assert all(_gone(pid) for pid in running)
    assert list(scratch.iterdir()) == []


def test_an_interrupt_while_the_builds_start_undoes_the_start(tmp_path, monkeypatch):
    """Ctrl-C landing while the batches are handed out is held back until the Builds owns everything it
    made, then stops the builds and removes the scratch folder before it reaches the caller."""
    scratch = _hanging_kustomize(tmp_path, monkeypatch)
    real_submit = build.ThreadPoolExecutor.submit
    procs = build.Processes()

    def submit(pool, fn, *args):
        future = real_submit(pool, fn, *args)
        os.kill(os.getpid(), signal.SIGINT)  # between two batches
        return future

    monkeypatch.setattr(build.ThreadPoolExecutor, "submit", submit)
    with interrupts.handled(), pytest.raises(KeyboardInterrupt):
        build.Builds(tmp_path, TWO_BATCHES, jobs=2, procs=procs)
    assert procs.cancelled
    assert list(scratch.iterdir()) == []


def test_build_all_interrupted_before_its_first_result_leaves_no_scratch_folder(tmp_path, monkeypatch):
    scratch = _hanging_kustomize(tmp_path, monkeypatch)

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(KeyboardInterrupt):
            build.build_all(tmp_path, TWO_BATCHES, jobs=2)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert list(scratch.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no CPU affinity on this platform")
def test_as_many_builds_at_once_as_cpus_this_process_may_use(tmp_path, monkeypatch):
    """A CI job pinned to one CPU of a large machine (taskset, a container's cpuset) builds one batch at a
    time: the machine's other CPUs are not its to use."""
    _hanging_kustomize(tmp_path, monkeypatch)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3})
    builds = build.Builds(tmp_path, TWO_BATCHES)
    try:
        assert builds._held.pool is None  # one job: each batch built when asked for, in this thread
    finally:
        builds.close()

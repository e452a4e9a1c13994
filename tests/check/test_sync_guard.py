"""What a sync would break (immutable fields) or destroy (prune), from built manifests before and after."""

from __future__ import annotations

import copy

from mlgitops.check.sync_guard import immutable_changes, pruned
from mlgitops.report.findings import Severity


def pvc(size="10Gi", modes=("ReadWriteOnce",), name="m-data", sc=None) -> dict:
    spec = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}}
    if sc:
        spec["storageClassName"] = sc
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": "ml"},
            "spec": spec}


def deployment(selector=None) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "m", "namespace": "ml"},
            "spec": {"selector": {"matchLabels": selector or {"app.kubernetes.io/name": "m"}},
                     "template": {"spec": {"containers": [{"name": "m", "image": "x:1"}]}}}}


O = "overlays/prod/m"  # noqa: E741 (one letter keeps the table of cases readable)


def messages(findings):
    return [(f.rule, f.object, f.message.split(", and")[0]) for f in findings]


def test_pvc_access_mode_class_and_shrink_are_refused_growth_is_not():
    assert messages(immutable_changes({O: [pvc()]}, {O: [pvc(modes=("ReadOnlyMany",))]})) == [
        ("immutable-field", "PersistentVolumeClaim/m-data",
         ("overlays/prod/m: spec.accessModes of PersistentVolumeClaim/m-data changes (['ReadWriteOnce'] -> "
         "['ReadOnlyMany'])"))]
    assert len(immutable_changes({O: [pvc(sc="a")]}, {O: [pvc(sc="b")]})) == 1
    assert len(immutable_changes({O: [pvc("10Gi")]}, {O: [pvc("5Gi")]})) == 1
    assert immutable_changes({O: [pvc("10Gi")]}, {O: [pvc("20Gi")]}) == []
    assert immutable_changes({O: [pvc()]}, {O: [pvc()]}) == []


def test_a_shrink_is_found_in_every_unit_kubernetes_reads():
    """1Ei and exponents once raised in a float parser, and the shrink went unreported."""
    assert len(immutable_changes({O: [pvc("1Ei")]}, {O: [pvc("1Pi")]})) == 1
    assert len(immutable_changes({O: [pvc("1e12")]}, {O: [pvc("900G")]})) == 1
    assert immutable_changes({O: [pvc("1Gi")]}, {O: [pvc("1073741824")]}) == []  # the same size, written otherwise
    assert immutable_changes({O: [pvc("10Gi")]}, {O: [pvc("lots")]}) == []  # unreadable: the schema check says so


def test_a_deployment_selector_change_is_refused_with_the_fix():
    [finding] = immutable_changes({O: [deployment()]}, {O: [deployment({"app": "m", "version": "2"})]})
    assert finding.file == "models/m.yaml" and finding.object == "Deployment/m"
    assert "spec.selector" in finding.message and "Replace=true" in finding.hint


def test_a_job_template_change_and_a_service_cluster_ip():
    job = {"kind": "Job", "metadata": {"name": "t"}, "spec": {"template": {"spec": {"containers": [{"image": "a"}]}}}}
    changed = copy.deepcopy(job)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "b"
    assert [f.object for f in immutable_changes({O: [job]}, {O: [changed]})] == ["Job/t"]
    svc = {"kind": "Service", "metadata": {"name": "s"}, "spec": {"clusterIP": "10.0.0.1", "type": "ClusterIP"}}
    other = copy.deepcopy(svc)
    other["spec"]["clusterIP"] = "10.0.0.2"
    assert len(immutable_changes({O: [svc]}, {O: [other]})) == 1


def test_renamed_objects_are_new_objects_not_changes():
    assert immutable_changes({O: [pvc(name="a")]}, {O: [pvc(modes=("ReadOnlyMany",), name="b")]}) == []


def test_a_deleted_model_with_storage_lists_what_each_engine_prunes():
    [finding] = pruned({O: [deployment(), pvc()]}, {}, lambda env: f"{env}-cluster", ["flux", "argocd"])
    assert finding.severity is Severity.WARNING and finding.rule == "prune"
    assert finding.message.startswith("overlays/prod/m disappears from cluster prod-cluster: Flux deletes")
    assert "Argo CD deletes its Application and, through its resources finalizer, what it deployed" in finding.message
    assert "Among them PersistentVolumeClaim/m-data: the data" in finding.message
    assert "first add the new claim" in finding.hint


def test_an_object_leaving_an_overlay_is_pruned_and_unchanged_overlays_say_nothing():
    [finding] = pruned({O: [deployment(), pvc()]}, {O: [deployment()]}, lambda env: env, ["flux"])
    assert "no longer has PersistentVolumeClaim/m-data" in finding.message
    assert pruned({O: [deployment()]}, {O: [deployment()]}, lambda env: env, ["flux"]) == []

"""An environment's overlay: only what differs from the base.

kustomize's own transformers carry the common differences (namespace, environment and version
labels, image tags); whatever else differs becomes one strategic-merge patch per object, computed
from the base *after* those transformers, so the overlay builds to exactly the intended manifests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlgitops.kube.images import split_image
from mlgitops.render.manifest import Manifest
from mlgitops.tree import smpdiff

TEMPLATED = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


@dataclass
class Overlay:
    kustomization: dict
    files: dict[str, object] = field(default_factory=dict)  # file name -> object (or list of operations)


def image_entry(base_image: str, target_image: str) -> dict | None:
    """A kustomize `images:` entry turning base_image into target_image, when one can."""
    if base_image == target_image:
        return None
    base_name, _, _ = split_image(base_image)
    name, tag, digest = split_image(target_image)
    if tag and digest:
        return None
    entry: dict = {"name": base_name}
    if name != base_name:
        entry["newName"] = name
    if digest:
        entry["digest"] = digest
    elif tag:
        entry["newTag"] = tag
    else:
        return None
    return entry


def apply_transformers(obj: dict, namespace: str, labels: dict, image: dict | None) -> dict:
    """What kustomize's namespace, labels (includeTemplates) and images transformers do to obj.

    Copies only the maps and lists on the way to what changes and shares the rest with obj (a deep copy
    of every object of every environment was a tenth of generate): read the result, never change it."""
    out = dict(obj)
    meta = out["metadata"] = dict(obj["metadata"])
    meta["namespace"] = namespace
    meta["labels"] = {**meta.get("labels", {}), **labels}
    if obj["kind"] in TEMPLATED:
        spec = out["spec"] = dict(obj["spec"])
        template = spec["template"] = dict(spec["template"])
        template_meta = template["metadata"] = dict(template.get("metadata", {}))
        template_meta["labels"] = {**template_meta.get("labels", {}), **labels}
        if image:
            _retag(template, image)
    return out


def _retag(template: dict, image: dict) -> None:
    """The images transformer on a (copied) pod template: containers of the image get its new name/tag/digest."""
    pod = template["spec"] = dict(template["spec"])
    if "containers" not in pod:
        return
    pod["containers"] = containers = [dict(c) for c in pod["containers"]]
    for container in containers:
        if split_image(container["image"])[0] == image["name"]:
            name = image.get("newName", image["name"])
            suffix = f"@{image['digest']}" if "digest" in image else f":{image['newTag']}"
            container["image"] = name + suffix


def _stem(manifest: Manifest) -> str:
    return manifest.file.removesuffix(".yaml")


def _change(m: Manifest, target: Manifest | None, namespace: str, label_pairs: dict, image: dict | None
            ) -> tuple[str, dict] | None:
    """The patch file (name, body) that turns base object m into target: a delete when it has none,
    None when the transformers alone already make it."""
    head = {"apiVersion": m.obj["apiVersion"], "kind": m.kind, "metadata": {"name": m.name}}
    if target is None:
        return f"{_stem(m)}-delete.yaml", {"$patch": "delete", **head}
    patch = smpdiff.diff(apply_transformers(m.obj, namespace, label_pairs, image), target.obj)
    if patch is smpdiff.SAME:
        return None
    body = {**head, **{k: v for k, v in patch.items() if k != "metadata"}}
    meta = patch.get("metadata")
    if meta:
        body["metadata"] = {**meta, "name": m.name}
    return f"{_stem(m)}-patch.yaml", body


def build(base_path: str, namespace: str, base: list[Manifest], target: list[Manifest],
          label_pairs: dict, image: dict | None, user_patches: list[tuple[str, dict, object]]) -> Overlay:
    """The overlay that turns `base` into `target`.

    user_patches: (file name, kustomize target, patch body) for the spec's raw patches, applied last.
    """
    kustomization: dict = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                           "namespace": namespace, "resources": [base_path]}
    if label_pairs:
        kustomization["labels"] = [{"includeSelectors": False, "includeTemplates": True, "pairs": label_pairs}]
    if image:
        kustomization["images"] = [image]
    files: dict[str, object] = {}  # file name -> object, or a list of JSON6902 operations
    patches: list[dict] = []
    base_by_key = {m.key: m for m in base}
    target_by_key = {m.key: m for m in target}
    for m in base:
        change = _change(m, target_by_key.get(m.key), namespace, label_pairs, image)
        if change is not None:
            files[change[0]] = change[1]
            patches.append({"path": change[0]})
    for m in target:
        if m.key not in base_by_key:
            files[m.file] = m.obj
            kustomization["resources"].append(m.file)
    for name, target_ref, raw_patch in user_patches:
        files[name] = raw_patch
        patches.append({"path": name, "target": target_ref})
    if patches:
        kustomization["patches"] = patches
    return Overlay(kustomization, files)

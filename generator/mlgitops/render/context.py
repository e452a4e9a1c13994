"""What every renderer needs to know about one model in one environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from mlgitops.kube.images import VERSION_TAG
from mlgitops.render import labels as label_set
from mlgitops.spec import pods
from mlgitops.spec.types import Serving, Spec


@dataclass(frozen=True)
class Context:
    name: str
    team: str
    env: str  # "" for the base
    namespace: str  # "" for the base
    spec: Spec  # the effective `spec` section, defaults filled
    gpu: dict[str, Any]  # the config's gpu section
    prometheus_operator: bool
    monitoring: dict[str, Any]  # the config's monitoring section: namespace, serviceMonitorLabels
    ingress_controller: dict[str, Any]  # the config's ingressController section: namespace
    storage_initializer: dict[str, Any] | None  # the config's storageInitializer (image, resources), if any
    kubernetes_minor: int = 33  # the minor version of mlgitops.yaml's kubernetesVersion
    scheduling: dict[str, Any] = field(default_factory=dict)  # the environment's scheduling section; {} for the base
    immutable_tag: str = VERSION_TAG  # the environment's immutableTagPattern
    gateway: dict[str, Any] | None = None  # the config's gateway (name, namespace): the models' HTTPRoutes attach to it

    @property
    def routed_by_gateway(self) -> bool:
        """Whether the model's entry point is an HTTPRoute on the Gateway (a Gateway is configured and the model
        has a host): it replaces the Ingress, canary or not, so one host never has two entry points."""
        return bool(self.gateway and self.serving.get("ingress"))

    @property
    def mesh_routed(self) -> bool:
        """Whether an in-cluster canary (no host) is split by a GAMMA HTTPRoute attached to the model's Service."""
        return bool(self.gateway and self.serving.get("canary") and not self.serving.get("ingress"))

    @property
    def serving(self) -> Serving:
        return self.spec["serving"]

    @property
    def labels(self) -> dict[str, Any]:
        return label_set.common(self.name, self.team, self.spec, self.env)

    @property
    def annotations(self) -> dict[str, Any]:
        return dict(self.spec.get("annotations", {}))

    @property
    def selector(self) -> dict[str, Any]:
        return label_set.selector(self.name)

    @property
    def metrics_port(self) -> int | None:
        metrics = self.serving.get("metrics")
        if metrics is None:
            return None
        return cast("int | None", metrics.get("port", self.serving["port"]))

    @property
    def autoscaled(self) -> bool:
        return self.serving.get("autoscaling") is not None

    @property
    def gpu_pods(self) -> bool:
        return pods.gpu(self.serving)

    @property
    def max_pods(self) -> int:
        return pods.max_pods(self.serving)

    @property
    def min_replicas(self) -> int:
        scaling = self.serving.get("autoscaling")
        return scaling["minReplicas"] if scaling else self.serving["replicas"]

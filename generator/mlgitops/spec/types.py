"""The shapes of the validated inputs, for the type checker: what `render/` and `spec/` read.

Each TypedDict names the fields its JSON Schema declares (`schemas/model.schema.json`,
`schemas/config.schema.json`: the schema stays the one source of their meaning, defaults and limits).
They describe data *after* schema validation and `fill_defaults`, so a field the schema gives a default
is present; `total=False` because an environment's override may leave any of them out. Sections read
by key in one place only stay `dict[str, Any]`; a section read in several places gets a type of its own.
"""

from __future__ import annotations

from typing import Any, TypedDict


class ModelSource(TypedDict, total=False):
    """spec.model: which weights, and where they come from."""
    version: str
    uri: str
    framework: str
    fetch: dict[str, Any]


class Serving(TypedDict, total=False):
    """spec.serving: the Deployment and everything around it."""
    image: str
    command: list[str]
    args: list[str]
    port: int
    replicas: int
    resources: dict[str, Any]
    health: dict[str, Any]
    autoscaling: dict[str, Any] | None
    env: dict[str, str]
    secrets: list[dict[str, Any]]
    storage: dict[str, Any] | None
    ingress: dict[str, Any] | None
    metrics: dict[str, Any] | None
    serviceAccount: dict[str, Any]
    security: dict[str, Any]
    nodeSelector: dict[str, str]
    tolerations: list[dict[str, Any]]
    rollout: dict[str, Any]
    networkPolicy: dict[str, Any]
    canary: dict[str, Any] | None
    slo: dict[str, Any]  # absent when none (merge drops nulls)
    shutdown: dict[str, Any]
    scratch: dict[str, Any]
    sharedMemory: dict[str, Any]
    topologySpread: dict[str, Any]
    priorityClassName: str
    runtimeClassName: str
    imagePullPolicy: str
    podAnnotations: dict[str, str]
    service: dict[str, Any]
    ports: list[dict[str, Any]]
    volumes: list[dict[str, Any]]
    initContainers: list[dict[str, Any]]
    sidecars: list[dict[str, Any]]
    singleReplica: bool


class Training(TypedDict, total=False):
    """spec.training: a Job, CronJob, TrainJob or sweep per environment that trains."""
    environments: list[str]
    image: str
    command: list[str]
    args: list[str]
    env: dict[str, str]
    secrets: list[dict[str, Any]]
    resources: dict[str, Any]
    security: dict[str, Any]
    nodeSelector: dict[str, str]
    tolerations: list[dict[str, Any]]
    podAnnotations: dict[str, str]
    data: dict[str, Any]
    output: dict[str, Any]
    backoffLimit: int
    activeDeadlineSeconds: int
    schedule: str
    workers: int
    sweep: dict[str, Any]
    restartPolicy: str
    scratch: dict[str, Any]
    serviceAccount: dict[str, Any]
    sharedMemory: str | int
    timeZone: str
    volumes: list[dict[str, Any]]


class Spec(TypedDict, total=False):
    """A model's effective `spec`: the base with one environment's override merged in, defaults filled."""
    model: ModelSource
    serving: Serving  # absent for a training-only model (spec.model.serves)
    labels: dict[str, str]
    annotations: dict[str, str]
    policies: dict[str, Any]
    environments: dict[str, Any]
    training: Training


class ConfigData(TypedDict, total=False):
    """mlgitops.yaml, validated and with its defaults filled."""
    apiVersion: str
    kind: str
    kubernetesVersion: str
    git: dict[str, Any]
    sync: dict[str, Any]
    gateway: dict[str, Any] | None
    prometheusOperator: bool
    gpu: dict[str, Any]
    defaults: dict[str, Any]
    environments: list[dict[str, Any]]
    skipKinds: list[str]
    monitoring: dict[str, Any]
    ingressController: dict[str, Any]
    storageInitializer: dict[str, Any] | None
    training: dict[str, Any]
    codeOwners: dict[str, list[str]]

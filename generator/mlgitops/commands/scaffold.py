"""`mlgitops new` and `mlgitops init`: starter files that pass validation as written."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from mlgitops.report.findings import FatalError, Finding
from mlgitops.spec.config import Config
from mlgitops.spec.model import parse_model

NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

MODEL_TEMPLATE = """\
# yaml-language-server: $schema=../schemas/model.schema.json
# Starter spec written by 'mlgitops new'. Every field: ../schemas/model.schema.json (docs/spec.md in mlgitops).
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata:
  name: {name}                 # DNS-1123 label, equal to this file's name; names every object
  team: {team}                 # owner: label on every object
spec:
  model:
    version: "{version}"              # always a quoted string ("1.10" is not 1.1)
    # uri: s3://models/{name}/{{version}}/   # where the weights live; {{version}}: each environment's version
    # fetch: {{mountPath: /models}}    # download uri in an init container (storageInitializer in mlgitops.yaml)
  serving:
    image: {image}
    port: 8080                   # the port your server listens on
    resources:
      cpu: {cpu}
      memory: {memory}
      gpu: {gpu}                       # GPUs per pod; GPU pods get the GPU node selector and toleration
    health:
      readiness: /ready          # served only once the model is loaded
      liveness: /healthz         # fails when the process is stuck
{scaling}    # env: {{LOG_LEVEL: info}}
    # secrets: [{{env: DB_PASSWORD, secret: {name}-db, key: password}}]   # references only
    # storage: {{size: 10Gi, mountPath: /models}}
    # ingress: {{host: {name}.example.com}}
    # metrics: {{path: /metrics, port: 9090}}   # a port of their own: never behind the Ingress
  environments:                  # deep-merged over spec: maps merge, lists replace, null removes
{environments}"""


def _version_of(image: str) -> str:
    tag = image.rsplit("/", 1)[-1].partition("@")[0]
    version = tag.partition(":")[2]
    return version if version and re.fullmatch(r"[A-Za-z0-9][-A-Za-z0-9_.]{0,62}", version) else "0.1.0"


def model_text(name: str, image: str, gpu: int, team: str, config: Config) -> str:
    envs = config.env_names
    lines = []
    for env in envs:
        if env == envs[0] and len(envs) > 1:
            lines.append(f"    {env}:\n      serving: {{replicas: 1, autoscaling: null}}\n")
        elif env == envs[-1]:
            lines.append(f"    {env}:\n      serving:\n        autoscaling: {{minReplicas: 2, maxReplicas: 6}}\n")
        else:
            lines.append(f"    {env}: {{}}\n")
    scaling = ("    autoscaling:                 # an HPA owns the pod count (the Deployment has no replicas)\n"
               "      minReplicas: 2\n      maxReplicas: 4\n      targetCPUUtilization: 70\n")
    return MODEL_TEMPLATE.format(name=name, team=team, image=image, gpu=gpu, version=_version_of(image),
                                 cpu="2" if gpu else "500m", memory="8Gi" if gpu else "1Gi",
                                 scaling=scaling, environments="".join(lines))


def new_model(root: Path, config: Config, name: str, image: str, gpu: int, team: str) -> tuple[Path, list[Finding]]:
    if not NAME.match(name) or len(name) > 40:
        raise FatalError(f"'{name}' is not a valid model name",
                         "use a DNS-1123 label: lower-case letters, digits and '-', at most 40 characters")
    path = root / "models" / f"{name}.yaml"
    if path.exists():
        raise FatalError(f"{path.relative_to(root)} already exists", "edit it, or choose another name")
    text = model_text(name, image, gpu, team, config)
    _, findings = parse_model(f"models/{name}.yaml", text.encode(), config)
    if not findings:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path, findings


CONFIG_TEMPLATE = """\
# yaml-language-server: $schema=schemas/config.schema.json
# Repository config for mlgitops. Field reference: schemas/config.schema.json.
apiVersion: mlgitops.io/v1alpha1
kind: Config
kubernetesVersion: "1.33.0"      # the schemas manifests are validated against
git:
  url: https://github.com/example/ml-models.git   # where the clusters clone this repository from
  branch: main
prometheusOperator: false        # true: emit a ServiceMonitor for models with metrics
monitoring:
  namespace: monitoring          # where Prometheus runs: NetworkPolicies admit it to the metrics ports
  serviceMonitorLabels: {}       # what Prometheus selects ServiceMonitors by, e.g. {release: kube-prometheus-stack}
ingressController:
  namespace: ingress-nginx       # admitted to the serving port of models with an Ingress
# storageInitializer:            # for model.fetch: the init container that downloads model.uri
#   image: kserve/storage-initializer:v0.15.0
environments:                    # in promotion order
- name: dev
  namespace: ml-dev
- name: staging
  namespace: ml-staging
- name: prod
  namespace: ml-prod
"""


GITIGNORE = """\
# mlgitops: the content-addressed cache (safe to delete) and the lock of a running generate
.mlgitops-cache/
.mlgitops.lock
"""


def init_repo(root: Path) -> list[str]:
    """Write a new repository's config and schemas; existing files are left alone."""
    written = []
    files = {"mlgitops.yaml": CONFIG_TEMPLATE, ".gitignore": GITIGNORE}
    for name in ("model.schema.json", "config.schema.json"):
        files[f"schemas/{name}"] = resources.files("mlgitops.schemas").joinpath(name).read_text("utf-8")
    for rel, text in files.items():
        path = root / rel
        if rel == ".gitignore" and path.exists():
            current = path.read_text(encoding="utf-8")
            missing = [line for line in GITIGNORE.splitlines()[1:] if line not in current.splitlines()]
            if missing:
                path.write_text(current.rstrip("\n") + "\n" + "\n".join(missing) + "\n", encoding="utf-8")
                written.append(rel)
            continue
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(rel)
    (root / "models").mkdir(exist_ok=True)
    return written

"""`mlgitops new` and `mlgitops init`: starter files that pass validation as written."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

from mlgitops.check.policies import Settings, image_problems
from mlgitops.commands.source import Source
from mlgitops.kube import names
from mlgitops.render import engines
from mlgitops.report.findings import FatalError, Finding
from mlgitops.report.secrets import secret_kind
from mlgitops.spec.config import Config, url_credentials
from mlgitops.spec.model import parse_model
from mlgitops.tree.writer import blocking_parent, write_atomic

NAME = re.compile(names.MODEL_NAME.pattern)

MODEL_TEMPLATE = """\
# yaml-language-server: $schema=../schemas/model.schema.json
# Starter spec written by 'mlgitops new'. Every field: ../schemas/model.schema.json (docs/spec.md in mlgitops).
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata:
  name: {name:<24} # DNS-1035 label (a letter first), equal to this file's name; names every object
  team: {team:<24} # owner: label on every object
spec:
  model:
    version: {version:<19} # always a quoted string ("1.10" is not 1.1)
    # uri: s3://models/{name}/{{version}}/   # where the weights live; {{version}}: each environment's version
    # fetch: {{mountPath: /models}}    # download uri in an init container (storageInitializer in mlgitops.yaml)
  serving:
    image: {image}
    port: 8080                   # the port your server listens on
    resources:
      cpu: {cpu}
      memory: {memory}
      gpu: {gpu:<21} # GPUs per pod; GPU pods get the GPU toleration (resources.gpuType picks which GPU)
    health:
      readiness: /ready          # served only once the model is loaded
      liveness: /healthz         # fails when the process is stuck
{startup}{scaling}    # env: {{LOG_LEVEL: info}}
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
    return MODEL_TEMPLATE.format(name=name, team=team, image=image, gpu=gpu, version=f'"{_version_of(image)}"',
                                 cpu="2" if gpu else "500m", memory="8Gi" if gpu else "1Gi",
                                 startup=GPU_STARTUP if gpu else "", scaling=GPU_SCALING if gpu else CPU_SCALING,
                                 environments="".join(lines))


CPU_SCALING = ("    autoscaling:                 # an HPA owns the pod count (the Deployment has no replicas)\n"
               "      minReplicas: 2\n      maxReplicas: 4\n      targetCPUUtilization: 70\n")
# A GPU model loads for minutes: a startup probe holds liveness off for up to 10 minutes (60 x 10 s), so the
# liveness budget (3 x 20 s) never kills a pod that is still loading (check: liveness-before-load). Its CPU
# says little about its load: the HPA holds requests per second per pod, a Pods metric a metrics adapter
# serves (prometheus-adapter's rule in docs/autoscaling.md turns inference_requests_total into
# inference_requests_per_second).
GPU_STARTUP = ("      startup: {path: /healthz, periodSeconds: 10, failureThreshold: 60}   # up to 600 s to load the "
               "weights\n")
GPU_SCALING = ("    autoscaling:                 # on requests per second per pod (a metrics adapter serves the metric: "
               "docs/autoscaling.md)\n      minReplicas: 2\n      maxReplicas: 4\n      targetRequestsPerSecond: 10\n")


def image_findings(image: str, config: Config) -> list[Finding]:
    """--image checked by the image policies of every environment, as `check` will: one finding per problem,
    naming the environments that refuse it."""
    refused: dict[tuple[str, str, str], list[str]] = {}
    for env in config.environments:
        settings = Settings.for_environment(env.name, env.policies)
        for rule, message, hint in image_problems(image, settings):
            if rule not in settings.disabled:
                refused.setdefault((rule, message, hint), []).append(env.name)
    everywhere = len(config.environments)
    return [Finding(rule, f"--image: {message}" + ("" if len(envs) == everywhere else f" (in {', '.join(envs)})"),
                    hint=hint) for (rule, message, hint), envs in refused.items()]


def new_model(root: Path, config: Config, name: str, image: str, gpu: int, team: str) -> tuple[Path, list[Finding]]:
    if not NAME.match(name) or len(name) > names.MODEL_NAME.max_length:
        raise FatalError(f"'{name}' is not a valid model name",
                         f"use a {names.MODEL_NAME.name} ({names.MODEL_NAME.says}), at most "
                         f"{names.MODEL_NAME.max_length} characters: it names the model's Service")
    path = root / "models" / f"{name}.yaml"
    if path.exists():
        raise FatalError(f"{path.relative_to(root)} already exists", "edit it, or choose another name")
    findings = image_findings(image, config)
    if findings:
        return path, findings
    text = model_text(name, image, gpu, team, config)
    _, findings = parse_model(f"models/{name}.yaml", text.encode(), config)
    if not findings:
        _write(root, path, text)
    return path, findings


def write_file(root: Path, path: Path, text: str) -> None:
    """Write `path` under `root` atomically, or one line naming what is in the way (exit 2)."""
    _write(root, path, text)


def _write(root: Path, path: Path, text: str) -> None:
    """Atomically, or one line naming what is in the way (exit 2), never a traceback."""
    rel = path.relative_to(root).as_posix()
    blocker = blocking_parent(root, rel)
    if blocker is not None:  # a file where a folder belongs, or a symlink (it could lead outside the repository)
        what = "a symlink (it could lead outside the repository)" if (root / blocker).is_symlink() else "not a folder"
        raise FatalError(f"cannot write {rel}: {blocker} is {what}", f"move {root / blocker} away")
    try:
        write_atomic(path, text.encode("utf-8"))
    except OSError as exc:
        raise FatalError(f"cannot write {path}: {exc.strerror or exc}", "make its folder writable") from None


CONFIG_TEMPLATE = """\
# yaml-language-server: $schema=schemas/config.schema.json
# Repository config for mlgitops. Field reference: schemas/config.schema.json.
apiVersion: mlgitops.io/v1alpha1
kind: Config
kubernetesVersion: "1.33.0"      # the schemas manifests are validated against
git:
{git}  branch: main
sync:
  engine: {engine}                # {engine_note}
prometheusOperator: false        # true: emit a ServiceMonitor for models with metrics
monitoring:
  namespace: monitoring          # where Prometheus runs: NetworkPolicies admit it to the metrics ports
  serviceMonitorLabels: {{}}     # what Prometheus selects ServiceMonitors by, e.g. {{release: kube-prometheus-stack}}
ingressController:
  namespace: ingress-nginx       # admitted to the serving port of models with an Ingress
# storageInitializer:            # for model.fetch: the init container that downloads model.uri
#   image: kserve/storage-initializer:v0.15.0
environments:                    # in promotion order; each syncs from clusters/<cluster>/ (default: its name)
- name: dev
  namespace: ml-dev
- name: staging
  namespace: ml-staging
- name: prod
  namespace: ml-prod
"""

ENGINE_NOTES = {**{name: engine.init_note for name, engine in engines.ENGINES.items()},
                engines.BOTH: "objects for both engines; each cluster applies clusters/<cluster>/flux or "
                "clusters/<cluster>/argocd"}


REPO_URL = re.compile(r"[^\s\x00-\x1f\x7f]+\Z")  # as config.schema.json's git.url pattern


def config_text(engine: str, repo_url: str | None) -> str:
    if repo_url:  # quoted: a URL holding '#', ': ' or a leading '*' stays one string
        git = f"  url: {json.dumps(repo_url)}   # where the clusters clone this repository from\n"
    else:
        git = "  # url: https://<git host>/<org>/<repo>.git   # without it, Flux uses the source 'flux bootstrap' made\n"
    return CONFIG_TEMPLATE.format(git=git, engine=engine, engine_note=ENGINE_NOTES[engine])


GITIGNORE = """\
# mlgitops: where old versions kept the cache (never read now) and the lock of a running generate
.mlgitops-cache/
.mlgitops.lock
"""


def check_options(engine: str, repo_url: str | None) -> None:
    """init's options, refused before anything is created."""
    if repo_url is not None:
        _check_repo_url(repo_url)
    if any(e.needs_git_url for e in engines.named(engine)) and not repo_url:
        raise FatalError(f"the {engine} engine needs the repository's URL",
                         "pass --repo-url https://<git host>/<org>/<repo>.git (Argo CD's objects name it)")


def _check_repo_url(repo_url: str) -> None:
    """--repo-url: no credentials (never echoed), no control characters, a URL Flux and Argo CD can clone."""
    masked = url_credentials(repo_url)
    if masked is not None:  # first: the other messages print the URL
        raise FatalError(f"--repo-url {masked} holds credentials: they would be committed in mlgitops.yaml and "
                         "copied into every sync object", "pass the URL without them and give the clusters a Secret "
                         "(Flux: spec.secretRef; Argo CD: a repository credential); revoke the token if it was shared")
    if kind := secret_kind(repo_url):  # never echoed: the message names the kind, not the URL
        raise FatalError(f"--repo-url holds a credential ({kind}): it would be written into mlgitops.yaml and Git",
                         "pass the URL without user:password@; give the clusters the credentials through "
                         "git.secretRef (Flux) or an Argo CD repository Secret")
    if not REPO_URL.match(repo_url):
        raise FatalError(f"--repo-url {repo_url!r} is not a repository URL: it holds a space or a control character",
                         "pass the URL the clusters clone from, e.g. https://<git host>/<org>/<repo>.git")
    if not re.fullmatch(r"(http|https|ssh)://\S+", repo_url):
        scp = re.fullmatch(r"([\w.-]+@)?([\w.-]+):(?!//)(\S+)", repo_url)
        hint = (f"write it as ssh://{scp.group(1) or ''}{scp.group(2)}/{scp.group(3)} (Flux's GitRepository takes "
                "http(s):// or ssh:// URLs)" if scp else "give an http(s):// or ssh:// URL")
        raise FatalError(f"--repo-url {repo_url!r} is not a URL the clusters can clone", hint)


def init_repo(root: Path, engine: str = "flux", repo_url: str | None = None, source: Source | None = None) -> list[str]:
    """Write a new repository's config, schemas, CI workflow, pre-commit config, .gitattributes and README;
    files that exist are left alone (a .gitignore or .gitattributes gains the lines it lacks). Returns what
    was written."""
    from mlgitops import __version__
    from mlgitops.commands import starter_files

    check_options(engine, repo_url)
    written = []
    files = {"mlgitops.yaml": config_text(engine, repo_url), ".gitignore": GITIGNORE,
             ".gitattributes": starter_files.GITATTRIBUTES,
             ".github/workflows/mlgitops.yml": starter_files.workflow(source, __version__),
             ".pre-commit-config.yaml": starter_files.pre_commit(source, __version__),
             "README.md": starter_files.README}
    for name in ("model.schema.json", "config.schema.json"):
        files[f"schemas/{name}"] = resources.files("mlgitops.schemas").joinpath(name).read_text("utf-8")
    for rel, text in files.items():
        if _write_or_complete(root, rel, text):
            written.append(rel)
    models = root / "models"
    try:
        models.mkdir(exist_ok=True)
    except OSError as exc:
        reason = "it is not a folder" if models.exists() else exc.strerror or str(exc)
        raise FatalError(f"cannot create {models}: {reason}") from None
    return written


LINE_FILES = (".gitignore", ".gitattributes")  # a person's file gains the lines it lacks


def _write_or_complete(root: Path, rel: str, text: str) -> bool:
    """Write `rel` unless it exists; an existing line file gains the lines it lacks. True if written."""
    path = root / rel
    if not path.exists():
        _write(root, path, text)
        return True
    if rel not in LINE_FILES:
        return False
    try:
        current = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FatalError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    have = current.splitlines()
    missing = [line for line in text.splitlines() if line and not line.startswith("#") and line not in have]
    if not missing:
        return False
    _write(root, path, current.rstrip("\n") + "\n" + "\n".join(missing) + "\n")
    return True


EXAMPLE_IMAGE = "registry.example.com/ml/example:0.1.0"


def example_model(root: Path, config: Config) -> str | None:
    """models/example.yaml, when models/ holds no spec yet: a first model that generates and checks."""
    if any((root / "models").glob("*.yaml")):
        return None
    path, findings = new_model(root, config, "example", EXAMPLE_IMAGE, 0, "ml")
    assert not findings, findings  # the starter validates by construction (tested)
    return path.relative_to(root).as_posix()

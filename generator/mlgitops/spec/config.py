"""The repository config, mlgitops.yaml: environments, Kubernetes version, GPU scheduling, defaults."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from mlgitops.report.findings import FatalError, Finding, Position
from mlgitops.report.rules import POLICY_RULES
from mlgitops.report.secrets import secret_kind
from mlgitops.spec.document import Document
from mlgitops.spec.repo import CONFIG_FILE, Repo
from mlgitops.spec.types import ConfigData

SCHEMA = "config.schema.json"


@dataclass(frozen=True)
class Environment:
    name: str
    namespace: str
    index: int  # position in mlgitops.yaml, for source pointers
    defaults: dict[str, Any] = field(default_factory=dict)
    policies: dict[str, Any] = field(default_factory=dict)
    cluster: str = ""  # clusters/<cluster>/ holds its sync objects; default: the environment's name
    quota: dict[str, Any] = field(default_factory=dict)
    limit_range: dict[str, Any] = field(default_factory=dict)
    scheduling: dict[str, Any] = field(default_factory=dict)  # priorityClassName, gpuRuntimeClassName
    gpu_hour_budget: float | None = None  # most GPU-hours one training run or sweep may cost here
    pod_security: str = "restricted"  # the Pod Security Standard its namespace enforces (audit, warn: restricted)


@dataclass(frozen=True)
class Config:
    path: str
    data: ConfigData
    doc: Document
    raw: bytes

    @functools.cached_property  # read for every object of every model: built once
    def environments(self) -> tuple[Environment, ...]:
        return tuple(Environment(e["name"], e["namespace"], i, e.get("defaults", {}), e.get("policies", {}),
                                 e.get("cluster", e["name"]), e.get("quota", {}), e.get("limitRange", {}),
                                 e.get("scheduling", {}), e.get("gpuHourBudget"), e.get("podSecurity", "restricted"))
                     for i, e in enumerate(self.data["environments"]))

    def environment(self, name: str) -> Environment:
        return next(e for e in self.environments if e.name == name)

    @property
    def env_names(self) -> list[str]:
        return [e.name for e in self.environments]

    @property
    def kubernetes_version(self) -> str:
        """MAJOR.MINOR.PATCH: a minor alone ("1.30") is its newest release with shipped schemas."""
        from mlgitops.kube import schemas as kubeschemas

        return kubeschemas.full_version(self.data["kubernetesVersion"])

    @property
    def kubernetes_minor(self) -> int:
        return int(self.kubernetes_version.split(".")[1])

    @property
    def gpu(self) -> dict[str, Any]:
        return self.data["gpu"]

    @property
    def prometheus_operator(self) -> bool:
        return self.data["prometheusOperator"]

    @property
    def training(self) -> dict[str, Any]:
        return self.data["training"]

    @property
    def sync(self) -> dict[str, Any]:
        return self.data["sync"]

    @property
    def git(self) -> dict[str, Any]:
        return self.data["git"]

    @property
    def defaults(self) -> dict[str, Any]:
        return self.data.get("defaults", {})

    @property
    def monitoring(self) -> dict[str, Any]:
        return self.data["monitoring"]

    @property
    def ingress_controller(self) -> dict[str, Any]:
        return self.data["ingressController"]

    @property
    def storage_initializer(self) -> dict[str, Any] | None:
        return self.data.get("storageInitializer")


def parse_config(path: str, raw: bytes) -> tuple[Config | None, list[Finding]]:
    # imported here: a Config rebuilt from memo() (an unchanged generate) needs no YAML parser nor schema check
    from mlgitops.spec import yamlsource
    from mlgitops.spec.defaults import fill_defaults
    from mlgitops.spec.schema import SchemaCheck, holds_float, load_schema

    doc, findings = yamlsource.load(path, raw)
    if doc is None or findings:
        return None, findings

    def locate(pointer: str, key: bool) -> Any:
        return path, doc.position(pointer, key)

    findings = SchemaCheck(SCHEMA).run(doc.data, locate, doc.plain.get, holds_float(doc.plain))
    if findings:
        return None, findings
    findings += (_version_findings(path, doc) + _environment_findings(path, doc) + _sync_findings(path, doc)
                 + _url_findings(path, doc))
    names = [e["name"] for e in doc.data["environments"]]
    for i, name in enumerate(names):
        if name in names[:i]:
            findings.append(Finding("duplicate-environment", f"environment '{name}' is defined twice", path,
                                    doc.position(f"/environments/{i}/name")))
    if findings:
        return None, findings
    data = fill_defaults(load_schema(SCHEMA), doc.data)
    return Config(path, data, doc, raw), []


def _version_findings(path: str, doc: Document) -> list[Finding]:
    from mlgitops.kube import schemas as kubeschemas

    version = doc.data.get("kubernetesVersion")
    if version is None:
        return []
    try:
        kubeschemas.schema_version(version)
    except FatalError:
        known = ", ".join(kubeschemas.available_versions())
        return [Finding("schema", f"no Kubernetes schemas for version {version}", path,
                        doc.position("/kubernetesVersion"), f"choose one of {known} (or its minor, e.g. \"1.33\")")]
    return []


_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<userinfo>[^/?#@]*)@")


def url_credentials(url: str) -> str | None:
    """The URL with its credentials masked when it holds any (`https://user:token@host`, `https://token@host`,
    `ssh://user:password@host`), else None. `ssh://git@host` names a user, not a secret: it passes."""
    match = _USERINFO.match(url)
    if not match:
        return None
    userinfo = match.group("userinfo")
    if match.group("scheme").lower() == "ssh" and ":" not in userinfo:
        return None
    return f"{match.group('scheme')}://***@{url[match.end():]}"


def _url_findings(path: str, doc: Document) -> list[Finding]:
    url = (doc.data.get("git") or {}).get("url")
    masked = url_credentials(url) if isinstance(url, str) else None
    if masked is None:
        return []
    return [Finding("url-credentials", f"git.url holds credentials ({masked}): they would be committed and copied "
                    "into every GitRepository or Application", path, doc.position("/git/url"),
                    "remove them from the URL, revoke them, and give the clusters a Secret "
                    "(Flux: spec.secretRef; Argo CD: a repository credential)")]


def _sync_findings(path: str, doc: Document) -> list[Finding]:
    url = (doc.data.get("git") or {}).get("url")
    if kind := secret_kind(url):  # the URL is copied into every GitRepository and Application: never a password
        return [Finding("secret-in-value", f"git.url holds a credential ({kind}): it is written into clusters/ and "
                        "Git", path, doc.position("/git/url"), "write the URL without user:password@ and give the "
                        "credentials to the engine: git.secretRef (Flux) or an Argo CD repository Secret")]
    engine = (doc.data.get("sync") or {}).get("engine", "flux")
    if engine in ("argocd", "both") and not (doc.data.get("git") or {}).get("url"):
        return [Finding("sync-source", f"sync engine '{engine}' needs the repository's URL: Argo CD's "
                        "ApplicationSets and AppProjects name it", path, doc.position("/sync/engine"),
                        "add git: {url: https://<git host>/<org>/<repo>.git, branch: main}")]
    return []


def _environment_findings(path: str, doc: Document) -> list[Finding]:
    found = []
    namespaces: dict[str, int] = {}
    for i, env in enumerate(doc.data["environments"]):
        if env["namespace"] in namespaces:
            other = doc.data["environments"][namespaces[env["namespace"]]]["name"]
            found.append(Finding("schema", f"environments '{other}' and '{env['name']}' share the namespace "
                                 f"'{env['namespace']}'", path, doc.position(f"/environments/{i}/namespace"),
                                 "give each environment its own namespace: their objects have the same names"))
        namespaces.setdefault(env["namespace"], i)
        policies = env.get("policies", {})
        pattern = policies.get("immutableTagPattern")
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                found.append(Finding("schema", f"immutableTagPattern is not a valid regular expression: {exc}", path,
                                     doc.position(f"/environments/{i}/policies/immutableTagPattern")))
        for j, rule in enumerate(policies.get("disabled", [])):
            if rule not in POLICY_RULES:
                found.append(Finding("schema", f"unknown policy rule '{rule}'", path,
                                     doc.position(f"/environments/{i}/policies/disabled/{j}"),
                                     f"policy rules: {', '.join(sorted(POLICY_RULES))}"))
    return found


Memo = tuple[Any, Any, dict[str, tuple[int, int]], dict[str, tuple[int, int]], dict[str, str]]


def memo(config: Config) -> Memo:
    """A valid config as plain data (marshal can keep it): from_memo(path, raw, memo(c)) is c again."""
    doc = config.doc
    return (config.data, doc.data, {p: (v.line, v.col) for p, v in doc.values.items()},
            {p: (k.line, k.col) for p, k in doc.keys.items()}, doc.plain)


def is_memo(found: object) -> bool:
    """The shape memo() makes (a cache entry is signed by this machine: only a stale format is checked for)."""
    return isinstance(found, tuple) and len(found) == 5 and all(isinstance(t, dict) for t in found[2:])


def from_memo(path: str, raw: bytes, found: Memo) -> Config:
    data, plain_data, values, keys, plain = found
    doc = Document(path, plain_data, {p: Position(*v) for p, v in values.items()},
                   {p: Position(*k) for p, k in keys.items()}, plain)
    return Config(path, data, doc, raw)


def load_config(repo: Repo) -> tuple[Config | None, list[Finding]]:
    raw, findings = repo.read_input(repo.root / CONFIG_FILE)
    if raw is None:
        return None, findings
    return parse_config(CONFIG_FILE, raw)

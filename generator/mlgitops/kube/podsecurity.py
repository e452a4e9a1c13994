"""The Pod Security Standards as Kubernetes' admission evaluates them, control by control and version by version.

A port of the checks of kubernetes/pod-security-admission (policy/check_*.go at commit 8f84a87c, the
library the API server's PodSecurity plugin runs): each control has a level (`baseline`, or `restricted`,
which includes baseline) and versions, each applying from a minimum Kubernetes minor until the next; a
restricted control may override a baseline one (policy/checks.go: `OverrideCheckIDs`). Evaluating a pod
at a level and version runs, for every control of that level and below, the version in force, and says
why each forbidden control forbids the pod in upstream's words (`ForbiddenReason`, `ForbiddenDetail`).
Pure: a pod spec and its metadata in, problems out; malformed fields (the schema check reports them) are
read as absent, never a crash. tests/cases/pod-security/ holds upstream's fixtures, each with its verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

LEVELS = ("privileged", "baseline", "restricted")


@dataclass(frozen=True)
class Problem:
    control: str  # upstream's check id: capabilities_restricted, hostPorts, ...
    reason: str  # upstream's ForbiddenReason: "unrestricted capabilities"
    detail: str  # upstream's ForbiddenDetail: 'container "c" must not include "SYS_ADMIN" in ...'
    pointer: str  # JSON pointer into the pod template (/spec/containers/0/securityContext/capabilities/add)

    def text(self) -> str:
        return f"{self.reason} ({self.detail})" if self.detail else self.reason


Pod = dict[str, Any]  # {"metadata": {...}, "spec": {...}}: a Pod or a pod template
Found = tuple[str, str, str] | None  # (reason, detail, pointer), or None when the control allows the pod


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _quote(items: Any) -> str:
    return ", ".join(f'"{i}"' for i in items)


def _plural(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def _containers(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(pointer, container) of every init, regular and ephemeral container (policy/visitor.go)."""
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for i, container in enumerate(_l(spec.get(group))):
            if isinstance(container, dict):
                yield f"/spec/{group}/{i}", container


def _name(container: dict[str, Any]) -> str:
    return _s(container.get("name"))


def _sc(container: dict[str, Any]) -> dict[str, Any]:
    return _d(container.get("securityContext"))


def _windows(spec: dict[str, Any]) -> bool:
    return _d(spec.get("os")).get("name") == "windows"


def _user_namespace(spec: dict[str, Any]) -> bool:
    """helpers.go relaxPolicyForUserNamespacePod: hostUsers: false."""
    return spec.get("hostUsers") is False


def _setters(pod_bad: bool, containers: list[str]) -> list[str]:
    out = ["pod"] if pod_bad else []
    if containers:
        out.append(f"{_plural('container', 'containers', len(containers))} {_quote(containers)}")
    return out


def _first(pointers: list[str]) -> str:
    return pointers[0] if pointers else "/spec"


# --- baseline -------------------------------------------------------------------------------------------------

def host_namespaces(pod: Pod) -> Found:
    spec = _d(pod.get("spec"))
    used = [f"{k}=true" for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k) is True]
    first = next((k for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k) is True), "")
    return ("host namespaces", ", ".join(used), f"/spec/{first}") if used else None


def privileged(pod: Pod) -> Found:
    bad = [(p, _name(c)) for p, c in _containers(_d(pod.get("spec"))) if _sc(c).get("privileged") is True]
    if not bad:
        return None
    names = [n for _, n in bad]
    return ("privileged", (f"{_plural('container', 'containers', len(names))} {_quote(names)} must not set "
            "securityContext.privileged=true"), f"{bad[0][0]}/securityContext/privileged")


BASELINE_CAPABILITIES = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                                   "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})


def capabilities_baseline(pod: Pod) -> Found:
    names, added, pointers = [], set(), []
    for path, c in _containers(_d(pod.get("spec"))):
        extra = {_s(a) for a in _l(_d(_sc(c).get("capabilities")).get("add"))} - BASELINE_CAPABILITIES
        if extra:
            names.append(_name(c))
            added |= extra
            pointers.append(f"{path}/securityContext/capabilities/add")
    if not names:
        return None
    return ("non-default capabilities", (f"{_plural('container', 'containers', len(names))} {_quote(names)} must "
            f"not include {_quote(sorted(added))} in securityContext.capabilities.add"), _first(pointers))


def host_path_volumes(pod: Pod) -> Found:
    volumes = [(i, v) for i, v in enumerate(_l(_d(pod.get("spec")).get("volumes")))
               if isinstance(v, dict) and v.get("hostPath") is not None]
    if not volumes:
        return None
    names = [_s(v.get("name")) for _, v in volumes]
    return ("hostPath volumes", f"{_plural('volume', 'volumes', len(names))} {_quote(names)}",
            f"/spec/volumes/{volumes[0][0]}/hostPath")


def _host_port(port: Any) -> bool:
    return isinstance(port, int) and not isinstance(port, bool) and port != 0


def host_ports(pod: Pod) -> Found:
    names, ports, pointers = [], set(), []
    for path, c in _containers(_d(pod.get("spec"))):
        used = [(i, p["hostPort"]) for i, p in enumerate(_l(c.get("ports")))
                if isinstance(p, dict) and _host_port(p.get("hostPort"))]
        if used:
            names.append(_name(c))
            ports |= {str(port) for _, port in used}
            pointers.append(f"{path}/ports/{used[0][0]}/hostPort")
    if not names:
        return None
    return ("hostPort", (f"{_plural('container', 'containers', len(names))} {_quote(names)} "
            f"{_plural('uses', 'use', len(names))} {_plural('hostPort', 'hostPorts', len(ports))} "
            f"{', '.join(sorted(ports))}"), _first(pointers))


def _handler_hosts(handler: Any, at: str) -> list[tuple[str, str]]:
    handler = _d(handler)
    return [(_s(_d(handler.get(kind)).get("host")), f"{at}/{kind}/host") for kind in ("httpGet", "tcpSocket")
            if _s(_d(handler.get(kind)).get("host"))]


def host_probes(pod: Pod) -> Found:
    """v1.34+: probes and lifecycle handlers may not name a host (check_hostProbesAndhostLifecycle.go)."""
    names, hosts, pointers = [], set(), []
    for path, c in _containers(_d(pod.get("spec"))):
        found = [h for probe in ("livenessProbe", "readinessProbe", "startupProbe")
                 for h in _handler_hosts(c.get(probe), f"{path}/{probe}")]
        lifecycle = _d(c.get("lifecycle"))
        found += [h for hook in ("postStart", "preStop")
                  for h in _handler_hosts(lifecycle.get(hook), f"{path}/lifecycle/{hook}")]
        if found:
            names.append(_name(c))
            hosts |= {host for host, _ in found}
            pointers.append(found[0][1])
    if not names:
        return None
    return ("probe or lifecycle host", (f"{_plural('container', 'containers', len(names))} {_quote(names)} "
            f"{_plural('uses', 'use', len(names))} {_plural('probe or lifecycle host', 'probe or lifecycle hosts', len(hosts))} "
            f"{_quote(sorted(hosts))}"), _first(pointers))


APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def _apparmor_allowed(profile: Any) -> bool:
    return _d(profile).get("type") in ("RuntimeDefault", "Localhost")


def app_armor(pod: Pod) -> Found:
    spec = _d(pod.get("spec"))
    pod_profile = _d(spec.get("securityContext")).get("appArmorProfile")
    pod_bad = pod_profile is not None and not _apparmor_allowed(pod_profile)
    values = {_s(_d(pod_profile).get("type"))} if pod_bad else set()
    names, pointers = [], ["/spec/securityContext/appArmorProfile"] if pod_bad else []
    for path, c in _containers(spec):
        profile = _sc(c).get("appArmorProfile")
        if profile is not None and not _apparmor_allowed(profile):
            names.append(_name(c))
            values.add(_s(_d(profile).get("type")))
            pointers.append(f"{path}/securityContext/appArmorProfile")
    annotations = _d(_d(pod.get("metadata")).get("annotations"))
    forbidden = sorted(f'{k}="{v}"' for k, v in annotations.items() if isinstance(k, str)
                       and k.startswith(APPARMOR_ANNOTATION) and not _annotation_allowed(v))
    setters = _setters(pod_bad, names)
    if forbidden:
        setters.append(_plural("annotation", "annotations", len(forbidden)))
        pointers.append("/metadata/annotations")
    if not setters:
        return None
    values_list = sorted(values) + forbidden
    return (_plural("forbidden AppArmor profile", "forbidden AppArmor profiles", len(values_list)),
            f"{' and '.join(setters)} must not set AppArmor profile type to {_quote(values_list)}", pointers[0])


def _annotation_allowed(value: Any) -> bool:
    value = _s(value)
    return not value or value == "runtime/default" or value.startswith("localhost/")


SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
SELINUX_TYPES_1_31 = SELINUX_TYPES | {"container_engine_t"}


def _selinux_problems(options: dict[str, Any], allowed: frozenset[str]) -> tuple[set[str], bool, bool]:
    kind = _s(options.get("type"))
    return ({kind} if kind not in allowed else set()), bool(_s(options.get("user"))), bool(_s(options.get("role")))


def _selinux(allowed: frozenset[str]) -> Callable[[Pod], Found]:
    def check(pod: Pod) -> Found:
        spec = _d(pod.get("spec"))
        places: list[tuple[str, str | None, object]] = [
            ("/spec/securityContext", None, _d(spec.get("securityContext")).get("seLinuxOptions"))]
        places += [(f"{p}/securityContext", _name(c), _sc(c).get("seLinuxOptions")) for p, c in _containers(spec)]
        types: set[str] = set()
        names: list[str] = []
        pointers: list[str] = []
        user = role = pod_bad = False
        for at, name, options in places:
            if options is None:
                continue
            bad_types, set_user, set_role = _selinux_problems(_d(options), allowed)
            if not (bad_types or set_user or set_role):
                continue
            types, user, role = types | bad_types, user or set_user, role or set_role
            pointers.append(f"{at}/seLinuxOptions")
            pod_bad, names = (True, names) if name is None else (pod_bad, [*names, name])
        if not pointers:
            return None
        data = [f"{_plural('type', 'types', len(types))} {_quote(sorted(types))}"] if types else []
        data += ["user may not be set"] * user + ["role may not be set"] * role
        return ("seLinuxOptions", (f"{' and '.join(_setters(pod_bad, names))} set forbidden "
                f"securityContext.seLinuxOptions: {'; '.join(data)}"), pointers[0])
    return check


def _proc_mount(pod: Pod) -> Found:
    names, kinds, pointers = [], set(), []
    for path, c in _containers(_d(pod.get("spec"))):
        mount = _sc(c).get("procMount")
        if mount is not None and mount != "Default":
            names.append(_name(c))
            kinds.add(_s(mount))
            pointers.append(f"{path}/securityContext/procMount")
    if not names:
        return None
    return ("procMount", (f"{_plural('container', 'containers', len(names))} {_quote(names)} must not set "
            f"securityContext.procMount to {_quote(sorted(kinds))}"), _first(pointers))


def _relaxed_in_user_namespace(check: Callable[[Pod], Found]) -> Callable[[Pod], Found]:
    """The v1.35 versions of procMount (baseline), runAsNonRoot and runAsUser: any value under hostUsers: false."""
    return lambda pod: None if _user_namespace(_d(pod.get("spec"))) else check(pod)


def _seccomp_valid(profile: Any) -> bool:
    return _d(profile).get("type") in ("RuntimeDefault", "Localhost")


def _seccomp_explicit(spec: dict[str, Any]) -> tuple[bool, list[str], set[str], list[str]]:
    """(pod set a bad type, containers that did, the bad types, pointers) for seccomp profiles set explicitly."""
    pod_profile = _d(spec.get("securityContext")).get("seccompProfile")
    pod_bad = pod_profile is not None and not _seccomp_valid(pod_profile)
    values = {_s(_d(pod_profile).get("type"))} if pod_bad else set()
    names, pointers = [], ["/spec/securityContext/seccompProfile"] if pod_bad else []
    for path, c in _containers(spec):
        profile = _sc(c).get("seccompProfile")
        if profile is not None and not _seccomp_valid(profile):
            names.append(_name(c))
            values.add(_s(_d(profile).get("type")))
            pointers.append(f"{path}/securityContext/seccompProfile")
    return pod_bad, names, values, pointers


def seccomp_baseline(pod: Pod) -> Found:
    pod_bad, names, values, pointers = _seccomp_explicit(_d(pod.get("spec")))
    if not pointers:
        return None
    return ("seccompProfile", (f"{' and '.join(_setters(pod_bad, names))} must not set "
            f"securityContext.seccompProfile.type to {_quote(sorted(values))}"), pointers[0])


SECCOMP_ANNOTATION_POD = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_ANNOTATION_CONTAINER = "container.seccomp.security.alpha.kubernetes.io/"


def seccomp_baseline_annotations(pod: Pod) -> Found:
    """Before v1.19 seccomp was set by annotations (check_seccompProfile_baseline.go, seccompProfileBaseline_1_0)."""
    annotations = _d(_d(pod.get("metadata")).get("annotations"))
    keys = [SECCOMP_ANNOTATION_POD] + [SECCOMP_ANNOTATION_CONTAINER + _name(c) for _, c in
                                       _containers(_d(pod.get("spec")))]
    bad = sorted({f'{k}="{annotations[k]}"' for k in keys if k in annotations and not (
        annotations[k] in ("runtime/default", "docker/default") or _s(annotations[k]).startswith("localhost/"))})
    if not bad:
        return None
    return ("seccompProfile", f"forbidden {_plural('annotation', 'annotations', len(bad))} {', '.join(bad)}",
            "/metadata/annotations")


SYSCTLS = {
    (1, 0): frozenset({"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
                       "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"}),
    (1, 27): frozenset({"net.ipv4.ip_local_reserved_ports"}),
    (1, 29): frozenset({"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                        "net.ipv4.tcp_keepalive_probes"}),
    (1, 32): frozenset({"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}),
    (1, 37): frozenset({"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"}),
}


def safe_sysctls(version: tuple[int, int]) -> frozenset[str]:
    """The sysctls baseline allows at a version: each version's list adds to the one before."""
    return frozenset().union(*(names for since, names in SYSCTLS.items() if since <= version))


def _sysctls(allowed: frozenset[str]) -> Callable[[Pod], Found]:
    def check(pod: Pod) -> Found:
        entries = _l(_d(_d(pod.get("spec")).get("securityContext")).get("sysctls"))
        bad = [(i, _s(e.get("name"))) for i, e in enumerate(entries)
               if isinstance(e, dict) and e.get("name") not in allowed]
        if not bad:
            return None
        return ("forbidden sysctls", ", ".join(n for _, n in bad), f"/spec/securityContext/sysctls/{bad[0][0]}/name")
    return check


def windows_host_process(pod: Pod) -> Found:
    spec = _d(pod.get("spec"))
    pod_bad = _d(_d(spec.get("securityContext")).get("windowsOptions")).get("hostProcess") is True
    bad = [(p, _name(c)) for p, c in _containers(spec) if _d(_sc(c).get("windowsOptions")).get("hostProcess") is True]
    if not (pod_bad or bad):
        return None
    pointer = "/spec/securityContext/windowsOptions/hostProcess" if pod_bad else \
        f"{bad[0][0]}/securityContext/windowsOptions/hostProcess"
    return ("hostProcess", (f"{' and '.join(_setters(pod_bad, [n for _, n in bad]))} must not set "
            "securityContext.windowsOptions.hostProcess=true"), pointer)


# --- restricted -----------------------------------------------------------------------------------------------

ALLOWED_VOLUMES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim",
                   "projected", "secret")
KNOWN_VOLUMES = ("hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs",
                 "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte",
                 "azureDisk", "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos")


def _volume_type(volume: dict[str, Any]) -> str | None:
    """None for an allowed volume, else its restricted type (upstream's switch, in its order). A volume with no
    source is an emptyDir: the API server defaults it so (pkg/apis/core/v1/defaults.go, SetDefaults_Volume)."""
    sources = [k for k, v in volume.items() if k != "name" and v is not None]
    if not sources or any(volume.get(k) is not None for k in ALLOWED_VOLUMES):
        return None
    return next((k for k in KNOWN_VOLUMES if volume.get(k) is not None), "unknown")


def restricted_volumes(pod: Pod) -> Found:
    bad = [(i, _s(v.get("name")), kind) for i, v in enumerate(_l(_d(pod.get("spec")).get("volumes")))
           if isinstance(v, dict) and (kind := _volume_type(v))]
    if not bad:
        return None
    names, kinds = [n for _, n, _ in bad], sorted({k for _, _, k in bad})
    return ("restricted volume types", (f"{_plural('volume', 'volumes', len(names))} {_quote(names)} "
            f"{_plural('uses', 'use', len(names))} "
            f"{_plural('restricted volume type', 'restricted volume types', len(kinds))} {_quote(kinds)}"),
            f"/spec/volumes/{bad[0][0]}")


def _not_windows(check: Callable[[Pod], Found]) -> Callable[[Pod], Found]:
    """The v1.25 versions of allowPrivilegeEscalation, capabilities and seccomp: Windows pods are exempt."""
    return lambda pod: None if _windows(_d(pod.get("spec"))) else check(pod)


def allow_privilege_escalation(pod: Pod) -> Found:
    bad = [(p, _name(c)) for p, c in _containers(_d(pod.get("spec")))
           if _sc(c).get("allowPrivilegeEscalation") is not False]
    if not bad:
        return None
    names = [n for _, n in bad]
    return ("allowPrivilegeEscalation != false", (f"{_plural('container', 'containers', len(names))} {_quote(names)} "
            "must set securityContext.allowPrivilegeEscalation=false"), f"{bad[0][0]}/securityContext")


def capabilities_restricted(pod: Pod) -> Found:
    missing, adding, added, pointers = [], [], set(), []
    for path, c in _containers(_d(pod.get("spec"))):
        caps = _d(_sc(c).get("capabilities"))
        if "ALL" not in _l(caps.get("drop")):
            missing.append(_name(c))
            pointers.append(f"{path}/securityContext")
        extra = {_s(a) for a in _l(caps.get("add"))} - {"NET_BIND_SERVICE"}
        if extra:
            adding.append(_name(c))
            added |= extra
            pointers.append(f"{path}/securityContext/capabilities/add")
    details = [(f"{_plural('container', 'containers', len(missing))} {_quote(missing)} must set "
               'securityContext.capabilities.drop=["ALL"]')] if missing else []
    if adding:
        details.append(f"{_plural('container', 'containers', len(adding))} {_quote(adding)} must not include "
                       f"{_quote(sorted(added))} in securityContext.capabilities.add")
    return ("unrestricted capabilities", "; ".join(details), pointers[-1] if adding else pointers[0]) if details \
        else None


def run_as_non_root(pod: Pod) -> Found:
    spec = _d(pod.get("spec"))
    pod_value = _d(spec.get("securityContext")).get("runAsNonRoot")
    explicit, implicit, pointers = [], [], []
    for path, c in _containers(spec):
        value = _sc(c).get("runAsNonRoot")
        if value is False:
            explicit.append(_name(c))
            pointers.append(f"{path}/securityContext/runAsNonRoot")
        elif value is None and pod_value is not True:
            implicit.append(_name(c))
    setters = _setters(pod_value is False, explicit)
    if setters:
        first = "/spec/securityContext/runAsNonRoot" if pod_value is False else pointers[0]
        return ("runAsNonRoot != true", f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false",
                first)
    if implicit:
        return ("runAsNonRoot != true", (f"pod or {_plural('container', 'containers', len(implicit))} "
                f"{_quote(implicit)} must set securityContext.runAsNonRoot=true"), "/spec/securityContext")
    return None


def _root(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value == 0


def run_as_user(pod: Pod) -> Found:
    spec = _d(pod.get("spec"))
    pod_bad = _root(_d(spec.get("securityContext")).get("runAsUser"))
    bad = [(p, _name(c)) for p, c in _containers(spec) if _root(_sc(c).get("runAsUser"))]
    if not (pod_bad or bad):
        return None
    pointer = "/spec/securityContext/runAsUser" if pod_bad else f"{bad[0][0]}/securityContext/runAsUser"
    return ("runAsUser=0", f"{' and '.join(_setters(pod_bad, [n for _, n in bad]))} must not set runAsUser=0",
            pointer)


def seccomp_restricted(pod: Pod) -> Found:
    spec = _d(pod.get("spec"))
    pod_bad, names, values, pointers = _seccomp_explicit(spec)
    if pointers:
        return ("seccompProfile", (f"{' and '.join(_setters(pod_bad, names))} must not set "
                f"securityContext.seccompProfile.type to {_quote(sorted(values))}"), pointers[0])
    if _d(spec.get("securityContext")).get("seccompProfile") is not None:
        return None  # the pod's valid profile covers containers that set none
    unset = [_name(c) for _, c in _containers(spec) if _sc(c).get("seccompProfile") is None]
    if not unset:
        return None
    return ("seccompProfile", (f"pod or {_plural('container', 'containers', len(unset))} {_quote(unset)} must set "
            'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"'), "/spec/securityContext")


# --- the registry (policy/check_*.go: ID, Level, Versions[MinimumVersion, CheckPod, OverrideCheckIDs]) -----------

@dataclass(frozen=True)
class Version:
    since: tuple[int, int]
    check: Callable[[Pod], Found]
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class Control:
    id: str
    level: str
    versions: tuple[Version, ...]

    def at(self, version: tuple[int, int]) -> Version | None:
        """The version of this control in force at a Kubernetes minor (none before the first one)."""
        return next((v for v in reversed(self.versions) if v.since <= version), None)


def _sysctl_versions() -> tuple[Version, ...]:
    return tuple(Version(since, _sysctls(safe_sysctls(since))) for since in SYSCTLS)


CONTROLS = (
    Control("appArmorProfile", "baseline", (Version((1, 0), app_armor),)),
    Control("capabilities_baseline", "baseline", (Version((1, 0), capabilities_baseline),)),
    Control("hostNamespaces", "baseline", (Version((1, 0), host_namespaces),)),
    Control("hostPathVolumes", "baseline", (Version((1, 0), host_path_volumes),)),
    Control("hostPorts", "baseline", (Version((1, 0), host_ports),)),
    Control("hostProbesAndHostLifecycle", "baseline", (Version((1, 34), host_probes),)),
    Control("privileged", "baseline", (Version((1, 0), privileged),)),
    Control("procMount", "baseline", (Version((1, 0), _proc_mount),
                                      Version((1, 35), _relaxed_in_user_namespace(_proc_mount)))),
    Control("seLinuxOptions", "baseline", (Version((1, 0), _selinux(SELINUX_TYPES)),
                                           Version((1, 31), _selinux(SELINUX_TYPES_1_31)))),
    Control("seccompProfile_baseline", "baseline", (Version((1, 0), seccomp_baseline_annotations),
                                                    Version((1, 19), seccomp_baseline))),
    Control("sysctls", "baseline", _sysctl_versions()),
    Control("windowsHostProcess", "baseline", (Version((1, 0), windows_host_process),)),
    Control("allowPrivilegeEscalation", "restricted", (Version((1, 8), allow_privilege_escalation),
                                                       Version((1, 25), _not_windows(allow_privilege_escalation)))),
    Control("capabilities_restricted", "restricted", (
        Version((1, 22), capabilities_restricted, ("capabilities_baseline",)),
        Version((1, 25), _not_windows(capabilities_restricted), ("capabilities_baseline",)))),
    Control("procMount_restricted", "restricted", (Version((1, 35), _proc_mount, ("procMount",)),)),
    Control("restrictedVolumes", "restricted", (Version((1, 0), restricted_volumes, ("hostPathVolumes",)),)),
    Control("runAsNonRoot", "restricted", (Version((1, 0), run_as_non_root),
                                           Version((1, 35), _relaxed_in_user_namespace(run_as_non_root)))),
    Control("runAsUser", "restricted", (Version((1, 23), run_as_user),
                                        Version((1, 35), _relaxed_in_user_namespace(run_as_user)))),
    Control("seccompProfile_restricted", "restricted", (
        Version((1, 19), seccomp_restricted, ("seccompProfile_baseline",)),
        Version((1, 25), _not_windows(seccomp_restricted), ("seccompProfile_baseline",)))),
)


def minor(version: str) -> tuple[int, int]:
    """(1, 33) from "1.33", "v1.33" or "1.33.0"."""
    major, minor_, *_ = [*version.lstrip("v").split("."), "0"]
    return int(major), int(minor_)


def controls(level: str, version: tuple[int, int]) -> list[tuple[str, Version]]:
    """The controls a level enforces at a version, each in its version in force, overridden ones left out."""
    wanted = LEVELS[1:LEVELS.index(level) + 1] if level in LEVELS else LEVELS[1:]
    chosen = [(c.id, v) for c in CONTROLS if c.level in wanted and (v := c.at(version)) is not None]
    overridden = {o for _, v in chosen for o in v.overrides}
    return [(cid, v) for cid, v in chosen if cid not in overridden]


def evaluate(pod: Pod, level: str, version: tuple[int, int] | str) -> list[Problem]:
    """Every control a pod (or pod template: {"metadata", "spec"}) breaks at a level and Kubernetes version;
    empty when admission allows it. `privileged` allows everything."""
    if level == "privileged":
        return []
    at = minor(version) if isinstance(version, str) else version
    out = []
    for control, versioned in controls(level, at):
        found = versioned.check(pod)
        if found:
            out.append(Problem(control, *found))
    return out

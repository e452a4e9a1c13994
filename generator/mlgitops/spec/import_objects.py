"""`mlgitops import`'s input: manifests as objects that know where they were written.

A stream's documents (kube/manifests.py, split the way kubeconform splits them) become `Obj`s: a `List` (what
`kubectl get -o yaml` prints) gives one per item. Each `Obj` turns a JSON pointer inside itself into the
input's `file:line:col` through the exact reader (kube/yamlexact.py), so every finding of the importer points at
what it is about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlgitops.kube import yamlexact
from mlgitops.kube.manifests import Document, positions
from mlgitops.report.findings import Finding, Position, Severity

DROPPED = "import-dropped"
CHANGED = "import-changed"
# Annotations mlgitops, Helm, kubectl or a controller write: never carried into a spec.
OWN_ANNOTATIONS = ("mlgitops.io/", "meta.helm.sh/", "kubectl.kubernetes.io/", "deployment.kubernetes.io/")


@dataclass
class Obj:
    """One Kubernetes object of the input, with where it was written."""

    data: dict[str, Any]
    doc: Document
    prefix: str = ""  # the pointer of the object inside its document ("/items/3" in a List)
    exact: yamlexact.Exact | None = field(default=None, repr=False)
    used: set[str] = field(default_factory=set, repr=False)  # pointers mapped or reported (with what is below)
    reported: set[str] = field(default_factory=set, repr=False)  # pointers a finding names (with what is below)

    def reported_with(self, *pointers: str) -> None:
        """Record fields as reported by a finding about another field (a mount, with its refused volume)."""
        self.used.update(pointers)
        self.reported.update(pointers)

    def use(self, *pointers: str) -> None:
        """Record that these fields (and everything below them) are carried over or reported."""
        self.used.update(pointers)

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def name(self) -> str:
        meta = self.data.get("metadata")
        return str(meta.get("name", "")) if isinstance(meta, dict) else ""

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    def get(self, *path: str | int) -> Any:
        return dig(self.data, *path)

    def position(self, pointer: str) -> Position:
        """Where the value at pointer (inside this object) starts, else its nearest written parent."""
        if self.exact is None:
            self.exact = positions(self.doc, strict=False) or yamlexact.Exact(None)
        full = self.prefix + pointer
        while True:
            if full in self.exact.positions:
                line, col = self.exact.positions[full]
                return Position(self.doc.text_line + line, col + 1)
            if not full:
                return Position(self.doc.line, 1)  # the document itself: its first column
            full = full.rsplit("/", 1)[0]

    def finding(self, rule: str, pointer: str, message: str, hint: str = "",
                severity: Severity = Severity.WARNING, covers: bool = True) -> Finding:
        """A finding about the field at pointer; it then counts as reported (`covers`), unless the finding is
        about the object as a whole rather than that field."""
        if covers and pointer:
            self.used.add(pointer)
            self.reported.add(pointer)
        return Finding(rule, message, self.doc.source, self.position(pointer), hint, severity, self.ref)


def pointer(*steps: str | int) -> str:
    """A JSON pointer (RFC 6901) of steps: `pointer("metadata", "labels", "app.kubernetes.io/name")`."""
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in steps)


def steps(at: str) -> list[str]:
    """A JSON pointer's steps, unescaped (`steps(pointer(*path))` is path as strings; dig reads a digit
    step as a list index)."""
    return [s.replace("~1", "/").replace("~0", "~") for s in at[1:].split("/")] if at else []


# What the API server writes into an object (`kubectl get -o yaml`), never part of what a team deploys.
SERVER_SET = ("/status", "/metadata/uid", "/metadata/resourceVersion", "/metadata/generation",
              "/metadata/creationTimestamp", "/metadata/managedFields", "/metadata/selfLink",
              "/metadata/ownerReferences", "/metadata/finalizers",
              pointer("metadata", "annotations", "deployment.kubernetes.io/revision"),
              pointer("metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"),
              "/apiVersion", "/kind", "/metadata/name")


def leftovers(obj: Obj) -> list[Finding]:
    """A finding for each field of obj that the import neither carried over nor reported: nothing of the
    input is dropped without a word. The largest such subtree is named once (an `affinity` block, not each of
    its leaves)."""
    obj.use(*SERVER_SET)
    out: list[Finding] = []
    _walk(obj, obj.data, "", out)
    return out


def _walk(obj: Obj, value: Any, at: str, out: list[Finding]) -> None:
    if _covered(obj.used, at) or value is None or value == {} or value == []:  # an empty value loses nothing
        return
    if not any(p.startswith(at + "/") for p in obj.used) or not isinstance(value, (dict, list)):
        out.append(obj.finding(DROPPED, at, f"{_dotted(at)}: not carried over (the spec has no field for it)",
                               "carry it with a raw patch (spec.patches) if the model needs it"))
        return
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in items:
        _walk(obj, child, at + pointer(key), out)


# The fields of a map the import reads: key -> None (the value as a whole), a Shape (its fields), or [Shape]
# (a list, each item of that shape).
Shape = dict[str, Any]


def use_shape(obj: Obj, at: str, value: Any, shape: Shape) -> None:
    """Record as used the fields of value that shape names, and only those: a field the importer does not know
    stays for the leftovers walk to report."""
    if not isinstance(value, dict):
        obj.use(at)  # not a map: the mapping code reads it as it is (or refuses it)
        return
    for key, sub in shape.items():
        if key not in value:
            continue
        if sub is None:
            obj.use(at + pointer(key))
        elif isinstance(sub, list):
            for i, item in enumerate(as_list(value[key])):
                use_shape(obj, f"{at}{pointer(key)}/{i}", item, sub[0])
        else:
            use_shape(obj, at + pointer(key), value[key], sub)


def _covered(used: set[str], at: str) -> bool:
    while True:
        if at in used:
            return True
        if not at:
            return False
        at = at.rsplit("/", 1)[0]


def _dotted(at: str) -> str:
    return "".join(f"[{s}]" if s.isdigit() else (f".{s}" if i else s) for i, s in enumerate(steps(at))) or "the object"


def dig(data: Any, *path: str | int) -> Any:
    """data[path[0]][path[1]]..., or None where a step is missing or of the wrong type."""
    for step in path:
        if isinstance(data, list):
            index = step if isinstance(step, int) else int(step) if step.isdigit() else -1
            data = data[index] if 0 <= index < len(data) else None
        else:
            data = data.get(step) if isinstance(data, dict) else None
        if data is None:
            return None
    return data


def as_map(value: Any) -> dict[str, Any]:
    """value if it is a map, else an empty one: manifests are untrusted, a field may hold anything."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def objects(docs: list[Document]) -> tuple[list[Obj], list[Finding]]:
    """The objects of parsed documents (a `List`'s items one by one); a document that is no object is a
    finding, never a crash."""
    out: list[Obj] = []
    findings: list[Finding] = []
    for doc in docs:
        if doc.error:
            findings.append(Finding(doc.error_rule or "k8s-yaml", doc.error, doc.source,
                                    Position(doc.error_line, doc.error_col)))
        elif doc.empty:
            continue
        elif not isinstance(doc.data, dict):
            findings.append(Finding("k8s-not-object", "a YAML document is not a mapping", doc.source,
                                    Position(doc.line, 1)))
        elif str(doc.data.get("kind", "")).endswith("List") and isinstance(doc.data.get("items"), list):
            out += [Obj(item, doc, f"/items/{i}") for i, item in enumerate(doc.data["items"]) if isinstance(item, dict)]
        else:
            out.append(Obj(doc.data, doc))
    return out, findings

"""A Kubernetes object as plain data, with where in the spec it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast


@dataclass
class Manifest:
    obj: dict[str, Any]
    file: str  # file name in the base, e.g. "deployment.yaml"
    origin: str  # spec pointer of the section that caused the object, e.g. "/spec/serving/autoscaling"
    fields: dict[str, str] = field(default_factory=dict)  # object pointer -> spec pointer

    @property
    def kind(self) -> str:
        return cast("str", self.obj["kind"])

    @property
    def name(self) -> str:
        return cast("str", self.obj["metadata"]["name"])

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.name)

    @property
    def ident(self) -> str:
        return f"{self.kind}/{self.name}"

    def spec_pointer(self, pointer: str) -> str:
        """The spec pointer behind an object pointer: the longest traced prefix, else the origin."""
        while pointer:
            if pointer in self.fields:
                return self.fields[pointer]
            pointer = pointer.rsplit("/", 1)[0]
        return self.origin

"""GPU node labels: how a pod chooses a GPU *type* on the clouds and with NVIDIA's GPU Feature Discovery.

Requesting the GPU resource (`nvidia.com/gpu`) already confines a pod to nodes whose device plugin advertises
it, so a node selector is for choosing which GPU, and each platform labels that differently:
- GKE: `cloud.google.com/gke-accelerator`, e.g. `nvidia-l4`, `nvidia-tesla-a100`
  (https://cloud.google.com/kubernetes-engine/docs/how-to/gpus);
- EKS: `node.kubernetes.io/instance-type`, e.g. `g6.xlarge` (a well-known Kubernetes label every node carries);
- Karpenter on AWS: `karpenter.k8s.aws/instance-gpu-name`, e.g. `l4`, `a10g` (Karpenter's well-known labels);
- GPU Feature Discovery: `nvidia.com/gpu.product`, e.g. `NVIDIA-L4` (GFD's labels; `nvidia.com/gpu.present`
  is GFD's too, which GKE and EKS nodes do not carry).
"""

from __future__ import annotations

from typing import Final

GPU_TYPE_LABELS: Final[dict[str, str]] = {
    "gke": "cloud.google.com/gke-accelerator",
    "eks": "node.kubernetes.io/instance-type",
    "karpenter": "karpenter.k8s.aws/instance-gpu-name",
    "gfd": "nvidia.com/gpu.product",
}


def type_selector(gpu_type: dict[str, str] | None) -> dict[str, str]:
    """The node selector for a spec's `resources.gpuType` (`{gke: nvidia-l4}` -> the GKE label)."""
    return {GPU_TYPE_LABELS[platform]: name for platform, name in sorted((gpu_type or {}).items())}


def selects_gpu_type(selector: dict[str, str]) -> bool:
    """Whether a node selector chooses a GPU type by any platform's label."""
    return any(label in selector for label in GPU_TYPE_LABELS.values())

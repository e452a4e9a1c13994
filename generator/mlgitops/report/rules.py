"""Every rule id mlgitops reports, with what it means. Ids are stable: CI configurations refer to them."""

from __future__ import annotations

# The policies `check` applies to the objects an environment receives (check/policies.py);
# mlgitops.yaml may disable them by these ids.
POLICY_RULES = {
    "min-replicas": "the environment's minimum pod count is met (replicas, or the HPA's minReplicas)",
    "pdb-required": "every Deployment has a PodDisruptionBudget where the environment requires one",
    "image-latest": "no image is untagged or tagged :latest",
    "image-pinned": "images are pinned by digest or an immutable tag where the environment requires it",
    "container-resources": "every container has CPU and memory requests, and the limits the environment requires "
                           "(policies.requiredLimits: both by default)",
    "container-probes": "every container has readiness and liveness probes",
    "probe-port": "a probe that names a port (`port: api`) names one the container declares: the kubelet cannot "
                  "resolve any other, so the probe fails every time (liveness restarts the container forever)",
    "pod-security": "every pod template (all workload kinds, after patches) meets every control of the restricted "
                    "Pod Security Standard as admission evaluates it at the Kubernetes version of mlgitops.yaml, "
                    "unless the spec says why not",
    "gpu-scheduling": "a GPU pod tolerates the GPU taint and keeps the GPU node selector mlgitops.yaml sets, or chooses a GPU type by a platform label (GKE, EKS, Karpenter, GPU Feature Discovery)",
    "gpu-resource-name": "an accelerator resource is one a device plugin advertises (the known names, or "
                         "gpu.knownResources in mlgitops.yaml): a misspelt one never schedules",
    "liveness-before-load": "a GPU container's liveness probe leaves it the time a model typically takes to load, "
                            "or a startup probe holds liveness off until it has loaded",
    "env-read-only-path": "a cache or home variable (HF_HOME, TORCH_HOME, XDG_*_HOME, HOME, *CACHE*) names a "
                          "path on a writable mount when the root filesystem is read-only (warning)",
    "network-policy-open": "a raw patch does not open the NetworkPolicy wider than the spec's networkPolicy",
    "service-account": "a raw patch does not mount an API token or run pods as the namespace's default "
                       "ServiceAccount",
    "storage-no-source": "a ReadOnlyMany claim has a source (dataSource or volumeName): a new volume is empty",
    "storage-single-writer": "a ReadWriteOnce(Pod) claim is not mounted by several pods (replicas, an HPA, a surge, "
                             "a canary, parallel trials or training nodes)",
    "metrics-public": "an Ingress does not route to the port that serves the metrics",
    "secret-in-value": "a value the spec or a raw patch turns into env, args, parameters or MODEL_URI holds what "
                       "looks like a credential (a URL with a password, a cloud key, a token, a private key), "
                       "whatever its name (detect-secrets' plugins); mark a false positive with "
                       "policies.exceptions.secret-in-value and its reason",
    "weights-version": "every serving pod (stable and canary, after raw patches) loads the weights its version label "
                       "names: the URI carries the version, or its content is pinned (oci:// by digest, hf:// at a "
                       "commit, model.immutable); a canary of another version never loads its stable version's weights",
    "weights-overwrite": "no training run, sweep trial, TrainJob node, PyTorchJob replica or Katib trial writes under a "
                         "prefix that equals or contains the weights an environment or canary serves",
    "weights-run-prefix": "each training run writes under its own prefix ({run} in training.output.uri) and each sweep "
                          "trial under its own ({trial}), expanded by Kubernetes when the pod starts",
    "weights-pinned": "production serves weights whose content cannot change under the same version (warning by "
                      "default; policies.weightsPinning in mlgitops.yaml)",
    "weights-size": "an hf:// download or a fetch says how large the weights are (model.size), so the download "
                    "volume and the ephemeral-storage request fit them",
    # pods that survive a real cluster (warnings)
    "gpu-rollout-surge": "a GPU Deployment's rolling update surges, so it needs a free GPU and stalls on a full pool",
    "progress-deadline": "progressDeadlineSeconds is not above the time a pod may take to start",
    "canary-capacity": "a canary has enough pods for its share of the requests at the stable version's peak",
}

RULES: dict[str, str] = {
    "yaml-syntax": "the file is not valid YAML",
    "yaml-encoding": "the file is not UTF-8",
    "yaml-tab": "a tab character where YAML expects indentation",
    "yaml-duplicate-key": "a key appears twice in one mapping",
    "yaml-alias": "anchors, aliases and merge keys are refused (they allow YAML bombs)",
    "yaml-multiple-documents": "a spec or config file holds more than one YAML document",
    "yaml-empty": "the file holds no YAML document",
    "yaml-key-type": "a mapping key is not a string",
    "yaml-depth": "the document nests deeper than allowed",
    "yaml-sexagesimal": "an unquoted number with ':' (1:30), which YAML 1.1 reads in base 60 (90)",
    "yaml-number": "a number too long to read (Python reads at most 4,300 digits; no field needs as many)",
    "control-character": "a string holds a control character (NUL, ESC, DEL...) the API server or kustomize refuses",
    "url-credentials": "a URL holds a user name or password: credentials belong in a Secret, never in the repository",
    "file-unreadable": "the file cannot be read",
    "spec-too-large": "a spec file is larger than a spec may be (the message says by how much; a real one is "
                      "1-5 KB): refused before it is parsed",
    "object-too-large": "a generated object is larger than the API server stores (etcd's default "
                        "--max-request-bytes): it could never be applied",
    "symlink-outside": "a spec is a symlink to a file outside the repository",
    "schema": "a value breaks the JSON Schema of the spec or config",
    "unknown-field": "a field the schema does not know (often a typo)",
    "missing-field": "a required field is missing",
    "serving-per-environment": "an environment adds or removes `serving`: a model serves in every environment or in "
                               "none (a training-only model has no `serving`)",
    "name-mismatch": "metadata.name differs from the file name",
    "name-collision": "two specs define the same model name, or make objects of the same kind and name in one "
                      "environment (model `a` with a canary and model `a-canary`)",
    "unknown-environment": "an override names an environment mlgitops.yaml does not define",
    "duplicate-environment": "mlgitops.yaml defines an environment twice",
    "autoscaling-bounds": "autoscaling.minReplicas is greater than maxReplicas",
    "reserved-env": "an env var mlgitops sets itself (MODEL_NAME, MODEL_VERSION, MODEL_URI, MODEL_OUTPUT_URI)",
    "secret-in-env": "an env var (model.fetch.env too), a --flag=value argument, the value after a bare --flag, or "
                     "a sweep parameter whose name says secret (PASSWORD, PGPASSWORD, MYSQL_PWD, TOKEN, API_KEY, ...) "
                     "holds a literal value",
    "duplicate-env": "an env var is set twice (env and secrets)",
    "limit-below-request": "a resource limit is below its request",
    "rollout-stuck": "maxSurge and maxUnavailable are both 0, so a rollout cannot progress",
    "not-a-spec": "a file in models/ that is not read as a spec",
    "model-uri-version": "an environment changes model.version but inherits a uri naming the base version",
    "model-fetch": "model.fetch needs a model.uri URL and mlgitops.yaml's storageInitializer",
    "mount-conflict": "a volume is mounted over a reserved volume (/tmp, the HOME /home/model, /dev/shm) or another",
    "rollout-conflict": "maxSurge or maxUnavailable with a Recreate rollout",
    "port-conflict": "serving.ports repeats a port name or number, or takes the serving or metrics port's",
    "service-shape": "a headless Service (clusterIP: None) of type LoadBalancer or NodePort",
    "single-replica": "serving.singleReplica with more than one replica or autoscaling",
    "container-name": "an init container or sidecar takes a name already used, or mounts a volume the pod lacks",
    "sidecar-version": "native sidecars (serving.sidecars) need a newer Kubernetes than mlgitops.yaml names",
    "shutdown-grace": "the termination grace period leaves no time after the preStop pause",
    "prestop-sleep": "the preStop sleep action needs a newer Kubernetes than mlgitops.yaml names",
    "patch-target": "a raw patch targets an object the environment does not generate",
    "slo-metrics": "an SLO objective names no metric that can measure it (request counters, a latency histogram)",
    "slo-rule": "a generated SLO rule or dashboard query is not valid PromQL, reads an undeclared metric, or repeats "
                "a rule name",
    "hand-edited": "a generated file was edited by hand; it is never overwritten",
    "path-blocked": "a file or folder is in the way of a generated file",
    "path-outside": "the generated tree names a file outside base/, overlays/ or clusters/ (a forged cache entry)",
    "cache-in-repository": "a .mlgitops-cache folder in the repository: never read (a commit could forge it)",
    "unreferenced-file": "a file in a generated folder that no kustomization references: it is never deployed",
    "drift": "the committed generated tree differs from what the specs generate",
    "leftover-temp": "a temp file left in the generated tree or models/ by a killed run (generate removes it)",
    "build": "kustomize cannot build an overlay",
    "run-error": "the run could not go on (no repository, a missing tool, an unreadable file): exit 2; printed as a "
                 "finding on stdout too with --format json, sarif or github",
    "yaml-tag": "an explicit YAML tag (!!int, !local) instead of a plain value",
    "k8s-schema": "a resource breaks its Kubernetes (or custom resource) schema",
    "k8s-yaml": "a manifest is not valid YAML (as Go's YAML parser reads it)",
    "k8s-duplicate-key": "a key appears twice in one mapping of a manifest",
    "k8s-not-object": "a YAML document is not a mapping",
    "k8s-missing-kind": "a resource has no kind",
    "k8s-missing-apiversion": "a resource has no apiVersion",
    "k8s-no-schema": "no schema is known for the kind (skip it, or add one to schemas/crds/)",
    "k8s-read": "a manifest file cannot be read",
    "schema-file": "a file of the repository's schemas/crds/ that is never read: a symlink, or not a regular file",
    "exception-annotation": "a raw patch writes an exception annotation: only a reason in the spec grants one",
    "patch-namespace": "a raw patch sets metadata.namespace, which the overlay's namespace overrides",
    "fidelity": "kustomize built something other than what the generator meant",
    "immutable-field": "a change Kubernetes refuses on an existing object (selector, PVC access modes, a Job's template...)",
    "prune": "a sync would delete objects (a model, environment or object removed); claims lose their data",
    "capacity": "an environment's worst case (max pods and rollout surges x requests, canaries, training) exceeds its quota",
    "gateway-route": "an Ingress-only setting (className, tlsSecret, annotations) of a model whose entry point is "
                     "an HTTPRoute on the configured Gateway",
    "canary-traffic": "a canary with no way to split traffic (no ingress and no gateway in mlgitops.yaml for a "
                      "GAMMA route on the model's Service)",
    "sync-source": "the sync engine needs the repository's URL (git.url in mlgitops.yaml)",
    "sync-object": "a generated sync object (clusters/) points at something that does not exist or is not unique",
    "training": "spec.training cannot be built as written (a grid over maxTrials, a range in a grid, a sweep without "
                "a command, a scheduled or sweeping run over several workers)",
    "gpu-budget": "a training run or sweep may use more GPU-hours than the environment's gpuHourBudget",
    "deprecated": "a setting that still works but that upstream has replaced (the v1 PyTorchJob)",
    "autoscaling-handover": "mlgitops diff: a Deployment loses spec.replicas to a new HPA; applied as is, it drops to "
                            "1 pod (docs/diff.md)",
    "hand-written": "a manifest under a synced path (clusters/<cluster>/<engine>/) that mlgitops did not generate: "
                    "the engine applies it too, so check validates and policy-checks it",
    "diff-base-build": "mlgitops diff: an overlay does not build at the base revision, so the diff cannot say what "
                       "it changes",
    "diff-build": "mlgitops diff: an overlay does not build now, so the diff cannot say what the cluster gets (not "
                  "'every object deleted')",
    "volume-name-conflict": "mlgitops diff: a new claim binds a volumeName that a kept claim, or another "
                            "environment on the same cluster, still holds, so it stays Pending (docs/diff.md)",
    "import-dropped": "mlgitops import: a field of the manifests that neither the spec nor a patch carries; the "
                      "finding names it at its line",
    "import-patched": "mlgitops import: a field the spec has no place for, carried as a strategic-merge patch of "
                      "the Deployment, or of a training Job or CronJob (spec.patches): envFrom, env from a ConfigMap, "
                      "imagePullSecrets, affinity, a probe that is no HTTP GET",
    "import-changed": "mlgitops import: something the spec deliberately does differently (an untagged image, a "
                      "root-owned mount path, a missing limit, hostPath, privileged, a workload kind)",
    "import-grouping": "mlgitops import: an object that belongs to no model of the input, or a spec not written "
                       "(it exists, its name is invalid, it does not read clean)",
    **POLICY_RULES,
    "pod-security-admission": "pods the spec excepts from the restricted standard still meet the level their "
                              "namespace enforces (the environment's podSecurity), else admission refuses them",
}


def describe(rule: str) -> str:
    return RULES.get(rule, rule)

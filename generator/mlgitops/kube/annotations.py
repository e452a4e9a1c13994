"""Annotation and label keys mlgitops writes on the objects it generates, and `check` reads back."""

# The reason a spec gives for relaxing the restricted Pod Security Standard (`security.reason`).
SECURITY_EXCEPTION = "mlgitops.io/security-exception"

# The label on a canary's objects naming the model whose canary they are (render/canary.py).
CANARY_OF = "mlgitops.io/canary-of"

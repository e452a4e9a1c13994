"""Annotation keys mlgitops writes on the objects it generates, and `check` reads back."""

# The reason a spec gives for relaxing the restricted Pod Security Standard (`security.reason`).
SECURITY_EXCEPTION = "mlgitops.io/security-exception"

# The policy rules a spec (or one environment of it) excepts, with their reasons (`policies.exceptions`).
POLICY_EXCEPTIONS = "mlgitops.io/policy-exceptions"

# Only the spec grants exceptions: a raw patch that writes one of these is refused by `check`.
GRANTS = (SECURITY_EXCEPTION, POLICY_EXCEPTIONS)

"""Hypothesis profiles: "ci" (default, small and reproducible) and "dev" (more examples).

Pick one with the HYPOTHESIS_PROFILE environment variable.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Every jaxpr any test builds (make_jaxpr, jit, linearize's linear programs, control-flow
# bodies) goes through the type checker.
import fungrad.typecheck  # noqa: E402

fungrad.typecheck.check_enabled = True

"""Hypothesis profiles: "ci" (default, small and reproducible) and "dev" (more examples).

Pick one with the HYPOTHESIS_PROFILE environment variable.
"""

import os
from typing import Any

import pytest
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


@pytest.fixture(scope="session")
def optax() -> Any:
    """optax as a test oracle (skips when absent), with JAX in float64 so both sides compute alike."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_platforms", "cpu")
    jax.config.update("jax_enable_x64", True)
    return pytest.importorskip("optax")

"""JAX as a test oracle: imported on demand (tests skip without it), float64 enabled, and its
CPU backend started with flags that make XLA compile these small programs several times faster
(no LLVM optimization, no fusion emitters; numerics are unaffected)."""
from __future__ import annotations

import os
from typing import Any

import pytest


def load_jax() -> Any:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_platforms", "cpu")
    jax.config.update("jax_enable_x64", True)
    saved = os.environ.get("XLA_FLAGS")
    os.environ["XLA_FLAGS"] = ((saved or "") + " --xla_backend_optimization_level=0"
                               " --xla_cpu_use_fusion_emitters=false")
    try:
        jax.devices()  # starts the backend now (a no-op if it has started already)
    finally:
        if saved is None:
            del os.environ["XLA_FLAGS"]
        else:
            os.environ["XLA_FLAGS"] = saved
    return jax


def summed_finite(lib: Any, f: Any, args: tuple[Any, ...], i: int) -> Any:
    """``v -> sum of f(*args with args[i] = v)`` over its finite outputs, written with ``lib``
    (fungrad or jax): the scalar whose gradient compares a function's derivatives in argument
    ``i`` between the two libraries."""
    def total(v: Any) -> Any:
        full = list(args)
        full[i] = v
        out = f(*full)
        return lib.numpy.sum(lib.numpy.where(lib.numpy.isfinite(out), out, 0.0))
    return total

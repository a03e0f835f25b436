"""fungrad.numpy's scalar types (``fnp.float32``, ``fnp.int32``...) as JAX's: dtypes wherever NumPy
takes one, and converters of traced values (``fnp.int32(i)`` under jit, vmap and grad), against JAX."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import fungrad
import fungrad.numpy as fnp

NAMES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
         "uint32", "uint64", "bool_", "complex64", "complex128"]


@pytest.mark.parametrize("name", NAMES)
def test_a_scalar_type_is_its_dtype_everywhere(name: str) -> None:
    ours, numpys = getattr(fnp, name), getattr(np, name)
    assert np.dtype(ours) == np.dtype(numpys) and fnp.dtype(ours) == np.dtype(numpys)
    assert ours == numpys and numpys == ours and hash(ours) == hash(numpys)
    assert {numpys: 1}[ours] == 1
    assert np.ones(2).astype(ours).dtype == np.dtype(numpys)
    assert fnp.zeros(2, ours).dtype == np.dtype(numpys) and fnp.asarray([1], dtype=ours).dtype == numpys
    assert isinstance(numpys(1), ours) and not isinstance(1.0, ours if name != "float64" else fnp.int8)
    assert fnp.issubdtype(ours, np.dtype(numpys).type.__mro__[1])
    assert fnp.float32 != fnp.float64 and fnp.float32 != np.float64


PROGRAMS = {
    "eager": lambda L, xp: xp.float32(2.75),
    "eager list": lambda L, xp: xp.int32([1.5, -2.5]),
    "jit int": lambda L, xp: L.jit(lambda x: xp.int32(x) + 1)(2.7),
    "jit float32": lambda L, xp: L.jit(lambda x: xp.float32(x) * 3)(np.float64(1.1)),
    "vmap": lambda L, xp: L.vmap(lambda x: xp.int16(x * 10))(np.arange(3.0)),
    "grad": lambda L, xp: L.grad(lambda x: xp.float64(x) ** 2)(1.5),
    "bool": lambda L, xp: L.jit(lambda x: xp.bool_(x))(np.array([0.0, 2.0])),
}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_calling_a_scalar_type_converts_like_jax(name: str) -> None:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    got = PROGRAMS[name](fungrad, fnp)
    want = np.asarray(PROGRAMS[name](jax, jax.numpy))
    assert isinstance(got, fungrad.Array)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)

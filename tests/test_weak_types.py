"""Python scalars passed to jit or vmap stay weakly typed: they promote as they do eagerly."""
import numpy as np
import pytest

import fungrad
import fungrad.numpy as fnp

F32 = np.ones(3, np.float32)
I32 = np.ones(3, np.int32)
CASES = [
    ("f32*float", lambda a, b: a * b, (F32, 2.0)),
    ("float*f32", lambda a, b: b * a, (F32, 2.0)),
    ("f32+int", lambda a, b: a + b, (F32, 2)),
    ("i32+int", lambda a, b: a + b, (I32, 2)),
    ("i32*float", lambda a, b: a * b, (I32, 2.5)),
    ("where", lambda a, b: fnp.where(a > 0, a, b), (F32, 0.0)),
    ("maximum", lambda a, b: fnp.maximum(a, b), (F32, 0.5)),
]


@pytest.mark.parametrize("name,f,args", CASES, ids=[c[0] for c in CASES])
def test_jit_and_vmap_keep_eager_dtypes(name, f, args):
    eager = f(*args)
    assert fungrad.jit(f)(*args).dtype == eager.dtype
    assert fungrad.vmap(f, in_axes=(0, None))(*args).dtype == eager.dtype
    assert fungrad.jit(fungrad.vmap(f, in_axes=(0, None)))(*args).dtype == eager.dtype


def test_weak_and_strong_scalars_trace_separately():
    f = fungrad.jit(lambda a, b: a * b)
    assert f(F32, 2.0).dtype == np.float32
    assert f(F32, 3.0).dtype == np.float32 and f.cache_info().misses == 1
    assert f(F32, np.float64(2.0)).dtype == np.float64      # a NumPy scalar is strong
    assert f.cache_info().misses == 2


@pytest.mark.parametrize("name,f,args", CASES, ids=[c[0] for c in CASES])
def test_against_jax(name, f, args):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    jf = {"where": lambda a, b: jnp.where(a > 0, a, b),
          "maximum": lambda a, b: jnp.maximum(a, b)}.get(name, f)
    assert jax.jit(jf)(*args).dtype == fungrad.jit(f)(*args).dtype

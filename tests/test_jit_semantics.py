"""JAX semantics of jit users rely on: one cache per function, inner jits closing over outer
tracers, pytrees whose aux data is a dict."""
import numpy as np
import pytest

import fungrad
import fungrad.numpy as fnp
from fungrad import grad, jit, vmap
from fungrad.tree_util import register_pytree_node


def test_jit_of_the_same_function_shares_its_cache():
    traces = []

    def f(x):
        traces.append(1)
        return x * 2.0

    for _ in range(4):
        jit(f)(np.ones(2))                  # a jit inside a loop
    assert len(traces) == 1
    jit(f, static_argnums=())(np.ones(3))   # another shape traces once more
    jit(f)(np.ones(3))
    assert len(traces) == 2


def test_inner_jit_closing_over_an_outer_tracer():
    def outer(x):
        return jit(lambda y: y * x + 1.0)(x)
    assert jit(outer)(2.0) == 5.0
    assert grad(jit(outer))(2.0) == 4.0
    np.testing.assert_allclose(vmap(jit(outer))(np.array([1.0, 2.0])), [2.0, 5.0])


class Box:
    def __init__(self, v, meta):
        self.v, self.meta = v, meta


register_pytree_node(Box, lambda b: ((b.v,), b.meta), lambda m, c: Box(c[0], m))


def test_dict_aux_data():
    b = Box(np.ones(2), {"scale": 3, "names": ["a"]})
    out = jit(lambda b: Box(b.v * b.meta["scale"], b.meta))(b)
    np.testing.assert_array_equal(out.v, 3.0)
    assert out.meta == {"scale": 3, "names": ["a"]}
    np.testing.assert_array_equal(grad(lambda b: fnp.sum(b.v) * b.meta["scale"])(b).v, 3.0)
    f = jit(lambda b: b.v)
    f(b)
    f(Box(np.ones(2), {"names": ["a"], "scale": 3}))    # equal aux (other order): no retrace
    assert f.cache_info().misses == 1
    f(Box(np.ones(2), {"scale": 4}))
    assert f.cache_info().misses == 2


def test_jit_semantics_match_jax():
    jax = pytest.importorskip("jax")
    assert float(jax.jit(lambda x: jax.jit(lambda y: y * x + 1.0)(x))(2.0)) == 5.0

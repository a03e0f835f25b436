"""Collectives over named vmap axes: values against closed forms and JAX, derivatives against
finite differences and JAX's convention (psum's transpose is psum), jit, nesting, errors."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

import fungrad
from fungrad import grad, jit, lax, vmap
from fungrad.errors import ShapeError
from fungrad.interpreters.named_axes import UnboundAxisError
from fungrad.test_util import check_grads

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 4))          # axis "i" of size 3, examples of shape (4,)
SQ = RNG.normal(size=(3, 3, 2))      # examples whose first axis has the axis size
SHIFT = [(0, 1), (1, 2), (2, 0)]

# name -> (program over a lax-like module L, input, closed form on the stacked input)
PROGRAMS: dict[str, tuple[Callable[[Any, Any], Any], np.ndarray, Callable[[np.ndarray], Any]]] = {
    "psum": (lambda L, x: L.psum(x, "i"), X, lambda x: np.broadcast_to(x.sum(0), x.shape)),
    "pmean": (lambda L, x: L.pmean(x, "i"), X, lambda x: np.broadcast_to(x.mean(0), x.shape)),
    "pmax": (lambda L, x: L.pmax(x, "i"), X, lambda x: np.broadcast_to(x.max(0), x.shape)),
    "pmin": (lambda L, x: L.pmin(x, "i"), X, lambda x: np.broadcast_to(x.min(0), x.shape)),
    "normalize": (lambda L, x: x / L.psum(x * x, "i"), X, lambda x: x / (x * x).sum(0)),
    "all_gather": (lambda L, x: L.all_gather(x, "i"), X,
                   lambda x: np.broadcast_to(x, (3,) + x.shape)),
    "all_gather_axis1": (lambda L, x: L.all_gather(x, "i", axis=1), X,
                         lambda x: np.broadcast_to(x.T, (3,) + x.T.shape)),
    "all_gather_tiled": (lambda L, x: L.all_gather(x, "i", tiled=True), X,
                         lambda x: np.broadcast_to(x.reshape(-1), (3, x.size))),
    "psum_scatter": (lambda L, x: L.psum_scatter(x, "i"), SQ, lambda x: x.sum(0)),
    "psum_scatter_dim1": (lambda L, x: L.psum_scatter(x, "i", scatter_dimension=1),
                          SQ.transpose(0, 2, 1), lambda x: x.sum(0).T),
    "psum_scatter_tiled": (lambda L, x: L.psum_scatter(x, "i", tiled=True), X.repeat(3, 1).reshape(3, 12, 1),
                           lambda x: x.sum(0).reshape(3, 4, 1)),
    "ppermute": (lambda L, x: L.ppermute(x, "i", SHIFT), X, lambda x: np.roll(x, 1, 0)),
    "all_to_all": (lambda L, x: L.all_to_all(x, "i", 0, 0), SQ, lambda x: x.transpose(1, 0, 2)),
    "all_to_all_concat1": (lambda L, x: L.all_to_all(x, "i", 0, 1), SQ,
                           lambda x: x.transpose(1, 2, 0)),
    "all_to_all_tiled": (lambda L, x: L.all_to_all(x, "i", 1, 0, tiled=True), RNG.normal(size=(3, 2, 6)),
                         lambda x: x.reshape(3, 2, 3, 2).transpose(2, 0, 1, 3).reshape(3, 6, 2)),
    "axis_index": (lambda L, x: x * L.axis_index("i"), X, lambda x: x * np.arange(3)[:, None]),
}
DIFFERENTIABLE = [k for k in PROGRAMS if k not in ("pmax", "pmin")]


def run(name: str, mod: Any, vmap_: Callable[..., Any]) -> Any:
    prog, x, _ = PROGRAMS[name]
    return vmap_(lambda v: prog(mod, v), axis_name="i")(x)


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_value_closed_form_and_jit(name: str) -> None:
    _, x, closed = PROGRAMS[name]
    expected = closed(x)
    np.testing.assert_allclose(run(name, lax, vmap), expected, rtol=1e-12)
    np.testing.assert_allclose(jit(lambda v: run(name, lax, vmap))(x), expected, rtol=1e-12)
    inner_jit = vmap(jit(lambda v: PROGRAMS[name][0](lax, v)), axis_name="i")(x)
    np.testing.assert_allclose(inner_jit, expected, rtol=1e-12)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_derivatives_finite_differences(name: str) -> None:
    prog, x, _ = PROGRAMS[name]
    w = RNG.normal(size=np.shape(PROGRAMS[name][2](x)))
    f = lambda v: fungrad.numpy.sum(vmap(lambda u: prog(lax, u), axis_name="i")(v) * w)
    check_grads(f, (x,), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_against_jax(name: str) -> None:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    np.testing.assert_allclose(run(name, lax, vmap), run(name, jax.lax, jax.vmap), rtol=1e-12)
    if name not in DIFFERENTIABLE or name == "all_to_all_concat1":
        return   # JAX 0.10 cannot transpose that all_to_all under vmap (finite differences do)
    prog, x, _ = PROGRAMS[name]
    # grad inside the named axis: JAX's convention (psum's cotangent is summed over the axis).
    ours = vmap(grad(lambda v: fungrad.numpy.sum(prog(lax, v) ** 2)), axis_name="i")(x)
    theirs = jax.vmap(jax.grad(lambda v: (prog(jax.lax, v) ** 2).sum()), axis_name="i")(x)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_grad_of_psum_inside_the_axis_is_the_axis_size() -> None:
    """d psum(x)/dx_j seen from inside the axis is the axis size, as in JAX."""
    out = vmap(grad(lambda x: lax.psum(x, "i")), axis_name="i")(np.ones(3))
    np.testing.assert_array_equal(out, [3.0, 3.0, 3.0])
    # From outside, the sum over the axis of a psum: every member counts each x_j once.
    g = grad(lambda x: fungrad.numpy.sum(vmap(lambda v: lax.psum(v, "i"), axis_name="i")(x)))
    np.testing.assert_array_equal(g(np.ones(3)), [3.0, 3.0, 3.0])


def test_pmax_derivative_follows_the_winner() -> None:
    x = np.array([1.0, 5.0, 2.0])
    f = lambda v: fungrad.numpy.sum(vmap(lambda u: lax.pmax(u, "i"), axis_name="i")(v))
    np.testing.assert_allclose(grad(f)(x), [0.0, 3.0, 0.0])
    check_grads(f, (x,), order=1)


def test_nested_axes_and_tuples() -> None:
    nested = lambda f: vmap(vmap(f, axis_name="j"), axis_name="i")
    np.testing.assert_allclose(nested(lambda x: lax.psum(x, ("i", "j")))(X), np.full(X.shape, X.sum()))
    np.testing.assert_allclose(nested(lambda x: lax.psum(x, "i"))(X), np.broadcast_to(X.sum(0), X.shape))
    np.testing.assert_allclose(nested(lambda x: lax.psum(x, "j"))(X),
                               np.broadcast_to(X.sum(1, keepdims=True), X.shape))
    np.testing.assert_array_equal(nested(lambda x: lax.axis_index(("i", "j")))(X),
                                  np.arange(12).reshape(3, 4))
    np.testing.assert_array_equal(nested(lambda x: lax.axis_index(("j", "i")))(X),
                                  np.arange(12).reshape(4, 3).T)
    # An inner axis of the same name shadows the outer one.
    shadow = vmap(vmap(lambda x: lax.psum(x, "i"), axis_name="i"), axis_name="i")(X)
    np.testing.assert_allclose(shadow, np.broadcast_to(X.sum(1, keepdims=True), X.shape))
    # A collective over the outer axis inside an unnamed inner vmap.
    inner = vmap(vmap(lambda x: lax.pmean(x, "i")), axis_name="i")(X)
    np.testing.assert_allclose(inner, np.broadcast_to(X.mean(0), X.shape))


def test_collectives_in_control_flow_and_unbatched_operands() -> None:
    x = np.arange(3.0)
    np.testing.assert_array_equal(vmap(lambda v: lax.psum(1, "i"), axis_name="i")(x), [3, 3, 3])
    body = lambda c, z: (c + lax.psum(z, "i"), c)
    scanned = vmap(lambda v: lax.scan(body, 0.0, v * np.ones(2))[0], axis_name="i")(x)
    np.testing.assert_allclose(scanned, [6.0, 6.0, 6.0])
    # Operands that do not depend on the axis: the jit'd and cond'd bodies are batched anyway.
    const = vmap(lambda v: jit(lambda z: lax.psum(z, "i"))(2.0), axis_name="i")(x)
    np.testing.assert_allclose(const, [6.0, 6.0, 6.0])
    branch = vmap(lambda v: lax.cond(True, lambda z: lax.psum(z, "i"), lambda z: z, 2.0),
                  axis_name="i")(x)
    np.testing.assert_allclose(branch, [6.0, 6.0, 6.0])


def test_jit_retraces_for_another_axis_size() -> None:
    f = jit(lambda v: lax.all_gather(v, "i"))
    for n in (2, 3):
        out = vmap(f, axis_name="i")(np.arange(float(n)))
        np.testing.assert_array_equal(out, np.broadcast_to(np.arange(float(n)), (n, n)))


def test_jaxpr_of_a_named_axis() -> None:
    jaxpr = fungrad.make_jaxpr(vmap(lambda v: lax.psum(v, "i"), axis_name="i"))(np.ones(3))
    assert [e.primitive.name for e in jaxpr.eqns] == ["reduce_sum", "broadcast_in_dim"]
    inner = fungrad.make_jaxpr(lambda x: vmap(jit(lambda v: v * lax.axis_index("i")),
                                              axis_name="i")(x))(np.ones(3))
    assert "axis_index" not in str(inner)


@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(0, 3)),
              elements=st.floats(-10, 10)))
def test_psum_and_all_gather_any_shape(x: np.ndarray) -> None:
    total = vmap(lambda v: lax.psum(v, "i"), axis_name="i")(x)
    np.testing.assert_allclose(total, np.broadcast_to(x.sum(0), x.shape), atol=1e-12)
    gathered = vmap(lambda v: lax.all_gather(v, "i", axis=1), axis_name="i")(x)
    np.testing.assert_array_equal(gathered, np.broadcast_to(x.T, (len(x),) + x.T.shape))


def test_pytrees() -> None:
    tree = {"a": X, "b": (X[:, 0],)}
    out = vmap(lambda t: lax.pmean(t, "i"), axis_name="i")(tree)
    np.testing.assert_allclose(out["b"][0], np.full(3, X[:, 0].mean()))


# ---------------------------------------------------------------- errors

def test_unbound_axis_names_the_line() -> None:
    with pytest.raises(UnboundAxisError, match=r"unbound axis name 'k'.*\n  at .*test_collectives"):
        lax.psum(X, "k")
    with pytest.raises(UnboundAxisError, match=r"bound here: 'i'"):
        vmap(lambda v: lax.psum(v, "k"), axis_name="i")(X)
    with pytest.raises(UnboundAxisError, match="unbound axis name 'i'"):
        jit(lambda v: lax.pmean(v, "i"))(X)
    with pytest.raises(UnboundAxisError):
        vmap(lambda v: lax.psum(v, "i"))(X)   # an unnamed vmap binds no name


def test_mismatched_sizes_are_clear() -> None:
    with pytest.raises(ShapeError, match=r"psum_scatter: dimension 0 of f64\[4\] must equal the "
                                         r"size 3 of axis 'i'\n  at .*test_collectives"):
        vmap(lambda v: lax.psum_scatter(v, "i"), axis_name="i")(X)
    with pytest.raises(ShapeError, match="all_to_all: split_axis 0"):
        vmap(lambda v: lax.all_to_all(v, "i", 0, 0), axis_name="i")(X)
    with pytest.raises(ShapeError, match="does not split into 3 equal parts"):
        vmap(lambda v: lax.psum_scatter(v, "i", tiled=True), axis_name="i")(X)
    with pytest.raises(ValueError, match="ppermute: perm"):
        vmap(lambda v: lax.ppermute(v, "i", [(0, 3)]), axis_name="i")(X)
    with pytest.raises(ValueError, match="ppermute: perm"):
        vmap(lambda v: lax.ppermute(v, "i", [(0, 1), (2, 1)]), axis_name="i")(X)
    with pytest.raises(ShapeError, match="axis 3 is out of range"):
        vmap(lambda v: lax.all_gather(v, "i", axis=3), axis_name="i")(X)
    with pytest.raises(NotImplementedError, match="one axis name"):
        vmap(vmap(lambda v: lax.all_gather(v, ("i", "j")), axis_name="j"), axis_name="i")(X)
    with pytest.raises(TypeError, match="positional axes"):
        vmap(lambda v: lax.psum(v, 0), axis_name="i")(X)

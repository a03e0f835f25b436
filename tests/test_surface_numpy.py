"""The NumPy functions JAX and autograd users reach for: against NumPy, jax.numpy and under
transforms; NumPy's own functions forwarding to traced values' methods with their keywords."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from jax_oracle import load_jax
from fungrad.test_util import check_grads
import fungrad
import fungrad.numpy as fnp


@pytest.fixture(scope="module")
def jnp() -> Any:
    jax = load_jax()
    import jax.numpy as jnp
    return jnp


arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=3, max_side=5),
                    elements=st.integers(-4, 4).map(float))


@given(arrays, st.data())
def test_partition_and_argpartition_match_jax(jnp: Any, a: np.ndarray, data: Any) -> None:
    axis = data.draw(st.integers(-a.ndim, a.ndim - 1))
    kth = data.draw(st.integers(-a.shape[axis], a.shape[axis] - 1))
    np.testing.assert_array_equal(fnp.partition(a, kth, axis), jnp.partition(a, kth, axis))
    np.testing.assert_array_equal(fnp.argpartition(a, kth, axis), jnp.argpartition(a, kth, axis))
    # NumPy's contract: the kth value in place, smaller before, larger after
    p = fnp.partition(a, kth, axis)
    np.testing.assert_array_equal(np.take(p, kth, axis), np.take(np.sort(a, axis), kth, axis))
    ip = fnp.argpartition(a, kth, axis)
    np.testing.assert_array_equal(np.take_along_axis(a, ip, axis), np.take_along_axis(a, ip, axis))
    np.testing.assert_array_equal(np.sort(np.take_along_axis(a, ip, axis), axis), np.sort(a, axis))


def test_partition_gradient_and_jit() -> None:
    a = np.array([3.0, 1.0, 2.0, 5.0])
    g = fungrad.grad(lambda x: fnp.partition(x, 1)[1])(a)  # the second smallest: 2.0
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0, 0.0])
    np.testing.assert_array_equal(fungrad.jit(lambda x: fnp.argpartition(x, 2))(a),
                                  fnp.argpartition(a, 2))


@given(arrays, st.sampled_from([1, 2]), st.booleans())
def test_gradient_matches_numpy(a: np.ndarray, edge_order: int, coords: bool) -> None:
    if coords:
        x = np.cumsum(np.arange(1.0, a.shape[-1] + 1))
        ours, theirs = fnp.gradient(a, x, axis=-1), np.gradient(a, x, axis=-1)
    else:
        ours = fnp.gradient(a, 0.5, edge_order=edge_order)
        theirs = np.gradient(a, 0.5, edge_order=edge_order)
    for o, t in zip(ours if isinstance(ours, list) else [ours],
                    theirs if isinstance(theirs, (list, tuple)) else [theirs]):
        np.testing.assert_allclose(o, t, rtol=1e-12, atol=1e-12)


def test_gradient_matches_jax_and_differentiates(jnp: Any) -> None:
    a = np.sin(np.arange(12.0)).reshape(3, 4)
    x = np.array([0.0, 0.5, 2.0, 2.5])
    for o, t in zip(fnp.gradient(a), jnp.gradient(a)):
        np.testing.assert_allclose(o, t, rtol=1e-12)
    np.testing.assert_allclose(fnp.gradient(a, x, axis=1), jnp.gradient(a, x, axis=1), rtol=1e-12)
    f = lambda v: fnp.sum(fnp.gradient(v ** 2))  # noqa: E731
    import jax
    np.testing.assert_allclose(fungrad.grad(f)(x), jax.grad(lambda v: jnp.sum(jnp.gradient(v ** 2)))(x),
                               rtol=1e-12)
    with pytest.raises(ValueError, match="samples"):
        fnp.gradient(np.ones(1))


@pytest.mark.parametrize("expr", [
    "r_[0:3, 7, np.array([8.0, 9.0])]", "c_[np.array([1, 2]), np.array([3, 4])]",
    "r_['0,2', [1, 2], [3, 4]]", "c_[1:4, np.ones(3)]", "r_['-1,2,0', [1, 2], [3, 4]]",
    "r_[0:1:5j]", "r_[np.ones((2, 2)), np.zeros((1, 2))]", "c_[np.ones((2, 2)), 3 * np.ones(2)]",
    "r_['1,3', [1, 2], [3, 4]]", "r_[1.5, np.ones(2, np.float32)]", "r_[-1:2, 3]",
])
def test_r_and_c_match_numpy(expr: str) -> None:
    ours, theirs = eval("fnp." + expr), eval("np." + expr)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


def test_r_and_c_trace() -> None:
    f = lambda x: fnp.sum(fnp.r_[x, 2 * x, 1.0] ** 2)  # noqa: E731
    np.testing.assert_allclose(fungrad.grad(f)(np.ones(2)), 10.0 * np.ones(2))
    np.testing.assert_array_equal(fungrad.jit(lambda x: fnp.c_[x, x])(np.arange(3.0)),
                                  np.c_[np.arange(3.0), np.arange(3.0)])
    with pytest.raises(NotImplementedError, match="matrix"):
        fnp.r_["r", [1, 2]]


def test_rollaxis_matches_numpy() -> None:
    a = np.ones((2, 3, 4, 5))
    for axis in range(-4, 4):
        for start in range(-4, 5):
            assert fnp.rollaxis(a, axis, start).shape == np.rollaxis(a, axis, start).shape
    with pytest.raises(ValueError, match="start"):
        fnp.rollaxis(a, 0, 7)


def test_einsum_interleaved_form(jnp: Any) -> None:
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(2, 3)), rng.normal(size=(3, 4)), rng.normal(size=(5, 2, 3))
    cases = [(a, [0, 1], b, [1, 2], [0, 2]), (a, [0, 1], b, [1, 2]), (a, [0, 1], [1]),
             (c, [Ellipsis, 1], [Ellipsis]), (a, [0, 1], a, [0, 1], [])]
    for args in cases:
        np.testing.assert_allclose(fnp.einsum(*args), np.einsum(*args), rtol=1e-12)
        np.testing.assert_allclose(fnp.einsum(*args), jnp.einsum(*args), rtol=1e-12)
    g = fungrad.grad(lambda x: fnp.einsum(x, [0, 1], b, [1, 2], []))(a)
    np.testing.assert_allclose(g, np.broadcast_to(b.sum(1), (2, 3)), rtol=1e-12)
    with pytest.raises(ValueError, match="labels"):
        fnp.einsum(a, ["i", "j"])


def test_linspace_is_differentiable_in_its_endpoints(jnp: Any) -> None:
    import jax
    for endpoint in (True, False):
        def f(lib: Any, a: Any) -> Any:
            return lib.sum(lib.linspace(a, 2 * a + 1, 5, endpoint=endpoint) ** 2)
        np.testing.assert_allclose(fungrad.grad(lambda a: f(fnp, a))(1.5),
                                   jax.grad(lambda a: f(jnp, a))(1.5), rtol=1e-12)
        np.testing.assert_allclose(fungrad.jit(lambda a: fnp.linspace(a, 3.0, 4, endpoint))(1.0),
                                   np.linspace(1.0, 3.0, 4, endpoint), rtol=1e-12)
    jac = fungrad.jacfwd(lambda ab: fnp.linspace(ab[0], ab[1], 4))(np.array([0.0, 3.0]))
    np.testing.assert_allclose(jac, np.stack([np.linspace(1, 0, 4), np.linspace(0, 1, 4)], 1))


X = np.array([[1.0, -2.0, 3.0], [0.5, 2.0, -1.0]])
NUMPY_CALLS = {
    "sum": lambda t: np.sum(t), "sum_axis": lambda t: np.sum(t, axis=0, keepdims=True),
    "mean": np.mean, "max": np.max, "min_axis": lambda t: np.min(t, axis=1), "prod": np.prod,
    "std": np.std, "var": lambda t: np.var(t, ddof=1), "round": lambda t: np.round(t, 1),
    "clip": lambda t: np.clip(t, 0, 1), "cumsum": np.cumsum,
    "cumprod": lambda t: np.cumprod(t, axis=0), "argmax": np.argmax,
    "argmin": lambda t: np.argmin(t, axis=0), "take": lambda t: np.take(t, [0, 2], axis=1),
    "any": lambda t: np.any(t > 2), "all": lambda t: np.all(t > -3), "amax": np.amax,
    "around": np.around, "max_initial": lambda t: np.max(t, initial=10.0),
}


@pytest.mark.parametrize("name", list(NUMPY_CALLS))
def test_numpy_functions_forward_their_keywords_to_traced_values(name: str) -> None:
    f = NUMPY_CALLS[name]
    np.testing.assert_allclose(fungrad.jit(f)(X), f(X))
    np.testing.assert_allclose(fungrad.vmap(f)(np.stack([X, 2 * X])), np.stack([f(X), f(2 * X)]))


def test_out_and_where_are_refused_not_ignored() -> None:
    for call in [lambda: fnp.sum(X, out=np.zeros(())), lambda: fnp.mean(X, out=np.zeros(())),
                 lambda: fnp.clip(X, 0, 1, out=X), lambda: fnp.cumsum(X, out=X),
                 lambda: fnp.take(X, [0], out=X), lambda: fnp.einsum("ij->", X, out=X),
                 lambda: fnp.argmax(X, out=np.zeros((), int))]:
        with pytest.raises(TypeError, match="out= is not supported"):
            call()
    with pytest.raises(NotImplementedError, match="where="):
        fnp.sum(X, where=X > 0)
    np.testing.assert_allclose(fnp.sum(X, where=True), X.sum())


@pytest.mark.parametrize("num", [0, 1, 2, 5])
@pytest.mark.parametrize("endpoint", [True, False])
def test_linspace_derivatives_in_its_endpoints_match_jax_and_closed_form(
        jnp: Any, num: int, endpoint: bool) -> None:
    jax = load_jax()
    f = lambda a, b: fnp.linspace(a, b, num, endpoint=endpoint)
    ours = fungrad.jacobian(f, (0, 1))(1.2, 1.2)  # equal endpoints too (the one-point case was NaN)
    theirs = jax.jacobian(lambda a, b: jnp.linspace(a, b, num, endpoint=endpoint), (0, 1))(1.2, 1.2)
    t = np.arange(num) / max(num - 1 if endpoint else num, 1)  # x_i = a + t_i (b - a)
    for o, j, closed in zip(ours, theirs, [1 - t, t]):
        np.testing.assert_allclose(o, j)
        np.testing.assert_allclose(o, closed)
    np.testing.assert_allclose(fungrad.jit(f)(1.0, 3.0), np.linspace(1.0, 3.0, num, endpoint=endpoint))


def test_einsum_broadcasts_a_size_zero_batch_like_numpy() -> None:
    a, b = np.ones((0, 2, 3)), np.ones((1, 3, 4))
    out = fnp.einsum("...ij,...jk->...ik", a, b)
    assert out.shape == np.einsum("...ij,...jk->...ik", a, b).shape == (0, 2, 4)
    grads = fungrad.grad(lambda a, b: fnp.einsum("...ij,...jk->...ik", a, b).sum(), (0, 1))(a, b)
    assert grads[0].shape == a.shape and grads[1].shape == b.shape
    np.testing.assert_array_equal(grads[1], np.zeros_like(b))  # nothing flows from an empty batch


@given(hnp.arrays(np.complex128, hnp.array_shapes(max_dims=2),
                  elements=st.sampled_from([0j, 1 + 0j, 2j, -1 - 1j])))
def test_iscomplex_and_isreal_match_numpy_and_jax(z: np.ndarray) -> None:
    jnp = load_jax().numpy
    for x in (z, z.real):
        for name in ("iscomplex", "isreal"):
            np.testing.assert_array_equal(getattr(fnp, name)(x), getattr(np, name)(x))
            np.testing.assert_array_equal(getattr(fnp, name)(x), getattr(jnp, name)(x))
            np.testing.assert_array_equal(fungrad.jit(getattr(fnp, name))(x), getattr(np, name)(x))


def test_lax_binary_ops_refuse_mixed_dtypes_like_jax() -> None:
    jax = load_jax()
    for x, y in [(1, 1.0), (np.float32(1), np.float64(2)), (np.ones(2), np.ones(2, np.int64))]:
        with pytest.raises(TypeError, match="one dtype"):
            fungrad.lax.add(x, y)
        with pytest.raises(TypeError):
            jax.lax.add(x, y)
        with pytest.raises(TypeError, match="one dtype"):
            fungrad.jit(fungrad.lax.mul)(np.asarray(x), np.asarray(y))
    # a Python scalar takes the other operand's dtype, as in JAX; fungrad.numpy still promotes
    assert fungrad.lax.add(np.ones(2, np.float32), 1).dtype == np.float32
    assert fungrad.lax.add(2, 3) == 5 and fungrad.lax.mul(2.0, 3.0) == 6.0
    assert fnp.add(np.float32(1), np.float64(2)).dtype == np.float64


@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("axis,ddof", [(None, 0), (0, 1), (1, 0)])
def test_var_and_std_of_complex_values_are_real_like_numpy_and_jax(
        jnp: Any, name: str, axis: Any, ddof: int) -> None:
    jax = load_jax()
    rng = np.random.default_rng(0)
    z = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
    f = lambda x: getattr(fnp, name)(x, axis, ddof=ddof)
    f_jax = lambda x: getattr(jnp, name)(x, axis, ddof=ddof)
    out = f(z)
    assert np.isrealobj(out)  # it was complex: the squares of the deviations, not their magnitudes
    np.testing.assert_allclose(out, getattr(np, name)(z, axis, ddof=ddof))
    np.testing.assert_allclose(fungrad.jit(f)(z), out)
    t = rng.standard_normal(z.shape) + 1j * rng.standard_normal(z.shape)
    np.testing.assert_allclose(fungrad.jvp(f, (z,), (t,))[1], jax.jvp(f_jax, (z,), (t,))[1])
    ct = np.ones(np.shape(out))
    np.testing.assert_allclose(fungrad.vjp(f, z)[1](ct)[0], jax.vjp(f_jax, z)[1](ct)[0])
    # finite differences along t: the derivative of the real function z -> var(z)
    eps = 1e-6
    np.testing.assert_allclose(fungrad.jvp(f, (z,), (t,))[1], (f(z + eps * t) - f(z - eps * t)) / (2 * eps),
                               rtol=1e-6)


def _eig_invariants(re: Any, im: Any) -> Any:
    """Eigenvalues and eigenvector magnitudes (free of the arbitrary phase), as real arrays."""
    w, v = fnp.linalg.eig(re + 1j * im)
    return fnp.concatenate([fnp.real(w).ravel(), fnp.imag(w).ravel(), fnp.abs(v).ravel()])


@pytest.mark.parametrize("complex_input", [False, True])
def test_eig_matches_numpy_jax_and_finite_differences(jnp: Any, complex_input: bool) -> None:
    jax = load_jax()
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 4, 4)) + (1j * rng.standard_normal((2, 4, 4)) if complex_input else 0)
    w, v = fnp.linalg.eig(a)
    w_np, v_np = np.linalg.eig(a)
    np.testing.assert_allclose(w, w_np)
    np.testing.assert_allclose(v, v_np)
    np.testing.assert_allclose(fnp.linalg.eigvals(a), w_np)
    np.testing.assert_allclose(fungrad.jit(fnp.linalg.eigvals)(a), w_np)
    np.testing.assert_allclose(fungrad.vmap(fnp.linalg.eigvals)(a), w_np)
    t = rng.standard_normal(a.shape) + (1j * rng.standard_normal(a.shape) if complex_input else 0)
    np.testing.assert_allclose(fungrad.jvp(fnp.linalg.eigvals, (a,), (t,))[1],
                               jax.jvp(jnp.linalg.eigvals, (a,), (t,))[1], atol=1e-12)
    # eigenvectors too (JAX has eigenvalue derivatives only): forward mode against central
    # differences, reverse mode against forward mode
    if complex_input:
        check_grads(_eig_invariants, (a.real, a.imag), order=1)
    else:  # a complex perturbation of a real matrix would reorder LAPACK's eigenvalues
        check_grads(lambda re: _eig_invariants(re, np.zeros_like(re)), (a,), order=1)
    # unit-norm columns stay unit-norm to first order
    dv = fungrad.jvp(lambda x: fnp.linalg.eig(x)[1], (a,), (t,))[1]
    np.testing.assert_allclose(np.real(np.sum(np.conj(v) * dv, axis=-2)), 0, atol=1e-12)


@given(hnp.arrays(np.complex128, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=4),
                  elements=st.complex_numbers(max_magnitude=5, allow_nan=False, allow_infinity=False)),
       st.sampled_from([None, 0, 1]), st.sampled_from(["max", "min"]))
def test_max_and_min_of_complex_values_match_numpy_and_jax(z: np.ndarray, axis: Any,
                                                             name: str) -> None:
    jax = load_jax()
    f = lambda x: getattr(fnp, name)(x, axis=axis)
    f_jax = lambda x: getattr(jax.numpy, name)(x, axis=axis)
    expected = getattr(np, name)(z, axis=axis)  # lexicographic: the old eager fill value 0 won
    np.testing.assert_array_equal(f(z), expected)
    np.testing.assert_array_equal(fungrad.jit(f)(z), expected)
    t = np.ones_like(z) * (1 - 2j) + z
    np.testing.assert_allclose(fungrad.jvp(f, (z,), (t,))[1], jax.jvp(f_jax, (z,), (t,))[1])

"""Linear algebra: values against numpy.linalg, derivatives against finite differences and closed
forms, vmap against a Python loop, shape errors through make_jaxpr."""
from __future__ import annotations

import itertools
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fungrad
import fungrad.numpy as fnp
import fungrad.scipy.linalg as fsl
from fungrad import lax
from fungrad.errors import ShapeError
from fungrad.lax import linalg as la
from fungrad.test_util import check_grads

Array = Any


# ---------------------------------------------------------------- helpers written with lax

def mT(x: Array) -> Array:
    nd = x.ndim
    return lax.transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def mm(a: Array, b: Array) -> Array:
    nb = a.ndim - 2
    batch = tuple(range(nb))
    return lax.dot_general(a, b, (((nb + 1,), (nb,)), (batch, batch)))


def scale_cols(v: Array, d: Array) -> Array:
    """``v @ diag(d)``."""
    return lax.mul(v, lax.reshape(d, d.shape[:-1] + (1, d.shape[-1])))


def first_col_projector(v: Array) -> Array:
    """``v[:, :1] @ v[:, :1]ᵀ``, invariant to the sign of the column."""
    mask = np.zeros(v.shape[-1], v.dtype)
    mask[0] = 1
    c = lax.mul(v, mask)
    return mm(c, mT(c))


# ---------------------------------------------------------------- well-conditioned inputs

def general(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    """Square matrices with eigenvalues near 2 (in a disk of radius ~1)."""
    n = shape[-1]
    return rng.standard_normal(shape) / np.sqrt(n) + 2 * np.eye(n)


def spd(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    b = rng.standard_normal(shape) / np.sqrt(shape[-1])
    return b @ np.swapaxes(b, -1, -2) + np.eye(shape[-1])


def orthogonal(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    q, _ = np.linalg.qr(rng.standard_normal(shape))
    return q


def spread(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    """Well separated positive values, descending along the last axis."""
    k = shape[-1]
    return (k - np.arange(k)) + 1.0 + 0.4 * rng.random(shape)


def symmetric(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    """Symmetric, eigenvalues at least 0.6 apart (of either sign)."""
    q = orthogonal(rng, shape)
    w = spread(rng, shape[:-1]) - shape[-1] / 2
    return (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)


def with_singular_values(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    *batch, m, n = shape
    k = min(m, n)
    u = orthogonal(rng, (*batch, m, k))
    v = orthogonal(rng, (*batch, n, k))
    return (u * spread(rng, (*batch, k))[..., None, :]) @ np.swapaxes(v, -1, -2)


def triangular_ish(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    """A full matrix whose triangles are both well conditioned (the solve reads one)."""
    n = shape[-1]
    return rng.standard_normal(shape) / n + 1.5 * np.eye(n)


BATCHES = [(), (2,), (1, 2)]


@st.composite
def problems(draw: st.DrawFn, max_n: int = 4) -> tuple[np.random.Generator, tuple[int, ...], int]:
    batch = draw(st.sampled_from(BATCHES))
    n = draw(st.integers(1, max_n))
    return np.random.default_rng(draw(st.integers(0, 2**31))), batch, n


# ---------------------------------------------------------------- values against NumPy

def test_values_match_numpy() -> None:
    rng = np.random.default_rng(0)
    a, s, b = general(rng, (2, 4, 4)), spd(rng, (2, 4, 4)), rng.standard_normal((2, 4, 3))
    np.testing.assert_allclose(la.cholesky(s), np.linalg.cholesky(s), rtol=1e-12)
    np.testing.assert_allclose(la.solve(a, b), np.linalg.solve(a, b), rtol=1e-12)
    np.testing.assert_allclose(la.inv(a), np.linalg.inv(a), rtol=1e-12)
    np.testing.assert_allclose(la.det(a), np.linalg.det(a), rtol=1e-12)
    for got, want in zip(la.slogdet(a), np.linalg.slogdet(a)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    v, w = la.eigh(s)
    np.testing.assert_allclose(w, np.linalg.eigvalsh(s), rtol=1e-12)
    np.testing.assert_allclose((v * w[..., None, :]) @ np.swapaxes(v, -1, -2), s, atol=1e-12)
    np.testing.assert_allclose(la.svd(b, compute_uv=False), np.linalg.svd(b, compute_uv=False))
    for full in (True, False):
        u, sv, vh = la.svd(b, full_matrices=full)
        k = sv.shape[-1]
        np.testing.assert_allclose((u[..., :k] * sv[..., None, :]) @ vh[..., :k, :], b, atol=1e-12)
        q, r = la.qr(b, full_matrices=full)
        np.testing.assert_allclose(q @ r, b, atol=1e-12)
        eye = np.broadcast_to(np.eye(q.shape[-1]), q.shape[:-2] + (q.shape[-1],) * 2)
        np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q, eye, atol=1e-12)
        assert np.allclose(r, np.triu(r))


def test_eigh_reads_one_triangle() -> None:
    a = np.array([[2.0, 100.0], [1.0, 3.0]])
    _, w_low = la.eigh(a, symmetrize_input=False)
    _, w_up = la.eigh(a, lower=False, symmetrize_input=False)
    _, w_sym = la.eigh(a)
    np.testing.assert_allclose(w_low, np.linalg.eigvalsh(np.array([[2.0, 1.0], [1.0, 3.0]])))
    np.testing.assert_allclose(w_up, np.linalg.eigvalsh(np.array([[2.0, 100.0], [100.0, 3.0]])))
    np.testing.assert_allclose(w_sym, np.linalg.eigvalsh(np.array([[2.0, 50.5], [50.5, 3.0]])))


TRI_FLAGS = list(itertools.product([False, True], repeat=4))


def reference_triangular_solve(a: np.ndarray, b: np.ndarray, left_side: bool, lower: bool,
                               transpose_a: bool, unit_diagonal: bool) -> Array:
    t = np.tril(a) if lower else np.triu(a)
    if unit_diagonal:
        t = t - np.diag(np.diag(t)) + np.eye(a.shape[-1])
    if transpose_a:
        t = t.T
    return np.linalg.solve(t, b) if left_side else np.linalg.solve(t.T, b.T).T


@pytest.mark.parametrize("left_side,lower,transpose_a,unit_diagonal", TRI_FLAGS)
def test_triangular_solve_matches_dense_solve(left_side: bool, lower: bool, transpose_a: bool,
                                              unit_diagonal: bool) -> None:
    rng = np.random.default_rng(1)
    a = triangular_ish(rng, (5, 5))
    b = rng.standard_normal((5, 3) if left_side else (3, 5))
    x = la.triangular_solve(a, b, left_side=left_side, lower=lower, transpose_a=transpose_a,
                            unit_diagonal=unit_diagonal)
    want = reference_triangular_solve(a, b, left_side, lower, transpose_a, unit_diagonal)
    np.testing.assert_allclose(x, want, rtol=1e-12, atol=1e-12)


def test_failures_give_nan_for_that_matrix_only() -> None:
    a = np.stack([np.eye(2), -np.eye(2)])
    out = la.cholesky(a)
    np.testing.assert_array_equal(out[0], np.eye(2))
    assert np.isnan(out[1]).all()
    sing = np.stack([np.eye(2), np.zeros((2, 2))])
    assert np.isnan(la.inv(sing)[1]).all() and not np.isnan(la.inv(sing)[0]).any()
    assert np.isnan(la.solve(sing, np.ones((2, 2, 1)))[1]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_are_kept(dtype: Any) -> None:
    a = spd(np.random.default_rng(2), (3, 3)).astype(dtype)
    b = np.ones((3, 2), dtype)
    outs = [la.cholesky(a), la.solve(a, b), la.inv(a), la.det(a), *la.slogdet(a), *la.eigh(a),
            *la.svd(a), *la.qr(a), la.triangular_solve(a, b, left_side=True)]
    assert all(np.asarray(o).dtype == dtype for o in outs)


# ---------------------------------------------------------------- derivatives

def _tri(flags: tuple[bool, ...]) -> tuple[str, Callable[..., Any], Callable[..., Any]]:
    left_side, lower, transpose_a, unit_diagonal = flags

    def make(rng: np.random.Generator, batch: tuple[int, ...], n: int) -> tuple[Any, ...]:
        k = 2
        b_shape = batch + ((n, k) if left_side else (k, n))
        return triangular_ish(rng, batch + (n, n)), rng.standard_normal(b_shape)

    def f(a: Array, b: Array) -> Array:
        return la.triangular_solve(a, b, left_side=left_side, lower=lower,
                                   transpose_a=transpose_a, unit_diagonal=unit_diagonal)
    return f"triangular_solve{flags}", make, f


def _square(gen: Callable[..., Array]) -> Callable[..., tuple[Array]]:
    return lambda rng, batch, n: (gen(rng, batch + (n, n)),)


def _eigh_invariants(x: Array) -> Any:
    v, w = la.eigh(x)
    return w, mm(scale_cols(v, lax.exp(w)), mT(v)), first_col_projector(v)


def _svd_reduced(x: Array) -> Any:
    u, s, vh = la.svd(x, full_matrices=False)
    return s, mm(scale_cols(u, lax.sin(s)), vh), mm(u, mT(u)), mm(mT(vh), vh), \
        first_col_projector(u)


def _rect(m_extra: int, n_extra: int) -> Callable[..., tuple[Array]]:
    return lambda rng, batch, n: (with_singular_values(rng, batch + (n + m_extra, n + n_extra)),)


def _solve_args(rng: np.random.Generator, batch: tuple[int, ...], n: int) -> tuple[Any, ...]:
    return general(rng, batch + (n, n)), rng.standard_normal(batch + (n, 2))


GRAD_CASES: list[tuple[str, Callable[..., Any], Callable[..., Any]]] = [
    ("cholesky", _square(spd), la.cholesky),
    ("solve", _solve_args, la.solve),
    ("inv", _square(general), la.inv),
    ("det", _square(general), la.det),
    ("slogdet", _square(general), lambda a: la.slogdet(a)[1]),
    ("eigh", _square(symmetric), _eigh_invariants),
    ("svd_square", _rect(0, 0), _svd_reduced),
    ("svd_tall", _rect(2, 0), _svd_reduced),
    ("svd_wide", _rect(0, 1), _svd_reduced),
    ("svd_values", _rect(1, 0), lambda x: la.svd(x, compute_uv=False)),
    ("qr_square", _square(general), lambda x: la.qr(x)),
    ("qr_tall", _rect(2, 0), lambda x: la.qr(x, full_matrices=False)),
] + [_tri(flags) for flags in TRI_FLAGS]


@pytest.mark.parametrize("name,make,f", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
@settings(max_examples=12)
@given(problems())
def test_grads_order2(name: str, make: Callable[..., Any], f: Callable[..., Any],
                      problem: tuple[np.random.Generator, tuple[int, ...], int]) -> None:
    rng, batch, n = problem
    check_grads(f, make(rng, batch, n), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name,make,f", GRAD_CASES[:12], ids=[c[0] for c in GRAD_CASES[:12]])
def test_grads_float32(name: str, make: Callable[..., Any], f: Callable[..., Any]) -> None:
    args = [a.astype(np.float32) for a in make(np.random.default_rng(3), (2,), 3)]
    check_grads(f, args, order=1, modes=("fwd", "rev"))


# ---------------------------------------------------------------- closed forms

def test_grad_logdet_is_inverse_transpose() -> None:
    a = general(np.random.default_rng(4), (4, 4))
    g = fungrad.grad(lambda a: la.slogdet(a)[1])(a)
    np.testing.assert_allclose(g, np.linalg.inv(a).T, rtol=1e-10)
    g = fungrad.grad(la.det)(a)
    np.testing.assert_allclose(g, np.linalg.det(a) * np.linalg.inv(a).T, rtol=1e-10)


def test_grad_trace_of_inverse() -> None:
    a = general(np.random.default_rng(5), (4, 4))
    g = fungrad.grad(lambda a: lax.reduce_sum(lax.mul(la.inv(a), np.eye(4)), (0, 1)))(a)
    inv = np.linalg.inv(a)
    np.testing.assert_allclose(g, -(inv @ inv).T, rtol=1e-10)


def test_grad_of_quadratic_form_through_cholesky_solves() -> None:
    # xᵀ A⁻¹ x computed as |L⁻¹ x|² has gradient -A⁻¹ x xᵀ A⁻¹ in A (symmetrized).
    rng = np.random.default_rng(6)
    a, x = spd(rng, (4, 4)), rng.standard_normal((4, 1))

    def f(a: Array) -> Array:
        z = la.triangular_solve(la.cholesky(a), x, left_side=True, lower=True)
        return lax.reduce_sum(lax.mul(z, z), (0, 1))
    y = np.linalg.solve(a, x)
    np.testing.assert_allclose(fungrad.grad(f)(a), -y @ y.T, rtol=1e-10)


def test_eigenvalue_gradient_is_outer_product_of_eigenvector() -> None:
    a = symmetric(np.random.default_rng(7), (4, 4))
    w, v = np.linalg.eigh(a)
    g = fungrad.grad(lambda a: lax.reduce_sum(lax.mul(la.eigh(a)[1], np.arange(4.0)), (0,)))(a)
    np.testing.assert_allclose(g, (v * np.arange(4.0)) @ v.T, atol=1e-10)


def test_largest_singular_value_gradient() -> None:
    x = with_singular_values(np.random.default_rng(8), (5, 3))
    u, s, vh = np.linalg.svd(x)
    g = fungrad.grad(lambda x: lax.reduce_sum(lax.mul(la.svd(x, compute_uv=False),
                                                      np.array([1.0, 0, 0])), (0,)))(x)
    np.testing.assert_allclose(g, np.outer(u[:, 0], vh[0]), atol=1e-10)


# ---------------------------------------------------------------- vmap against a loop

VMAP_CASES: list[tuple[str, Callable[..., Any], Callable[..., Any]]] = [
    ("cholesky", _square(spd), la.cholesky),
    ("solve", _solve_args, la.solve),
    ("inv", _square(general), la.inv),
    ("det", _square(general), la.det),
    ("slogdet", _square(general), la.slogdet),
    ("eigh", _square(symmetric), lambda x: la.eigh(x)[1]),
    ("svd", _rect(1, 0), lambda x: la.svd(x, compute_uv=False)),
    ("qr", _rect(1, 0), lambda x: la.qr(x)),
    _tri((True, True, False, False)),
    _tri((False, False, True, True)),
]


@pytest.mark.parametrize("name,make,f", VMAP_CASES, ids=[c[0] for c in VMAP_CASES])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_vmap_matches_loop(name: str, make: Callable[..., Any], f: Callable[..., Any],
                           axis: int) -> None:
    rng = np.random.default_rng(9)
    examples = [make(rng, (), 3) for _ in range(4)]
    args = [np.stack([ex[i] for ex in examples], axis) for i in range(len(examples[0]))]
    got = fungrad.vmap(f, in_axes=axis)(*args)
    want = [f(*ex) for ex in examples]
    for leaf_got, *leaf_want in zip(fungrad.tree_util.tree_leaves(got),
                                    *[fungrad.tree_util.tree_leaves(w) for w in want]):
        np.testing.assert_allclose(leaf_got, np.stack(leaf_want), rtol=1e-10, atol=1e-12)


def test_vmap_with_unbatched_matrix() -> None:
    rng = np.random.default_rng(10)
    a, bs = general(rng, (3, 3)), rng.standard_normal((5, 3, 2))
    got = fungrad.vmap(la.solve, in_axes=(None, 0))(a, bs)
    np.testing.assert_allclose(got, np.stack([np.linalg.solve(a, b) for b in bs]), rtol=1e-12)
    tri = fungrad.vmap(lambda b: la.triangular_solve(a, b, left_side=True, lower=True))(bs)
    np.testing.assert_allclose(tri, np.stack([np.linalg.solve(np.tril(a), b) for b in bs]),
                               rtol=1e-12)


@pytest.mark.parametrize("left_side", [True, False])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_vmap_triangular_solve_folds_batch_of_rhs(left_side: bool, axis: int) -> None:
    rng = np.random.default_rng(13)
    a = triangular_ish(rng, (2, 4, 4))
    bs = np.moveaxis(rng.standard_normal((5, 2) + ((4, 3) if left_side else (3, 4))), 0, axis)

    def f(b: Array) -> Array:
        return la.triangular_solve(a, b, left_side=left_side, transpose_a=True)
    want = np.stack([reference_triangular_solve(a[j], np.take(bs, i, axis)[j], left_side, False,
                                                True, False) for i in range(5) for j in range(2)])
    got = fungrad.vmap(f, in_axes=axis)(bs)
    np.testing.assert_allclose(got, want.reshape(got.shape), rtol=1e-12)


def test_jit_of_grad_and_vmap_through_linalg() -> None:
    rng = np.random.default_rng(14)
    a, bs = spd(rng, (4, 4)), rng.standard_normal((3, 4))

    def f(a: Array, b: Array) -> Array:
        x = fnp.linalg.solve(a, b)
        return fnp.sum(x * x) + fnp.linalg.slogdet(a)[1] + fnp.sum(fnp.linalg.cholesky(a)) \
            + fnp.sum(fnp.linalg.eigvalsh(a) ** 2) + fnp.linalg.norm(a, "nuc")
    g = fungrad.vmap(fungrad.grad(f), in_axes=(None, 0))
    np.testing.assert_allclose(fungrad.jit(g)(a, bs), np.stack([fungrad.grad(f)(a, b) for b in bs]),
                               rtol=1e-10)


def test_vmap_of_grad_matches_loop() -> None:
    rng = np.random.default_rng(11)
    a = general(rng, (4, 3, 3))
    g = fungrad.vmap(fungrad.grad(lambda a: la.slogdet(a)[1]))(a)
    np.testing.assert_allclose(g, np.swapaxes(np.linalg.inv(a), -1, -2), rtol=1e-10)


# ---------------------------------------------------------------- shape errors

def _shape(*shape: int, dtype: Any = np.float64) -> Any:
    return fungrad.ShapeDtypeStruct(shape, dtype)


@pytest.mark.parametrize("f,args,match", [
    (la.cholesky, (_shape(3, 4),), "square"),
    (la.inv, (_shape(3),), "matrix"),
    (la.det, (_shape(2, 2, dtype=np.int64),), "float"),
    (la.solve, (_shape(3, 3), _shape(4, 1)), "3 rows"),
    (la.solve, (_shape(2, 3, 3), _shape(3, 3, 1)), "batch shape"),
    (la.solve, (_shape(3, 3), _shape(3, 1, dtype=np.float32)), "one dtype"),
    (lambda a, b: la.triangular_solve(a, b), (_shape(3, 3), _shape(3, 2)), "3 columns"),
    (la.eigh, (_shape(2, 3),), "square"),
    (la.svd, (_shape(3),), "matrix"),
    (la.qr, (_shape(3, dtype=np.int32),), "matrix"),
])
def test_shape_errors(f: Callable[..., Any], args: tuple[Any, ...], match: str) -> None:
    with pytest.raises(ShapeError, match=match):
        fungrad.make_jaxpr(f)(*args)


def test_shape_rules_through_make_jaxpr() -> None:
    jaxpr = fungrad.make_jaxpr(lambda x: la.svd(x, full_matrices=False))(_shape(2, 5, 3))
    assert [str(v.aval) for v in jaxpr.outvars] == ["f64[2,5,3]", "f64[2,3]", "f64[2,3,3]"]
    jaxpr = fungrad.make_jaxpr(lambda x: la.qr(x))(_shape(5, 3, dtype=np.float32))
    assert [str(v.aval) for v in jaxpr.outvars] == ["f32[5,5]", "f32[5,3]"]


def test_unsupported_derivatives_raise() -> None:
    x = np.ones((3, 2)) + np.eye(3, 2)
    with pytest.raises(NotImplementedError, match="full_matrices"):
        fungrad.jvp(lambda x: la.svd(x)[0], (x,), (x,))
    with pytest.raises(NotImplementedError, match="qr"):
        fungrad.jvp(lambda x: la.qr(x)[0], (x,), (x,))


# ---------------------------------------------------------------- fungrad.numpy.linalg



def _rng() -> np.random.Generator:
    return np.random.default_rng(12)


NP_CASES: list[tuple[str, Any, Any, Any]] = [
    ("cholesky", fnp.linalg.cholesky, np.linalg.cholesky, lambda r: (spd(r, (2, 3, 3)),)),
    ("cholesky_upper", lambda a: fnp.linalg.cholesky(a, upper=True),
     lambda a: np.linalg.cholesky(a, upper=True), lambda r: (spd(r, (3, 3)),)),
    ("det", fnp.linalg.det, np.linalg.det, lambda r: (general(r, (2, 3, 3)),)),
    ("slogdet", fnp.linalg.slogdet, np.linalg.slogdet, lambda r: (-general(r, (3, 3)),)),
    ("inv", fnp.linalg.inv, np.linalg.inv, lambda r: (general(r, (3, 3)),)),
    ("inv_int", fnp.linalg.inv, np.linalg.inv, lambda r: (np.array([[2, 1], [1, 1]]),)),
    ("solve_vector", fnp.linalg.solve, np.linalg.solve,
     lambda r: (general(r, (2, 3, 3)), r.standard_normal(3))),
    ("solve_broadcast", fnp.linalg.solve, np.linalg.solve,
     lambda r: (general(r, (3, 3)), r.standard_normal((4, 3, 2)))),
    ("solve_batch_broadcast", fnp.linalg.solve, np.linalg.solve,
     lambda r: (general(r, (2, 1, 3, 3)), r.standard_normal((5, 3, 2)))),
    ("eigvalsh", fnp.linalg.eigvalsh, np.linalg.eigvalsh, lambda r: (symmetric(r, (2, 4, 4)),)),
    ("eigvalsh_upper", lambda a: fnp.linalg.eigvalsh(a, "U", symmetrize_input=False),
     lambda a: np.linalg.eigvalsh(a, "U"), lambda r: (r.standard_normal((4, 4)),)),
    ("svdvals", fnp.linalg.svdvals, np.linalg.svdvals, lambda r: (r.standard_normal((2, 5, 3)),)),
    ("qr_r", lambda a: np.abs(fnp.linalg.qr(a, "r")), lambda a: np.abs(np.linalg.qr(a, "r")),
     lambda r: (r.standard_normal((5, 3)),)),
    ("pinv_tall", fnp.linalg.pinv, np.linalg.pinv, lambda r: (r.standard_normal((5, 3)),)),
    ("pinv_rank_deficient", fnp.linalg.pinv, np.linalg.pinv,
     lambda r: (np.outer(r.standard_normal(4), r.standard_normal(3)),)),
    ("matrix_rank", fnp.linalg.matrix_rank, np.linalg.matrix_rank,
     lambda r: (np.stack([np.outer(r.standard_normal(4), r.standard_normal(3)),
                          r.standard_normal((4, 3))]),)),
    ("matrix_power_3", lambda a: fnp.linalg.matrix_power(a, 3),
     lambda a: np.linalg.matrix_power(a, 3), lambda r: (r.standard_normal((2, 3, 3)),)),
    ("matrix_power_0", lambda a: fnp.linalg.matrix_power(a, 0),
     lambda a: np.linalg.matrix_power(a, 0), lambda r: (r.standard_normal((3, 3)),)),
    ("matrix_power_-2", lambda a: fnp.linalg.matrix_power(a, -2),
     lambda a: np.linalg.matrix_power(a, -2), lambda r: (general(r, (3, 3)),)),
    ("lstsq", lambda a, b: fnp.linalg.lstsq(a, b)[0], lambda a, b: np.linalg.lstsq(a, b)[0],
     lambda r: (r.standard_normal((6, 3)), r.standard_normal((6, 2)))),
    ("lstsq_resid", lambda a, b: fnp.linalg.lstsq(a, b)[1],
     lambda a, b: np.linalg.lstsq(a, b)[1],
     lambda r: (r.standard_normal((6, 3)), r.standard_normal(6))),
    ("cond", fnp.linalg.cond, np.linalg.cond, lambda r: (general(r, (3, 3)),)),
    ("cond_1", lambda a: fnp.linalg.cond(a, 1), lambda a: np.linalg.cond(a, 1),
     lambda r: (general(r, (3, 3)),)),
    ("matrix_norm_nuc", lambda a: fnp.linalg.matrix_norm(a, ord="nuc"),
     lambda a: np.linalg.matrix_norm(a, ord="nuc"), lambda r: (r.standard_normal((2, 3, 4)),)),
    ("vector_norm_3", lambda a: fnp.linalg.vector_norm(a, axis=1, ord=3),
     lambda a: np.linalg.vector_norm(a, axis=1, ord=3), lambda r: (r.standard_normal((2, 3)),)),
] + [
    (f"norm_{ord}_{axis}_{keepdims}", lambda a, o=ord, ax=axis, k=keepdims: fnp.linalg.norm(a, o, ax, k),
     lambda a, o=ord, ax=axis, k=keepdims: np.linalg.norm(a, o, ax, k),
     lambda r, ax=axis: (r.standard_normal((3, 4) if ax is None else (2, 3, 4)),))
    for ord, axis in [(None, None), ("fro", None), ("nuc", None), (1, None), (-1, None),
                      (2, None), (-2, None), (np.inf, None), (-np.inf, None), (None, 1),
                      (0, 2), (1, 0), (np.inf, -1), (-np.inf, 1), (0.5, 2), (3, 1),
                      ("fro", (0, 2)), (2, (2, 1)), (-np.inf, (1, 0)), (1, (0, 2))]
    for keepdims in (False, True)
]


@pytest.mark.parametrize("name,ours,theirs,make", NP_CASES, ids=[c[0] for c in NP_CASES])
def test_numpy_linalg_matches_numpy(name: str, ours: Callable[..., Any],
                                    theirs: Callable[..., Any],
                                    make: Callable[..., tuple[Any, ...]]) -> None:
    args = make(_rng())
    got, want = ours(*args), theirs(*args)
    for g, w in zip(fungrad.tree_util.tree_leaves(got), fungrad.tree_util.tree_leaves(want)):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_numpy_linalg_result_types() -> None:
    a = spd(_rng(), (3, 3))
    w, v = fnp.linalg.eigh(a)
    assert isinstance(fnp.linalg.eigh(a), fnp.linalg.EighResult)
    np.testing.assert_allclose((v * w) @ v.T, a, atol=1e-12)
    u, s, vh = res = fnp.linalg.svd(a[:, :2])
    assert isinstance(res, fnp.linalg.SVDResult) and u.shape == (3, 3) and vh.shape == (2, 2)
    q, r = res2 = fnp.linalg.qr(a[:, :2], mode="complete")
    assert isinstance(res2, fnp.linalg.QRResult) and q.shape == (3, 3) and r.shape == (3, 2)
    assert isinstance(fnp.linalg.slogdet(a), fnp.linalg.SlogdetResult)
    assert fnp.linalg.inv(a.astype(np.float32)).dtype == np.float32


def test_numpy_linalg_errors() -> None:
    with pytest.raises(np.linalg.LinAlgError, match="two-dimensional"):
        fnp.linalg.inv(np.ones(3))
    with pytest.raises(ValueError, match="mode"):
        fnp.linalg.qr(np.eye(2), mode="economic")
    with pytest.raises(ValueError, match="ord"):
        fnp.linalg.norm(np.eye(2), ord="bad")
    with pytest.raises(ShapeError):
        fnp.linalg.solve(np.eye(3), np.ones(2))


NP_GRAD_CASES: list[tuple[str, Callable[..., Any], Callable[..., tuple[Any, ...]]]] = [
    ("solve_vector", fnp.linalg.solve, lambda r: (general(r, (3, 3)), r.standard_normal(3))),
    ("solve_broadcast", fnp.linalg.solve,
     lambda r: (general(r, (3, 3)), r.standard_normal((2, 3, 2)))),
    ("pinv_tall", fnp.linalg.pinv, lambda r: (with_singular_values(r, (4, 3)),)),
    ("pinv_wide", fnp.linalg.pinv, lambda r: (with_singular_values(r, (2, 4)),)),
    ("lstsq", lambda a, b: fnp.linalg.lstsq(a, b)[0],
     lambda r: (with_singular_values(r, (5, 3)), r.standard_normal(5))),
    ("norm_fro", fnp.linalg.norm, lambda r: (r.standard_normal((3, 4)),)),
    ("norm_nuc", lambda a: fnp.linalg.norm(a, "nuc"), lambda r: (with_singular_values(r, (3, 4)),)),
    ("norm_2", lambda a: fnp.linalg.norm(a, 2), lambda r: (with_singular_values(r, (3, 4)),)),
    ("norm_3", lambda a: fnp.linalg.norm(a, 3, axis=1), lambda r: (r.standard_normal((2, 4)) + 3,)),
    ("matrix_power", lambda a: fnp.linalg.matrix_power(a, -3), lambda r: (general(r, (3, 3)),)),
    ("cond", fnp.linalg.cond, lambda r: (with_singular_values(r, (3, 3)),)),
    ("eigh", lambda a: fnp.linalg.eigh(a).eigenvalues, lambda r: (symmetric(r, (3, 3)),)),
    ("solve_triangular", lambda a, b: fsl.solve_triangular(a, b, trans="T", lower=True),
     lambda r: (triangular_ish(r, (3, 3)), r.standard_normal(3))),
    ("cho_solve", lambda a, b: fsl.cho_solve(fsl.cho_factor(a), b),
     lambda r: (spd(r, (2, 3, 3)), r.standard_normal((2, 3, 1)))),
    ("scipy_solve_pos", lambda a, b: fsl.solve(a, b, assume_a="pos", lower=True),
     lambda r: (spd(r, (3, 3)) + np.triu(r.standard_normal((3, 3)), 1), r.standard_normal(3))),
    ("scipy_eigh_upper", lambda a: fsl.eigh(a, lower=False)[0],
     lambda r: (symmetric(r, (3, 3)) + np.tril(r.standard_normal((3, 3)), -1),)),
]


@pytest.mark.parametrize("name,f,make", NP_GRAD_CASES, ids=[c[0] for c in NP_GRAD_CASES])
def test_numpy_and_scipy_linalg_grads(name: str, f: Callable[..., Any],
                                      make: Callable[..., tuple[Any, ...]]) -> None:
    check_grads(f, make(_rng()), order=2, modes=("fwd", "rev"))


def test_pinv_gradient_closed_form() -> None:
    # For full column rank, pinv(A) = (AᵀA)⁻¹Aᵀ: compare derivatives with that formula's.
    a = with_singular_values(_rng(), (4, 2))
    u = _rng().standard_normal((2, 4))
    g = fungrad.grad(lambda a: fnp.sum(fnp.linalg.pinv(a) * u))(a)
    ref = fungrad.grad(lambda a: fnp.sum(fnp.linalg.solve(a.T @ a, a.T) * u))(a)
    np.testing.assert_allclose(g, ref, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- fungrad.scipy.linalg

@pytest.mark.parametrize("trans", [0, 1, 2, "N", "T", "C"])
@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("b_shape", [(4,), (4, 2), (3, 4, 2)])
def test_solve_triangular_matches_dense(trans: Any, lower: bool, b_shape: tuple[int, ...]) -> None:
    rng = _rng()
    a, b = triangular_ish(rng, (4, 4)), rng.standard_normal(b_shape)
    t = np.tril(a) if lower else np.triu(a)
    if trans in (1, 2, "T", "C"):
        t = t.T
    want = np.linalg.solve(t, b[..., None])[..., 0] if b.ndim == 1 else np.linalg.solve(t, b)
    np.testing.assert_allclose(fsl.solve_triangular(a, b, trans=trans, lower=lower), want,
                               rtol=1e-12)


@pytest.mark.parametrize("lower", [False, True])
def test_cho_factor_and_solve(lower: bool) -> None:
    rng = _rng()
    a, b = spd(rng, (2, 4, 4)), rng.standard_normal((2, 4, 3))
    c, low = fsl.cho_factor(a, lower=lower)
    assert low is lower
    L = np.linalg.cholesky(a)
    np.testing.assert_allclose(c, L if lower else np.swapaxes(L, -1, -2), rtol=1e-12)
    np.testing.assert_allclose(fsl.cho_solve((c, low), b), np.linalg.solve(a, b), rtol=1e-10)
    np.testing.assert_allclose(fsl.cholesky(a[0]), L[0].T, rtol=1e-12)
    np.testing.assert_allclose(fsl.solve(a[0], b[0], assume_a="pos"), np.linalg.solve(a[0], b[0]),
                               rtol=1e-10)

"""Complex linear algebra against JAX (x64): values, and grad / jvp / vmap / jit of real-valued,
gauge-invariant functions of complex matrices, run as the same program on both libraries.

JAX's convention for ``grad`` of a real function of complex ``z`` (the conjugate of ``2 ∂f/∂z̄``)
is compared directly with ``jax.grad``; eigenvectors and singular vectors enter only through
quantities invariant to their phases (``V g(w) Vᴴ``, ``U g(s) Vᴴ``)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fungrad
import fungrad.numpy as fnp
import fungrad.scipy.linalg as fsl
from fungrad.lax import linalg as la
from tests.jax_oracle import load_jax

jax = load_jax()
jnp = jax.numpy

Array = Any


# ---------------------------------------------------------------- well-conditioned complex inputs

def crandn(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def general(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    """Eigenvalues near 3, well inside a disk that avoids 0."""
    return crandn(rng, shape) / (2 * np.sqrt(shape[-1])) + 3 * np.eye(shape[-1])


def hermitian_pd(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    """Hermitian with eigenvalues 1, 2, ..., n (well separated: eigenvector derivatives finite)."""
    n = shape[-1]
    q, _ = np.linalg.qr(crandn(rng, shape))
    return (q * np.arange(1.0, n + 1)) @ np.conj(np.swapaxes(q, -1, -2))


def distinct_sv(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    """Singular values 1, 2, ..., k: well separated and away from 0."""
    m, n = shape[-2:]
    k = min(m, n)
    u, _ = np.linalg.qr(crandn(rng, shape[:-2] + (m, k)))
    v, _ = np.linalg.qr(crandn(rng, shape[:-2] + (n, k)))
    return (u * np.arange(1.0, k + 1)) @ np.conj(np.swapaxes(v, -1, -2))


def H(xp: Any, x: Array) -> Array:
    return xp.conj(xp.swapaxes(x, -1, -2))


def pairing(xp: Any, x: Array, c: Array) -> Array:
    """``Re Σ x c``: a real scalar that sees every entry's real and imaginary part."""
    return xp.sum(xp.real(x * c))


# ---------------------------------------------------------------- the programs, one per function
# Each ``f(xp, a, b, c)`` is real-valued; ``b`` is a right-hand side, ``c`` weights.

def f_cholesky(xp: Any, a: Array, b: Array, c: Array) -> Array:
    L = xp.linalg.cholesky(a)
    return pairing(xp, L, c) + pairing(xp, xp.linalg.cholesky(a, upper=True), b)


def f_solve(xp: Any, a: Array, b: Array, c: Array) -> Array:
    return pairing(xp, xp.linalg.solve(a, b), c[..., :1]) + xp.sum(xp.abs(xp.linalg.solve(a, b)))


def f_inv(xp: Any, a: Array, b: Array, c: Array) -> Array:
    return pairing(xp, xp.linalg.inv(a), c)


def f_det(xp: Any, a: Array, b: Array, c: Array) -> Array:
    return xp.sum(xp.real(xp.linalg.det(a) * c[..., 0, 0])) + xp.sum(xp.abs(xp.linalg.det(a)))


def f_slogdet(xp: Any, a: Array, b: Array, c: Array) -> Array:
    sign, logabsdet = xp.linalg.slogdet(a)
    return xp.sum(logabsdet) + xp.sum(xp.real(sign * c[..., 0, 0]))


def f_eigh(xp: Any, a: Array, b: Array, c: Array) -> Array:
    w, v = xp.linalg.eigh(a)
    g = xp.sin(w)                          # V g(w) Vᴴ: invariant to the eigenvectors' phases
    return pairing(xp, (v * g[..., None, :]) @ H(xp, v), c) + xp.sum(w * w)


def f_svd(xp: Any, a: Array, b: Array, c: Array) -> Array:
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    g = xp.cos(s)                          # U g(s) Vᴴ: invariant to the phases of singular pairs
    return pairing(xp, (u * g[..., None, :]) @ vh, c) + xp.sum(s * s * s)


def f_qr(xp: Any, a: Array, b: Array, c: Array) -> Array:
    q, r = xp.linalg.qr(a)                 # unique: LAPACK's R has a real diagonal
    return pairing(xp, q, c) + pairing(xp, r, b)


PROGRAMS: dict[str, tuple[Callable[..., Array], Callable[..., Array]]] = {
    "cholesky": (f_cholesky, hermitian_pd), "solve": (f_solve, general),
    "inv": (f_inv, general), "det": (f_det, general), "slogdet": (f_slogdet, general),
    "eigh": (f_eigh, hermitian_pd), "svd": (f_svd, distinct_sv), "qr": (f_qr, distinct_sv),
}


def operands(name: str, seed: int, shape: tuple[int, ...]) -> tuple[Array, Array, Array]:
    rng = np.random.default_rng(seed)
    a = PROGRAMS[name][1](rng, shape)
    return a, crandn(rng, shape), crandn(rng, shape)


def close(got: Array, want: Array) -> None:
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-8, atol=1e-9)


square = st.tuples(st.integers(0, 2**31), st.integers(1, 4))


# ---------------------------------------------------------------- values

@given(square)
def test_values_match_jax(case: tuple[int, int]) -> None:
    seed, n = case
    a, b, _ = operands("solve", seed, (n, n))
    p, _, _ = operands("cholesky", seed, (n, n))
    close(fnp.linalg.solve(a, b), jnp.linalg.solve(a, b))
    close(fnp.linalg.inv(a), jnp.linalg.inv(a))
    close(fnp.linalg.det(a), jnp.linalg.det(a))
    for got, want in zip(fnp.linalg.slogdet(a), jnp.linalg.slogdet(a)):
        assert np.asarray(got).dtype == np.asarray(want).dtype
        close(got, want)
    close(fnp.linalg.cholesky(p), jnp.linalg.cholesky(p))
    close(fnp.linalg.cholesky(p, upper=True), jnp.linalg.cholesky(p, upper=True))
    w = fnp.linalg.eigvalsh(p)
    assert w.dtype == np.float64
    close(w, jnp.linalg.eigvalsh(p))
    close(fnp.linalg.svd(a, compute_uv=False), jnp.linalg.svd(a, compute_uv=False))
    for got, want in zip(fnp.linalg.qr(a), jnp.linalg.qr(a)):
        close(got, want)


@pytest.mark.parametrize("conjugate_a", [False, True])
@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("left_side", [False, True])
def test_triangular_solve_matches_jax(left_side: bool, transpose_a: bool,
                                      conjugate_a: bool) -> None:
    rng = np.random.default_rng(0)
    a = general(rng, (3, 3))
    b = crandn(rng, (3, 2) if left_side else (2, 3))
    c = crandn(rng, b.shape)
    kw = dict(left_side=left_side, lower=True, transpose_a=transpose_a, conjugate_a=conjugate_a)

    def f(xp: Any, solver: Callable[..., Array]) -> Callable[[Array, Array], Array]:
        return lambda a, b: pairing(xp, solver(a, b, **kw), c)
    ours, theirs = f(fnp, la.triangular_solve), f(jnp, jax.lax.linalg.triangular_solve)
    close(la.triangular_solve(a, b, **kw), jax.lax.linalg.triangular_solve(a, b, **kw))
    for got, want in zip(fungrad.grad(ours, (0, 1))(a, b), jax.grad(theirs, (0, 1))(a, b)):
        close(got, want)


# ---------------------------------------------------------------- derivatives

@pytest.mark.parametrize("name", list(PROGRAMS))
@given(case=square)
def test_grad_matches_jax(name: str, case: tuple[int, int]) -> None:
    seed, n = case
    a, b, c = operands(name, seed, (n, n))
    f = PROGRAMS[name][0]
    got = fungrad.grad(lambda a, b: f(fnp, a, b, c), (0, 1))(a, b)
    want = jax.grad(lambda a, b: f(jnp, a, b, c), (0, 1))(a, b)
    for g, w in zip(got, want):
        close(g, w)


@pytest.mark.parametrize("name", ["svd", "qr"])
@pytest.mark.parametrize("shape", [(4, 2), (2, 4)])
def test_grad_of_rectangular_matches_jax(name: str, shape: tuple[int, int]) -> None:
    if name == "qr" and shape[0] < shape[1]:
        pytest.skip("qr of a wide matrix has no derivative (in JAX either)")
    a, b, c = operands(name, 7, shape)
    b = b[..., :min(shape), :] if name == "qr" else b
    f = PROGRAMS[name][0]
    got = fungrad.grad(lambda a: f(fnp, a, b, c[..., :, :min(shape)] if name == "qr" else c))(a)
    want = jax.grad(lambda a: f(jnp, a, b, c[..., :, :min(shape)] if name == "qr" else c))(a)
    close(got, want)


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_jvp_matches_jax(name: str) -> None:
    a, b, c = operands(name, 3, (3, 3))
    rng = np.random.default_rng(4)
    da = crandn(rng, a.shape)
    if name in ("cholesky", "eigh"):
        da = da + H(np, da)                # a Hermitian direction: stays on the Hermitian inputs
    f = PROGRAMS[name][0]
    got = fungrad.jvp(lambda a: f(fnp, a, b, c), (a,), (da,))
    want = jax.jvp(lambda a: f(jnp, a, b, c), (a,), (da,))
    close(got[0], want[0])
    close(got[1], want[1])


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_jit_vmap_grad_matches_jax(name: str) -> None:
    a, b, c = operands(name, 5, (3, 3, 3))
    f = PROGRAMS[name][0]
    got = fungrad.jit(fungrad.vmap(fungrad.grad(lambda a, b, c: f(fnp, a, b, c))))(a, b, c)
    want = jax.jit(jax.vmap(jax.grad(lambda a, b, c: f(jnp, a, b, c))))(a, b, c)
    close(got, want)
    close(fungrad.vmap(lambda a, b, c: f(fnp, a, b, c))(a, b, c),
          jax.vmap(lambda a, b, c: f(jnp, a, b, c))(a, b, c))


def test_eigh_and_svd_give_real_spectra() -> None:
    a = hermitian_pd(np.random.default_rng(1), (3, 3))
    v, w = la.eigh(a)
    assert w.dtype == np.float64 and v.dtype == np.complex128
    s = la.svd(a.astype(np.complex64), compute_uv=False)
    assert s.dtype == np.float32


GAUGED = {
    "svd": (lambda a: la.svd(a, full_matrices=False),
            lambda a: jax.lax.linalg.svd(a, full_matrices=False), distinct_sv),
    "eigh": (la.eigh, jax.lax.linalg.eigh, hermitian_pd),
    "qr": (lambda a: la.qr(a, full_matrices=False),
           lambda a: jax.lax.linalg.qr(a, full_matrices=False), distinct_sv),
}


@pytest.mark.parametrize("name", list(GAUGED))
@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4)])
def test_jvp_of_vectors_follows_jax_gauge(name: str, shape: tuple[int, int]) -> None:
    """Both libraries call LAPACK, so the vectors' phases agree and so must their tangents: the
    phase terms JAX adds (svd's i Im(Uᴴ dA V)_ii / s_i, qr's real diagonal of R) are checked."""
    if name == "eigh" and shape[0] != shape[1] or name == "qr" and shape[0] < shape[1]:
        pytest.skip("eigh needs a square matrix; qr of a wide one has no derivative")
    ours, theirs, draw = GAUGED[name]
    rng = np.random.default_rng(11)
    a, da = draw(rng, shape), crandn(rng, shape)
    if name == "eigh":
        da = da + H(np, da)
    got, want = fungrad.jvp(ours, (a,), (da,)), jax.jvp(theirs, (a,), (da,))
    for g, w in zip(got[0] + got[1], list(want[0]) + list(want[1])):
        close(g, w)


# ---------------------------------------------------------------- functions built on the primitives

def _scipy(xp: Any) -> Any:
    return jax.scipy.linalg if xp is jnp else fsl


def _solve_pos(xp: Any, p: Array, b: Array) -> Array:
    """Ours: SciPy's ``solve(assume_a="pos")``. The reference is JAX's LU solve: JAX's own "pos"
    path (custom_linear_solve with symmetric=True) gives complex gradients that disagree with
    finite differences (-0.182-0.012j against -0.140+0.035j at one entry of this test's input)."""
    return fsl.solve(p, b, assume_a="pos") if xp is fnp else jnp.linalg.solve(p, b)


BUILT_ON: dict[str, Callable[..., Array]] = {
    "pinv": lambda xp, a, b: pairing(xp, xp.linalg.pinv(a[:, :2]), a[:2]),
    "lstsq": lambda xp, a, b: pairing(xp, xp.linalg.lstsq(a[:, :2], b)[0], b[:2])
    + xp.sum(xp.linalg.lstsq(a[:, :2], b)[1]),
    "norms": lambda xp, a, b: xp.linalg.norm(a) + xp.linalg.norm(a[0]) + xp.linalg.norm(a, 2),
    "cho_solve": lambda xp, a, b: sum(
        pairing(xp, _scipy(xp).cho_solve(_scipy(xp).cho_factor(a @ H(xp, a), lower=lower), b), b)
        for lower in (False, True)),
    "solve_pos": lambda xp, a, b: pairing(xp, _solve_pos(xp, a @ H(xp, a), b), b),
    "solve_triangular": lambda xp, a, b: sum(
        pairing(xp, _scipy(xp).solve_triangular(a, b, trans=t), b) for t in (0, 1, 2)),
}


@pytest.mark.parametrize("name", list(BUILT_ON))
def test_functions_built_on_the_primitives_match_jax(name: str) -> None:
    """pinv, lstsq, norms and the SciPy solvers take conjugate transposes (|x|², Lᴴ, aᴴ)."""
    rng = np.random.default_rng(2)
    a, b = general(rng, (3, 3)), crandn(rng, (3, 2))
    f = BUILT_ON[name]
    close(f(fnp, a, b), f(jnp, a, b))
    for got, want in zip(fungrad.grad(lambda a, b: f(fnp, a, b), (0, 1))(a, b),
                         jax.grad(lambda a, b: f(jnp, a, b), (0, 1))(a, b)):
        close(got, want)


def test_det_grad_at_a_singular_complex_matrix_matches_jax() -> None:
    """det's derivative is the adjugate, finite (and JAX's) where the matrix is singular."""
    rng = np.random.default_rng(9)
    a, c = crandn(rng, (3, 3)), crandn(rng, (3, 3))
    a[:, 2] = a[:, 0] * (1 - 2j)          # rank 2
    def f(xp: Any, a: Array) -> Array:     # no |det|: its phase at det ≈ 0 is rounding noise
        return xp.real(xp.linalg.det(a) * c[0, 0])
    close(fungrad.grad(lambda a: f(fnp, a))(a), jax.grad(lambda a: f(jnp, a))(a))

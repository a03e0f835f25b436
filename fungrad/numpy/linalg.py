"""``fungrad.numpy.linalg``: NumPy's linear algebra on fungrad values, like ``jax.numpy.linalg``.

Factorizations and solves are the primitives of ``fungrad.lax.linalg``; the rest (norms,
``pinv``, ``lstsq``, ``matrix_power``...) are built from them. Stacked matrices broadcast like
NumPy; integers are promoted to float64 (float16 to float32); failed factorizations give NaN.

>>> import fungrad, fungrad.numpy as fnp
>>> fungrad.grad(lambda a: fnp.linalg.slogdet(a)[1])(np.array([[2.0, 0.0], [0.0, 4.0]]))
array([[0.5 , 0.  ],
       [0.  , 0.25]])
"""
from __future__ import annotations

import functools
from typing import Any, NamedTuple

import numpy as np

import fungrad.numpy as fnp
from fungrad.core import get_aval
from fungrad.custom_derivatives import custom_jvp
from fungrad.errors import ShapeError
from fungrad.lax import linalg as lax_linalg
from fungrad.numpy.promotion import promote_inexact
from fungrad.source_info import at_user_line

__all__ = [
    "EigResult", "EighResult", "QRResult", "SlogdetResult", "SVDResult", "cholesky", "cond",
    "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh", "inv", "lstsq", "matmul",
    "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose", "multi_dot", "norm", "outer", "pinv", "qr", "slogdet",
    "solve", "svd", "svdvals", "tensordot", "trace", "vecdot", "vector_norm",
]


class EighResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


class QRResult(NamedTuple):
    Q: Any
    R: Any


class SlogdetResult(NamedTuple):
    sign: Any
    logabsdet: Any


class SVDResult(NamedTuple):
    U: Any
    S: Any
    Vh: Any


def inexact_operands(*xs: Any) -> list[Any]:
    """Operands as arrays of one float dtype (float32 or float64)."""
    out = promote_inexact(*[fnp.asarray(x) for x in xs])
    if get_aval(out[0]).dtype == np.float16:
        out = [fnp.asarray(x, np.float32) for x in out]
    return out


def _matrix(x: Any, name: str) -> Any:
    x, = inexact_operands(x)
    if x.ndim < 2:
        raise np.linalg.LinAlgError(f"{name}: {x.ndim}-dimensional array given; the array must "
                                    f"be at least two-dimensional{at_user_line()}")
    return x


def _mT(x: Any) -> Any:
    return fnp.swapaxes(x, -1, -2)


def _H(x: Any) -> Any:
    """The conjugate transpose (the transpose of a real matrix)."""
    return fnp.conj(_mT(x))


def _abs2(x: Any) -> Any:
    """``|x|²``, real (``x * x`` for real ``x``)."""
    return fnp.real(x * fnp.conj(x))


# ---------------------------------------------------------------- factorizations

def cholesky(a: Any, *, upper: bool = False, symmetrize_input: bool = True) -> Any:
    """Cholesky factor of symmetric positive definite ``a``: lower ``L`` with ``a = L Lᵀ`` (or
    upper ``U = Lᵀ``). NaN where ``a`` is not positive definite.

    >>> cholesky(np.array([[4.0, 2.0], [2.0, 5.0]]))
    array([[2., 0.],
           [1., 2.]])
    """
    L = lax_linalg.cholesky(_matrix(a, "cholesky"), symmetrize_input=symmetrize_input)
    return fnp.conj(_mT(L)) if upper else L


def eigh(a: Any, UPLO: str | None = None, symmetrize_input: bool = True) -> EighResult:
    """Eigenvalues (ascending) and eigenvectors (columns) of symmetric ``a``.

    Reads the ``UPLO`` ("L", the default, or "U") triangle, of ``(a + aᵀ)/2`` when
    ``symmetrize_input``. Eigenvector derivatives are infinite at repeated eigenvalues.

    >>> eigh(np.array([[2.0, 0.0], [0.0, 1.0]])).eigenvalues
    array([1., 2.])
    """
    if UPLO not in (None, "L", "U"):
        raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    v, w = lax_linalg.eigh(_matrix(a, "eigh"), lower=UPLO != "U",
                           symmetrize_input=symmetrize_input)
    return EighResult(w, v)


class EigResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


def eig(a: Any) -> EigResult:
    """Eigenvalues and unit-norm eigenvectors (columns) of a general square ``a``, complex.

    Both are differentiable (JAX differentiates only the eigenvalues); derivatives are infinite
    at repeated eigenvalues.

    >>> eig(np.array([[0.0, 1.0], [-1.0, 0.0]])).eigenvalues
    array([0.+1.j, 0.-1.j])
    """
    w, v = lax_linalg.eig(_matrix(a, "eig"))
    return EigResult(w, v)


def eigvals(a: Any) -> Any:
    """The (complex) eigenvalues of a general square ``a``.

    >>> eigvals(np.array([[2.0, 1.0], [0.0, 3.0]]))
    array([2.+0.j, 3.+0.j])
    """
    return eig(a).eigenvalues


def eigvalsh(a: Any, UPLO: str | None = "L", *, symmetrize_input: bool = True) -> Any:
    """Eigenvalues of symmetric ``a``, ascending.

    >>> eigvalsh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    array([1., 3.])
    """
    return eigh(a, UPLO, symmetrize_input).eigenvalues


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True,
        hermitian: bool = False) -> Any:
    """``SVDResult(U, S, Vh)`` with ``a = U[..., :k] * S @ Vh[..., :k, :]``, or ``S`` alone.

    ``hermitian`` is accepted for NumPy compatibility and ignored (the general SVD is used).

    >>> svd(np.array([[3.0, 0.0], [0.0, -4.0]]), compute_uv=False)
    array([4., 3.])
    """
    x = _matrix(a, "svd")
    if not compute_uv:
        return lax_linalg.svd(x, compute_uv=False)
    u, s, vh = lax_linalg.svd(x, full_matrices=full_matrices)
    return SVDResult(u, s, vh)


def svdvals(x: Any) -> Any:
    """Singular values, descending.

    >>> svdvals(np.array([[0.0, 2.0], [1.0, 0.0]]))
    array([2., 1.])
    """
    return svd(x, compute_uv=False)


def qr(a: Any, mode: str = "reduced") -> Any:
    """``QRResult(Q, R)`` with ``a = Q @ R``; ``mode`` is "reduced", "complete" or "r" (``R`` only).

    >>> qr(np.array([[3.0], [4.0]])).R.shape
    (1, 1)
    """
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"qr: unsupported mode {mode!r}; use 'reduced', 'complete' or 'r'")
    q, r = lax_linalg.qr(_matrix(a, "qr"), full_matrices=mode == "complete")
    return r if mode == "r" else QRResult(q, r)


# ---------------------------------------------------------------- solves, inverses, determinants

def solve(a: Any, b: Any) -> Any:
    """``x`` with ``a @ x = b``. ``b`` is a vector when 1-D, else a stack of matrices; batch
    axes broadcast.

    >>> solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([2.0, 2.0]))
    array([1. , 0.5])
    """
    a, b = inexact_operands(a, b)
    _matrix(a, "solve")
    n = a.shape[-1]
    if a.shape[-2] != n or b.ndim == 0 or b.shape[-1 if b.ndim == 1 else -2] != n:
        raise ShapeError(f"solve: a must be square (..., n, n) and b (n,) or (..., n, k); got "
                         f"{a.shape} and {b.shape}{at_user_line()}")
    if b.ndim == 1:
        n = b.shape[0]
        col = fnp.broadcast_to(fnp.reshape(b, (n, 1)), tuple(a.shape[:-2]) + (n, 1))
        return fnp.reshape(lax_linalg.solve(a, col), tuple(a.shape[:-1]))
    batch = fnp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = fnp.broadcast_to(a, tuple(batch) + tuple(a.shape[-2:]))
    b = fnp.broadcast_to(b, tuple(batch) + tuple(b.shape[-2:]))
    return lax_linalg.solve(a, b)


def inv(a: Any) -> Any:
    """The inverse of square ``a`` (NaN where singular).

    >>> inv(np.array([[2.0, 0.0], [0.0, 4.0]]))
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
    """
    return lax_linalg.inv(_matrix(a, "inv"))


def det(a: Any) -> Any:
    """The determinant of square ``a``.

    >>> det(np.array([[2.0, 1.0], [1.0, 3.0]]))
    array(5.)
    """
    return lax_linalg.det(_matrix(a, "det"))


def slogdet(a: Any, *, method: str | None = None) -> SlogdetResult:
    """``SlogdetResult(sign, logabsdet)`` of square ``a``: ``det(a) = sign * exp(logabsdet)``.

    >>> slogdet(np.array([[-2.0, 0.0], [0.0, 3.0]])).sign
    array(-1.)
    """
    if method not in (None, "lu"):
        raise ValueError(f"slogdet: unsupported method {method!r}; only 'lu'")
    sign, logdet = lax_linalg.slogdet(_matrix(a, "slogdet"))
    return SlogdetResult(sign, logdet)


def _default_rtol(x: Any) -> float:
    m, n = x.shape[-2:]
    return 10.0 * float(max(m, n)) * float(np.finfo(x.dtype).eps)


@functools.partial(custom_jvp, nondiff_argnums=(1,))
def _pinv(a: Any, rtol: float) -> Any:
    u, s, vh = lax_linalg.svd(a, full_matrices=False)
    cutoff = fnp.expand_dims(rtol * fnp.max(s, axis=-1, initial=0.0), -1)
    kept = s > cutoff
    s_inv = fnp.where(kept, 1.0 / fnp.where(kept, s, 1.0), 0.0).astype(s.dtype)
    return fnp.matmul(_H(vh) * fnp.expand_dims(s_inv, -2), _H(u))


@_pinv.defjvp
def _pinv_jvp(rtol: float, primals: tuple[Any, ...], tangents: tuple[Any, ...]) -> tuple[Any, Any]:
    # Golub & Pereyra (1973), valid where the rank is locally constant:
    # dA⁺ = -A⁺ dA A⁺ + A⁺ A⁺ᴴ dAᴴ (I - A A⁺) + (I - A⁺ A) dAᴴ A⁺ᴴ A⁺
    (a,), (da,) = primals, tangents
    p = _pinv(a, rtol)
    pt, dat = _H(p), _H(da)
    mm = fnp.matmul
    left = fnp.eye(a.shape[-2], dtype=a.dtype) - mm(a, p)
    right = fnp.eye(a.shape[-1], dtype=a.dtype) - mm(p, a)
    dp = -mm(p, mm(da, p)) + mm(mm(p, pt), mm(dat, left)) + mm(right, mm(dat, mm(pt, p)))
    return p, dp


def pinv(a: Any, rtol: Any = None, hermitian: bool = False) -> Any:
    """Moore–Penrose pseudo-inverse; singular values below ``rtol * max(s)`` count as zero
    (default ``rtol``: ``10 * max(m, n) * eps``). The derivative assumes the rank does not change.

    >>> pinv(np.array([[2.0], [0.0]]))
    array([[0.5, 0. ]])
    """
    x = _matrix(a, "pinv")
    return _pinv(x, _default_rtol(x) if rtol is None else float(rtol))


def lstsq(a: Any, b: Any, rcond: float | None = None) -> tuple[Any, Any, Any, Any]:
    """Least squares ``argmin |a x - b|``: ``(x, residuals, rank, s)`` as in NumPy, except that
    ``residuals`` (squared norms of ``b - a x`` per column; shape ``(1,)`` for a vector ``b``)
    are always returned, even when NumPy gives an empty array (rank-deficient or wide ``a``).

    >>> lstsq(np.array([[1.0], [1.0]]), np.array([1.0, 3.0]))[0]
    array([2.])
    """
    a, b = inexact_operands(a, b)
    if a.ndim != 2 or b.ndim not in (1, 2):
        raise ValueError(f"lstsq: a must be 2-D and b 1-D or 2-D, got {a.shape} and {b.shape}")
    rtol = float(np.finfo(a.dtype).eps) * max(a.shape) if rcond is None else float(rcond)
    x = fnp.matmul(_pinv(a, rtol), b)
    r = b - fnp.matmul(a, x)
    s = svdvals(a)
    resid = fnp.sum(_abs2(r), axis=0, keepdims=b.ndim == 1)
    return x, fnp.reshape(resid, (1,)) if b.ndim == 1 else resid, matrix_rank(a, rtol), s


def matrix_rank(M: Any, rtol: Any = None, *, tol: Any = None) -> Any:
    """Number of singular values above ``tol`` (default ``max(s) * rtol``, ``rtol`` defaulting
    to ``max(m, n) * eps``).

    >>> int(matrix_rank(np.array([[1.0, 2.0], [2.0, 4.0]])))
    1
    """
    x = _matrix(M, "matrix_rank")
    s = svdvals(x)
    if tol is None:
        r = max(x.shape[-2:]) * float(np.finfo(x.dtype).eps) if rtol is None else rtol
        tol = fnp.max(s, axis=-1, keepdims=True, initial=0.0) * r
    elif fnp.ndim(tol) > 0:
        tol = fnp.expand_dims(tol, -1)
    return fnp.sum(s > tol, axis=-1)


def matrix_power(a: Any, n: int) -> Any:
    """``a`` multiplied by itself ``n`` times (``inv(a)`` for negative ``n``), by squaring.

    >>> matrix_power(np.array([[1.0, 1.0], [0.0, 1.0]]), 3)
    array([[1., 3.],
           [0., 1.]])
    """
    x = _matrix(a, "matrix_power")
    if int(n) != n:
        raise TypeError(f"matrix_power: exponent must be an integer, got {n!r}")
    n = int(n)
    if n < 0:
        x, n = inv(x), -n
    result = None
    while n:
        if n & 1:
            result = x if result is None else fnp.matmul(result, x)
        n >>= 1
        if n:
            x = fnp.matmul(x, x)
    if result is None:
        return fnp.broadcast_to(fnp.eye(x.shape[-1], dtype=x.dtype), x.shape)
    return result


# ---------------------------------------------------------------- norms

def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
    """``(sum |x|**ord)**(1/ord)`` over ``axis`` (all axes when None); ``ord`` may be ±inf or 0.

    >>> float(vector_norm(np.array([3.0, -4.0])))
    5.0
    """
    x, = inexact_operands(x)
    if ord is None or ord == 2:
        return fnp.sqrt(fnp.sum(_abs2(x), axis=axis, keepdims=keepdims))
    if ord == np.inf:
        return fnp.max(fnp.abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return fnp.min(fnp.abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        return fnp.sum(x != 0, axis=axis, keepdims=keepdims).astype(x.dtype)
    if ord == 1:
        return fnp.sum(fnp.abs(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"vector_norm: invalid ord {ord!r} for vectors")
    p = float(ord)
    return fnp.sum(fnp.abs(x) ** p, axis=axis, keepdims=keepdims) ** (1.0 / p)


def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:
    """Matrix norm over the last two axes: "fro", "nuc", ±1 (columns), ±2 (singular values), ±inf.

    >>> float(matrix_norm(np.array([[3.0, 0.0], [0.0, -4.0]]), ord=2))
    4.0
    """
    return _matrix_norm(_matrix(x, "matrix_norm"), ord, (-2, -1), keepdims)


def _matrix_norm(x: Any, ord: Any, axes: tuple[int, int], keepdims: bool) -> Any:
    row, col = (a % x.ndim for a in axes)
    if ord in ("fro", "f", None):
        return fnp.sqrt(fnp.sum(_abs2(x), axis=(row, col), keepdims=keepdims))
    if ord in ("nuc", 2, -2):
        s = svdvals(fnp.moveaxis(x, (row, col), (-2, -1)))
        out = {"nuc": fnp.sum, 2: fnp.max, -2: fnp.min}[ord](s, axis=-1)
        return fnp.expand_dims(out, tuple(sorted((row, col)))) if keepdims else out
    if ord in (1, -1, np.inf, -np.inf):
        summed, picked = (row, col) if ord in (1, -1) else (col, row)
        sums = fnp.sum(fnp.abs(x), axis=summed, keepdims=True)
        out = (fnp.max if ord > 0 else fnp.min)(sums, axis=picked, keepdims=True)
        return out if keepdims else fnp.squeeze(out, axis=(row, col))
    raise ValueError(f"norm: invalid ord {ord!r} for matrices")


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    """NumPy's ``norm``: a vector norm over one axis, a matrix norm over two; with ``axis=None``
    and ``ord=None`` the 2-norm of all elements, else of the 1-D or 2-D ``x``.

    >>> float(norm(np.array([[1.0, 2.0], [2.0, 4.0]])))
    5.0
    """
    x, = inexact_operands(x)
    if axis is None:
        if ord is None:
            return vector_norm(x, keepdims=keepdims)
        if x.ndim not in (1, 2):
            raise ValueError("norm: improper number of dimensions to norm (ord needs a 1-D or "
                             "2-D array, or an axis)")
        axis = tuple(range(x.ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if len(axes) == 1:
        return vector_norm(x, axis=axes, keepdims=keepdims, ord=ord)
    if len(axes) == 2:
        return _matrix_norm(x, ord, (axes[0], axes[1]), keepdims)
    raise ValueError(f"norm: axis must name one or two axes, got {axis!r}")


def cond(x: Any, p: Any = None) -> Any:
    """Condition number ``norm(x, p) * norm(inv(x), p)`` (ratio of extreme singular values for
    ``p`` None, 2 or -2).

    >>> float(cond(np.array([[2.0, 0.0], [0.0, 0.5]])))
    4.0
    """
    x = _matrix(x, "cond")
    if p in (None, 2, -2):
        s = svdvals(x)
        hi, lo = fnp.max(s, axis=-1), fnp.min(s, axis=-1)
        return lo / hi if p == -2 else hi / lo
    return _matrix_norm(x, p, (-2, -1), False) * _matrix_norm(inv(x), p, (-2, -1), False)


# ---------------------------------------------------------------- array-API helpers

def matmul(x1: Any, x2: Any, /) -> Any:
    """``x1 @ x2``."""
    return fnp.matmul(x1, x2)


def matrix_transpose(x: Any, /) -> Any:
    """Swap the last two axes."""
    return _mT(fnp.asarray(x))


def trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    """Sum of the diagonals of the last two axes."""
    return fnp.trace(x, offset=offset, axis1=-2, axis2=-1, dtype=dtype)


def diagonal(x: Any, /, *, offset: int = 0) -> Any:
    """The diagonals of the last two axes."""
    return fnp.diagonal(x, offset=offset, axis1=-2, axis2=-1)


def outer(x1: Any, x2: Any, /) -> Any:
    """Outer product of two vectors."""
    if fnp.ndim(x1) != 1 or fnp.ndim(x2) != 1:
        raise ValueError("outer: both inputs must be 1-D")
    return fnp.outer(x1, x2)


def cross(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """Cross product of 3-vectors along ``axis``."""
    return fnp.cross(x1, x2, axis=axis)


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """Dot products of vectors along ``axis``."""
    return fnp.vecdot(x1, x2, axis=axis)


def tensordot(x1: Any, x2: Any, /, *, axes: Any = 2) -> Any:
    """Sum of products over ``axes``."""
    return fnp.tensordot(x1, x2, axes)


def multi_dot(arrays: Any) -> Any:
    """``arrays[0] @ arrays[1] @ ...``, left to right (first and last may be vectors)."""
    return functools.reduce(fnp.matmul, arrays)

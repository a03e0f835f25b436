"""Linear-algebra primitives on (stacks of) matrices: cholesky, triangular_solve, solve, inv,
slogdet, det, eigh, svd, qr.

Every primitive acts on the last two axes and accepts any leading batch axes, like NumPy's
stacked matrices; operands are float32, float64, complex64 or complex128. Implementations
call ``numpy.linalg``.
Factorizations that fail (a matrix that is not positive definite, a singular system) give NaN
for that matrix, as in JAX, instead of raising.

Derivatives are matrix calculus, written with primitives that have transpose rules where they
are linear in the tangent, so reverse mode (transpose of the JVP) and every higher order work:

- ``L = cholesky(A)``:      ``dL = L Φ(L⁻¹ dA L⁻ᵀ)``, Φ = lower triangle with half the diagonal
- ``X = solve(A, B)``:      ``dX = A⁻¹ (dB - dA X)``
- ``X = inv(A)``:           ``dX = -X dA X``
- ``logabsdet(A)``:         ``d = tr(A⁻¹ dA) = <A⁻ᵀ, dA>``; ``det``: ``det(A) tr(A⁻¹ dA)``
- ``A = V diag(w) Vᵀ``:     ``dw = diag(Vᵀ dA V)``, ``dV = V (F ∘ Vᵀ dA V)``, ``F_ij = 1/(w_j - w_i)``
- ``A = U diag(s) Vᵀ``:     the same with ``F_ij = 1/(s_j² - s_i²)`` (Townsend, "Differentiating the
  singular value decomposition", 2016)
- ``A = Q R``:              with ``C = Qᵀ dA R⁻¹`` and ``Ω = tril(C, -1) - tril(C, -1)ᵀ``:
  ``dR = (C - Ω) R``, ``dQ = dA R⁻¹ - Q (C - Ω)``

For complex matrices every ``ᵀ`` above is the conjugate transpose ``ᴴ`` (``x = L Lᴴ``, Hermitian
``eigh`` and ``cholesky``), eigenvalues, singular values and ``log|det|`` are real, and JAX's
gauge terms are added: ``svd``'s ``dU`` takes ``i Im(Uᴴ dA V)_ii / s_i`` on the diagonal, ``qr``'s
``Ω`` takes ``i Im(diag C)``, and ``slogdet``'s sign moves by ``sign · i Im tr(A⁻¹ dA)``.
Cotangents follow JAX's convention (a cotangent pairs with a tangent without conjugation).

Caveats, as in JAX: eigenvector and singular-vector derivatives are infinite at repeated
eigenvalues (singular values), where the vectors themselves are not unique; only functions
invariant to that choice (``V diag(g(w)) Vᵀ``, projectors) have derivatives there. The ``eigh``
and ``cholesky`` rules assume a symmetric tangent, which the default ``symmetrize_input=True``
guarantees. ``svd`` with ``full_matrices=True`` of a non-square matrix and ``qr`` of a wide matrix
(or ``full_matrices=True`` of a tall one) have no derivative (the extra columns are arbitrary).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from fungrad.core import Primitive, get_aval
from fungrad.errors import ShapeError
from fungrad.interpreters.ad import Zero, jvp_rules
from fungrad.lax.registry import bdim_to_front, defjvp, deftranspose, moveaxis, primitive
from fungrad.interpreters.batching import batch_rules
from fungrad.ir import ShapedArray
from fungrad.lax.complex_ops import (
    complex as make_complex, complex_dtype, conj, imag, real, real_dtype,
)
from fungrad.lax.elementwise import add, convert_element_type, div, mul, neg, sub
from fungrad.lax.shape_ops import broadcast_in_dim, full, reduce_sum, reshape, transpose
from fungrad.source_info import at_user_line
from fungrad.lax.dot import dot_general

# ---------------------------------------------------------------- matrix helpers (all bind)


def _mT(x: Any) -> Any:
    """Swap the last two axes."""
    nd = get_aval(x).ndim
    return transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _is_complex(x: Any) -> bool:
    return bool(get_aval(x).dtype.kind == "c")


def _H(x: Any) -> Any:
    """The conjugate transpose of the last two axes (the transpose for real ``x``)."""
    return conj(_mT(x)) if _is_complex(x) else _mT(x)


def _cast_like(x: Any, like: Any) -> Any:
    """Real ``x`` as ``like``'s dtype (a complex matrix's real singular values, eigenvalues)."""
    return convert_element_type(x, get_aval(like).dtype)


def _mm(a: Any, b: Any) -> Any:
    """Batched matrix product ``a @ b`` of ``[..., m, k]`` and ``[..., k, n]`` (same batch)."""
    nb = get_aval(a).ndim - 2
    batch = tuple(range(nb))
    return dot_general(a, b, (((nb + 1,), (nb,)), (batch, batch)))


def _const(x: Any, like: Any) -> Any:
    return np.asarray(x, get_aval(like).dtype)


def _eye_like(x: Any) -> Any:
    return _const(np.eye(get_aval(x).shape[-1]), x)


def _diag_part(x: Any) -> Any:
    """``[..., n, n] -> [..., n]``: the diagonals."""
    return reduce_sum(mul(x, _eye_like(x)), (get_aval(x).ndim - 1,))


def _row(v: Any) -> Any:
    """``[..., n] -> [..., 1, n]``."""
    shape = get_aval(v).shape
    return reshape(v, shape[:-1] + (1, shape[-1]))


def _col(v: Any) -> Any:
    """``[..., n] -> [..., n, 1]``."""
    shape = get_aval(v).shape
    return reshape(v, shape + (1,))


def _trace(x: Any) -> Any:
    nd = get_aval(x).ndim
    return reduce_sum(mul(x, _eye_like(x)), (nd - 2, nd - 1))


def _frac_matrix(d: Any) -> Any:
    """``F_ij = 1 / (d_j - d_i)`` off the diagonal, 0 on it (infinite where ``d`` repeats)."""
    eye = _const(np.eye(get_aval(d).shape[-1]), d)
    return sub(div(1.0, add(sub(_row(d), _col(d)), eye)), eye)


def _mask(n: int, dtype: np.dtype[Any], lower: bool, diag: float) -> Any:
    """The lower (or upper) triangle of ones with ``diag`` on the diagonal."""
    tri = np.tri(n, k=-1) if lower else np.tri(n, k=-1).T
    return (tri + diag * np.eye(n)).astype(dtype)


# ---------------------------------------------------------------- shared rule helpers


def _float_matrix(name: str, x: ShapedArray, square: bool = True) -> None:
    if x.ndim < 2:
        raise ShapeError(f"{name}: expected a matrix (or a stack of them), got {x}")
    if square and x.shape[-1] != x.shape[-2]:
        raise ShapeError(f"{name}: expected square matrices, got {x}")
    if x.dtype.kind not in "fc":
        raise ShapeError(f"{name}: expected float32, float64, complex64 or complex128 matrices, "
                         f"got {x.dtype}")


def _check_rhs(name: str, a: ShapedArray, b: ShapedArray, axis: int) -> None:
    """``b`` matches ``a`` in dtype, rank, batch shape, and axis ``axis`` has ``a``'s size."""
    if b.dtype != a.dtype:
        raise ShapeError(f"{name}: operands must have one dtype, got {a.dtype} and {b.dtype}")
    if b.ndim != a.ndim or b.shape[:-2] != a.shape[:-2] or b.shape[axis] != a.shape[-1]:
        side = "rows" if axis == -2 else "columns"
        raise ShapeError(f"{name}: the right-hand side {b} must have the batch shape of {a} "
                         f"and {a.shape[-1]} {side}")


def _batch_to_front(prim: Primitive) -> None:
    """Batch rule: move every batch axis to the front (the impls take leading batch axes)."""
    def rule(vals: Sequence[Any], dims: Sequence[int | None], **params: Any) -> tuple[Any, Any]:
        size = next(get_aval(v).shape[d] for v, d in zip(vals, dims) if d is not None)
        out = prim.bind(*[bdim_to_front(v, d, size) for v, d in zip(vals, dims)], **params)
        return out, ([0] * len(out) if prim.multiple_results else 0)
    batch_rules[prim] = rule


def _batch_solve(prim: Primitive) -> None:
    """Batch rule of a solve: with one matrix and a batch of right-hand sides, fold the batch
    into the right-hand side's free axis (one factorization, not one per example)."""
    _batch_to_front(prim)
    generic = batch_rules[prim]

    def rule(vals: Sequence[Any], dims: Sequence[int | None], **params: Any) -> tuple[Any, Any]:
        (a, b), (da, db) = vals, dims
        if da is not None or db is None:
            return generic(vals, dims, **params)
        nd = get_aval(b).ndim
        left = params.get("left_side", True)
        b = moveaxis(b, db, nd - 1 if left else nd - 3)     # next to the free axis
        shape = get_aval(b).shape
        merged = shape[:-2] + (shape[-2] * shape[-1],) if left else \
            shape[:-3] + (shape[-3] * shape[-2], shape[-1])
        x = prim.bind(a, reshape(b, merged), **params)
        return reshape(x, shape), (nd - 1 if left else nd - 3)
    batch_rules[prim] = rule


def _nan_on_failure(fn: Callable[..., Any], out_shape: tuple[int, ...],
                    *args: np.ndarray[Any, Any]) -> Any:
    """``fn(*args)``; if a matrix of the stack makes it fail, NaN for that matrix only."""
    try:
        return fn(*args)
    except np.linalg.LinAlgError:
        pass
    out = np.full(out_shape, np.nan, args[0].dtype)
    for idx in np.ndindex(*args[0].shape[:-2]):
        try:
            out[idx] = fn(*[a[idx] for a in args])
        except np.linalg.LinAlgError:
            pass
    return out


def _matrix_impl(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Impl of a matrix-to-matrix primitive: ``fn`` on the stack, NaN where it fails."""
    def impl(x: Any) -> Any:
        x = np.asarray(x)
        return _nan_on_failure(fn, x.shape, x).astype(x.dtype, copy=False)
    return impl


def _matrix_shape(name: str) -> Callable[[ShapedArray], ShapedArray]:
    """Shape rule of a square-matrix-to-same-shape primitive."""
    def rule(x: ShapedArray) -> ShapedArray:
        _float_matrix(name, x)
        return x
    return rule


# ---------------------------------------------------------------- cholesky


def _cholesky_jvp(t: Any, L: Any, x: Any) -> Any:
    n = get_aval(x).shape[-1]
    inner = triangular_solve(L, t, left_side=True, lower=True)             # L⁻¹ dA
    inner = triangular_solve(L, inner, left_side=False, lower=True, transpose_a=True,
                             conjugate_a=True)                            # ... L⁻ᴴ
    return _mm(L, mul(inner, _mask(n, get_aval(x).dtype, lower=True, diag=0.5)))


cholesky_p = primitive("cholesky", _matrix_impl(np.linalg.cholesky), _matrix_shape("cholesky"))
defjvp(cholesky_p, _cholesky_jvp)
_batch_to_front(cholesky_p)


def cholesky(x: Any, *, symmetrize_input: bool = True) -> Any:
    """The lower Cholesky factor ``L`` of Hermitian positive definite ``x``: ``x = L Lᴴ``.

    With ``symmetrize_input`` the factor is of ``(x + xᴴ) / 2``, so derivatives see a symmetric
    matrix; otherwise only the lower triangle of ``x`` is read. NaN if ``x`` is not positive
    definite.

    >>> cholesky(np.array([[4.0, 2.0], [2.0, 5.0]]))
    array([[2., 0.],
           [1., 2.]])
    """
    if symmetrize_input:
        x = _symmetrize("cholesky", x)
    return cholesky_p.bind(x)


def _symmetrize(name: str, x: Any) -> Any:
    """``(x + xᴴ) / 2``, once ``x`` is known to be a stack of square float matrices."""
    try:
        _float_matrix(name, get_aval(x))
    except ShapeError as e:
        raise ShapeError(f"{e}{at_user_line()}") from None
    return mul(add(x, _H(x)), 0.5)


# ---------------------------------------------------------------- triangular_solve


def _triangular_solve_impl(a: Any, b: Any, *, left_side: bool, lower: bool, transpose_a: bool,
                           conjugate_a: bool, unit_diagonal: bool) -> Any:
    a, b = np.asarray(a), np.asarray(b)
    a = np.tril(a) if lower else np.triu(a)
    if unit_diagonal:
        idx = np.arange(a.shape[-1])
        a[..., idx, idx] = 1
    if conjugate_a:
        a = a.conj()
    if transpose_a:
        a, lower = np.swapaxes(a, -1, -2), not lower
    if not left_side:                     # x a = b  <=>  aᵀ xᵀ = bᵀ
        a, b, lower = np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2), not lower
    if lower:                             # reversing rows and columns makes it upper
        a, b = a[..., ::-1, ::-1], b[..., ::-1, :]
    x = _nan_on_failure(_upper_solve, b.shape, a, b)
    if lower:
        x = x[..., ::-1, :]
    if not left_side:
        x = np.swapaxes(x, -1, -2)
    return np.ascontiguousarray(x, dtype=b.dtype)


def _upper_solve(u: Any, b: Any) -> Any:
    """``u⁻¹ b`` for upper triangular ``u``, by blocks: ``x₂ = U₂₂⁻¹ b₂``, ``x₁ = U₁₁⁻¹ (b₁ - U₁₂ x₂)``.

    The n²k work of substitution is done by matrix products; small diagonal blocks go to LU
    (``np.linalg.solve``), which on a triangular matrix never pivots: it is back substitution.
    """
    n = u.shape[-1]
    if n <= 128:
        return np.linalg.solve(u, b)
    h = n // 2
    x2 = _upper_solve(u[..., h:, h:], b[..., h:, :])
    x1 = _upper_solve(u[..., :h, :h], b[..., :h, :] - u[..., :h, h:] @ x2)
    return np.concatenate([x1, x2], axis=-2)


def _triangular_solve_shape(a: ShapedArray, b: ShapedArray, *, left_side: bool,
                            **params: Any) -> ShapedArray:
    _float_matrix("triangular_solve", a)
    _check_rhs("triangular_solve", a, b, -2 if left_side else -1)
    return b


def _triangular_solve_jvp_a(t: Any, x: Any, a: Any, b: Any, *, left_side: bool, lower: bool,
                            transpose_a: bool, conjugate_a: bool, unit_diagonal: bool) -> Any:
    # Only the triangle the solve reads has a derivative: op(A) x = b gives op(A) dx = -op(dA) x.
    aval = get_aval(a)
    dA = mul(t, _mask(aval.shape[-1], aval.dtype, lower, 0.0 if unit_diagonal else 1.0))
    if conjugate_a and _is_complex(dA):
        dA = conj(dA)
    if transpose_a:
        dA = _mT(dA)
    rhs = _mm(dA, x) if left_side else _mm(x, dA)
    return neg(triangular_solve(a, rhs, left_side=left_side, lower=lower,
                                transpose_a=transpose_a, conjugate_a=conjugate_a,
                                unit_diagonal=unit_diagonal))


def _triangular_solve_transpose_b(ct: Any, a: Any, b: Any, *, transpose_a: bool,
                                  **params: Any) -> Any:
    # x = op(A)⁻¹ b  ->  b̄ = op(A)⁻ᵀ x̄ (and likewise on the right).
    return triangular_solve(a, ct, transpose_a=not transpose_a, **params)


triangular_solve_p = primitive("triangular_solve", _triangular_solve_impl, _triangular_solve_shape)
defjvp(triangular_solve_p, _triangular_solve_jvp_a,
       lambda t, x, a, b, **params: triangular_solve(a, t, **params))
deftranspose(triangular_solve_p, None, _triangular_solve_transpose_b)
_batch_solve(triangular_solve_p)


def triangular_solve(a: Any, b: Any, *, left_side: bool = False, lower: bool = False,
                     transpose_a: bool = False, conjugate_a: bool = False,
                     unit_diagonal: bool = False) -> Any:
    """Solve ``op(a) @ x = b`` (``left_side``) or ``x @ op(a) = b`` for triangular ``a``.

    ``op(a)`` is ``a``, or ``aᵀ`` with ``transpose_a``, conjugated with ``conjugate_a``; only the ``lower`` (or upper) triangle of
    ``a`` is read, and not its diagonal with ``unit_diagonal``. ``b`` is ``[..., m, n]`` (left)
    or ``[..., n, m]`` (right), with ``a``'s batch shape.

    >>> triangular_solve(np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([[2.0], [3.0]]),
    ...                  left_side=True, lower=True)
    array([[1.],
           [2.]])
    """
    return triangular_solve_p.bind(a, b, left_side=bool(left_side), lower=bool(lower),
                                   transpose_a=bool(transpose_a), conjugate_a=bool(conjugate_a),
                                   unit_diagonal=bool(unit_diagonal))


# ---------------------------------------------------------------- solve and inv


def _solve_impl(a: Any, b: Any) -> Any:
    a, b = np.asarray(a), np.asarray(b)
    return _nan_on_failure(np.linalg.solve, b.shape, a, b).astype(b.dtype, copy=False)


def _solve_shape(a: ShapedArray, b: ShapedArray) -> ShapedArray:
    _float_matrix("solve", a)
    _check_rhs("solve", a, b, -2)
    return b


solve_p = primitive("solve", _solve_impl, _solve_shape)
defjvp(solve_p, lambda t, x, a, b: neg(solve(a, _mm(t, x))),
       lambda t, x, a, b: solve(a, t))
deftranspose(solve_p, None, lambda ct, a, b: solve(_mT(a), ct))
_batch_solve(solve_p)


def solve(a: Any, b: Any) -> Any:
    """``x`` with ``a @ x = b`` for square ``a`` ``[..., n, n]`` and ``b`` ``[..., n, k]`` (LU).

    >>> solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([[2.0], [2.0]]))
    array([[1. ],
           [0.5]])
    """
    return solve_p.bind(a, b)


inv_p = primitive("inv", _matrix_impl(np.linalg.inv), _matrix_shape("inv"))
defjvp(inv_p, lambda t, x, a: neg(_mm(x, _mm(t, x))))
_batch_to_front(inv_p)


def inv(a: Any) -> Any:
    """The inverse of square ``a`` (NaN where singular).

    >>> inv(np.array([[2.0, 0.0], [0.0, 4.0]]))
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
    """
    return inv_p.bind(a)


# ---------------------------------------------------------------- determinants


def _slogdet_impl(a: Any) -> list[Any]:
    a = np.asarray(a)
    sign, logdet = np.linalg.slogdet(a)
    return [np.asarray(sign, a.dtype), np.asarray(logdet, real_dtype(a.dtype))]


def _det_shape(name: str) -> Callable[[ShapedArray], ShapedArray]:
    def rule(a: ShapedArray) -> ShapedArray:
        _float_matrix(name, a)
        return ShapedArray(a.shape[:-2], a.dtype)
    return rule


def _slogdet_shape(a: ShapedArray) -> list[ShapedArray]:
    sign = _det_shape("slogdet")(a)
    return [sign, ShapedArray(sign.shape, real_dtype(a.dtype))]


def _slogdet_jvp(primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    a, = primals
    sign, logdet = slogdet_p.bind(a)
    dlogdet = reduce_sum(mul(tangents[0], _mT(inv(a))), _last_two(a))   # tr(A⁻¹ dA)
    if not _is_complex(a):
        return [sign, logdet], [Zero(get_aval(sign)), dlogdet]
    # d log det = tr(A⁻¹ dA): its real part moves log|det|, its imaginary part the phase.
    dphase = make_complex(_zeros_like_real(logdet), imag(dlogdet))
    return [sign, logdet], [mul(sign, dphase), real(dlogdet)]


def _zeros_like_real(x: Any) -> Any:
    aval = get_aval(x)
    return full(aval.shape, 0, aval.dtype)


def _last_two(x: Any) -> tuple[int, int]:
    nd = get_aval(x).ndim
    return (nd - 2, nd - 1)


slogdet_p = primitive("slogdet", _slogdet_impl, _slogdet_shape,
                      multiple_results=True)
jvp_rules[slogdet_p] = _slogdet_jvp
_batch_to_front(slogdet_p)


def slogdet(a: Any) -> tuple[Any, Any]:
    """``(sign, log|det a|)`` of square ``a``, without overflow.

    >>> slogdet(np.array([[-2.0, 0.0], [0.0, 3.0]]))
    (array(-1.), array(1.79175947))
    """
    sign, logdet = slogdet_p.bind(a)
    return sign, logdet


def _adjugate_svd(a: Any) -> Any:
    """``adj(A) = det(U) det(Vᴴ) V diag(prod_{j≠i} s_j) Uᴴ`` from ``A = U S Vᴴ``: defined (and
    accurate) for singular ``A`` too, where ``det(A) A⁻¹`` is not."""
    u, s, vt = np.linalg.svd(a)
    n = s.shape[-1]
    others = np.where(np.eye(n, dtype=bool), 1.0, s[..., None, :]).prod(-1)  # prod_{j≠i} s_j
    sign = np.linalg.det(u) * np.linalg.det(vt)
    return sign[..., None, None] * np.conj(np.swapaxes(vt, -1, -2)) @ (
        others[..., :, None] * np.conj(np.swapaxes(u, -1, -2)))


def _adjugate_jvp(t: Any, adj: Any, a: Any) -> Any:
    """``d adj = tr(adj dA) A⁻¹ - A⁻¹ dA adj`` (from ``adj = det(A) A⁻¹``; needs A invertible)."""
    a_inv = inv(a)
    tr = reduce_sum(mul(_mT(adj), t), _last_two(a))
    nd = get_aval(a).ndim
    return sub(mul(broadcast_in_dim(tr, get_aval(a).shape, tuple(range(nd - 2))), a_inv),
               _mm(a_inv, _mm(t, adj)))


adjugate_p = primitive("adjugate", _matrix_impl(_adjugate_svd), _matrix_shape("adjugate"))
defjvp(adjugate_p, _adjugate_jvp)
_batch_to_front(adjugate_p)


def adjugate(a: Any) -> Any:
    """The adjugate ``det(a) inv(a)`` of square ``a``, also where ``a`` is singular.

    >>> adjugate(np.array([[1.0, 2.0], [2.0, 4.0]]))
    array([[ 4., -2.],
           [-2.,  1.]])
    """
    return adjugate_p.bind(a)


det_p = primitive("det", lambda a: np.asarray(np.linalg.det(a), np.asarray(a).dtype),
                  _det_shape("det"))
# d det = tr(adj(A) dA): finite where A is singular (JAX's value there too)
defjvp(det_p, lambda t, d, a: reduce_sum(mul(t, _mT(adjugate(a))), _last_two(a)))
_batch_to_front(det_p)


def det(a: Any) -> Any:
    """The determinant of square ``a`` (its derivative, the adjugate, exists everywhere).

    >>> det(np.array([[2.0, 1.0], [1.0, 3.0]]))
    array(5.)
    """
    return det_p.bind(a)


# ---------------------------------------------------------------- eigh


def _eigh_impl(x: Any, *, lower: bool) -> list[Any]:
    x = np.asarray(x)
    w, v = np.linalg.eigh(x, UPLO="L" if lower else "U")
    return [v.astype(x.dtype, copy=False), w.astype(real_dtype(x.dtype), copy=False)]


def _eigh_shape(x: ShapedArray, *, lower: bool) -> list[ShapedArray]:
    _float_matrix("eigh", x)
    return [x, ShapedArray(x.shape[:-1], real_dtype(x.dtype))]


def _eigh_jvp(primals: Sequence[Any], tangents: Sequence[Any], *,
              lower: bool) -> tuple[Any, Any]:
    v, w = eigh_p.bind(primals[0], lower=lower)
    vt_dA_v = _mm(_H(v), _mm(tangents[0], v))
    dv = _mm(v, mul(_cast_like(_frac_matrix(w), v), vt_dA_v))
    dw = _diag_part(vt_dA_v)
    return [v, w], [dv, real(dw) if _is_complex(dw) else dw]


eigh_p = primitive("eigh", _eigh_impl, _eigh_shape, multiple_results=True)
jvp_rules[eigh_p] = _eigh_jvp
_batch_to_front(eigh_p)


def eigh(x: Any, *, lower: bool = True, symmetrize_input: bool = True) -> tuple[Any, Any]:
    """``(v, w)``: eigenvectors (columns) and ascending (real) eigenvalues of Hermitian ``x``.

    Only the ``lower`` (or upper) triangle is read; with ``symmetrize_input`` that of
    ``(x + xᴴ) / 2``, so derivatives see a symmetric matrix. Eigenvector derivatives are
    infinite at repeated eigenvalues.

    >>> v, w = eigh(np.array([[2.0, 0.0], [0.0, 1.0]]))
    >>> w
    array([1., 2.])
    """
    if symmetrize_input:
        x = _symmetrize("eigh", x)
    v, w = eigh_p.bind(x, lower=bool(lower))
    return v, w


# ---------------------------------------------------------------- eig


def _eig_impl(x: Any) -> list[Any]:
    x = np.asarray(x)
    w, v = np.linalg.eig(x)
    c = complex_dtype(x.dtype)
    return [w.astype(c, copy=False), v.astype(c, copy=False)]


def _eig_shape(x: ShapedArray) -> list[ShapedArray]:
    _float_matrix("eig", x)
    c = complex_dtype(x.dtype)
    return [ShapedArray(x.shape[:-1], c), ShapedArray(x.shape, c)]


def _eig_jvp(primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """From ``A V = V diag(w)``: with ``C = V⁻¹ dA V``, ``dw = diag(C)`` and ``dV = V (F * C)``,
    ``F_ij = 1 / (w_j - w_i)`` off the diagonal. The diagonal of ``V⁻¹ dV`` is free (each
    eigenvector's scale and phase); it is chosen so every column keeps unit norm
    (``Re(vᴴ dv) = 0``), as NumPy's eigenvectors have."""
    w, v = eig_p.bind(primals[0])
    da = convert_element_type(tangents[0], get_aval(v).dtype)
    c = solve(v, _mm(da, v))
    dv = _mm(v, mul(_frac_matrix(w), c))
    nd = get_aval(v).ndim
    along = real(reduce_sum(mul(conj(v), dv), (nd - 2,)))
    dv = sub(dv, mul(v, _row(convert_element_type(along, get_aval(v).dtype))))
    return [w, v], [_diag_part(c), dv]


eig_p = primitive("eig", _eig_impl, _eig_shape, multiple_results=True)
jvp_rules[eig_p] = _eig_jvp
_batch_to_front(eig_p)


def eig(x: Any) -> tuple[Any, Any]:
    """``(w, v)``: the (complex) eigenvalues and unit-norm eigenvectors (columns) of square ``x``.

    Differentiable in both, unlike ``jax.lax.linalg.eig`` (eigenvalues only): an eigenvector's
    derivative keeps its norm (its phase is arbitrary, as NumPy's is). Derivatives are infinite
    at repeated eigenvalues.

    >>> w, v = eig(np.array([[2.0, 0.0], [0.0, 1.0]]))
    >>> w
    array([2.+0.j, 1.+0.j])
    """
    w, v = eig_p.bind(x)
    return w, v


# ---------------------------------------------------------------- svd


def _svd_impl(x: Any, *, full_matrices: bool, compute_uv: bool) -> list[Any]:
    x = np.asarray(x)
    if not compute_uv:
        return [np.linalg.svd(x, compute_uv=False).astype(real_dtype(x.dtype), copy=False)]
    u, s, vh = np.linalg.svd(x, full_matrices=full_matrices)
    return [s.astype(real_dtype(x.dtype), copy=False), u.astype(x.dtype, copy=False),
            vh.astype(x.dtype, copy=False)]


def _svd_shape(x: ShapedArray, *, full_matrices: bool, compute_uv: bool) -> list[ShapedArray]:
    _float_matrix("svd", x, square=False)
    *batch, m, n = x.shape
    k = min(m, n)
    s = ShapedArray(tuple(batch) + (k,), real_dtype(x.dtype))
    if not compute_uv:
        return [s]
    ku, kv = (m, n) if full_matrices else (k, k)
    return [s, ShapedArray(tuple(batch) + (m, ku), x.dtype),
            ShapedArray(tuple(batch) + (kv, n), x.dtype)]


def _svd_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, full_matrices: bool,
             compute_uv: bool) -> tuple[Any, Any]:
    x, dA = primals[0], tangents[0]
    m, n = get_aval(x).shape[-2:]
    k = min(m, n)
    if compute_uv and full_matrices and m != n:
        raise NotImplementedError(
            "svd: no derivative of full_matrices=True for a non-square matrix (the extra "
            "singular vectors are arbitrary); use full_matrices=False")
    s, u, vh = svd_p.bind(x, full_matrices=False, compute_uv=True)
    v = _H(vh)
    dP = _mm(_H(u), _mm(dA, v))                       # Uᴴ dA V
    ds = _diag_part(dP)
    ds = real(ds) if _is_complex(ds) else ds
    if not compute_uv:
        return [s], [ds]
    F = _cast_like(_frac_matrix(mul(s, s)), x)
    s_row, s_col = _cast_like(_row(s), x), _cast_like(_col(s), x)
    dP_S = mul(dP, s_row)                              # dP diag(s)
    dU_inner = mul(F, add(dP_S, _H(dP_S)))
    if _is_complex(x):   # the phase gauge, as JAX fixes it: i Im(dP_ii) / s_i on the diagonal
        dU_inner = add(dU_inner, div(mul(sub(dP, _H(dP)), _const(0.5 * np.eye(k), x)), s_row))
    dU = _mm(u, dU_inner)
    S_dP = mul(dP, s_col)                              # diag(s) dP
    dV = _mm(v, mul(F, add(S_dP, _H(S_dP))))
    if m > n:                                          # the part of dA V outside range(U)
        dA_v = _mm(dA, v)
        dU = add(dU, div(sub(dA_v, _mm(u, _mm(_H(u), dA_v))), s_row))
    if n > m:
        dAh_u = _mm(_H(dA), u)
        dV = add(dV, div(sub(dAh_u, _mm(v, _mm(vh, dAh_u))), s_row))
    return [s, u, vh], [ds, dU, _H(dV)]


svd_p = primitive("svd", _svd_impl, _svd_shape, multiple_results=True)
jvp_rules[svd_p] = _svd_jvp
_batch_to_front(svd_p)


def svd(x: Any, *, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """``(u, s, vh)`` with ``x = u[..., :k] * s @ vh[..., :k, :]``, ``s`` descending; ``s`` alone
    without ``compute_uv``. Singular-vector derivatives are infinite at repeated singular values.

    >>> svd(np.array([[3.0, 0.0], [0.0, -4.0]]), compute_uv=False)
    array([4., 3.])
    """
    outs = svd_p.bind(x, full_matrices=bool(full_matrices), compute_uv=bool(compute_uv))
    if not compute_uv:
        return outs[0]
    s, u, vh = outs
    return u, s, vh


# ---------------------------------------------------------------- qr


def _qr_impl(x: Any, *, full_matrices: bool) -> list[Any]:
    x = np.asarray(x)
    q, r = np.linalg.qr(x, mode="complete" if full_matrices else "reduced")
    return [q.astype(x.dtype, copy=False), r.astype(x.dtype, copy=False)]


def _qr_shape(x: ShapedArray, *, full_matrices: bool) -> list[ShapedArray]:
    _float_matrix("qr", x, square=False)
    *batch, m, n = x.shape
    k = m if full_matrices else min(m, n)
    return [ShapedArray(tuple(batch) + (m, k), x.dtype),
            ShapedArray(tuple(batch) + (k, n), x.dtype)]


def _qr_jvp(primals: Sequence[Any], tangents: Sequence[Any], *,
            full_matrices: bool) -> tuple[Any, Any]:
    x, dA = primals[0], tangents[0]
    m, n = get_aval(x).shape[-2:]
    if m < n or (full_matrices and m != n):
        raise NotImplementedError(
            f"qr: no derivative for a {m}x{n} matrix with full_matrices={full_matrices}; it "
            "needs rows >= columns, and full_matrices=False when rows > columns")
    q, r = qr_p.bind(x, full_matrices=full_matrices)
    dA_rinv = triangular_solve(r, dA, left_side=False, lower=False)   # dA R⁻¹
    C = _mm(_H(q), dA_rinv)
    C_low = mul(C, _mask(n, get_aval(x).dtype, lower=True, diag=0.0))
    C_minus_omega = sub(C, sub(C_low, _H(C_low)))                      # C - Ω, upper triangular
    if _is_complex(x):   # Ω also takes i Im(diag C), keeping R's diagonal real
        C_minus_omega = sub(C_minus_omega, mul(make_complex(_zeros_like_real(real(C)), imag(C)),
                                               _eye_like(C)))
    dQ = sub(dA_rinv, _mm(q, C_minus_omega))
    return [q, r], [dQ, _mm(C_minus_omega, r)]


qr_p = primitive("qr", _qr_impl, _qr_shape, multiple_results=True)
jvp_rules[qr_p] = _qr_jvp
_batch_to_front(qr_p)


def qr(x: Any, *, full_matrices: bool = True) -> tuple[Any, Any]:
    """``(q, r)`` with ``x = q @ r``, ``q`` orthonormal columns, ``r`` upper triangular.

    ``full_matrices`` gives square ``q`` ``[..., m, m]``; otherwise ``[..., m, min(m, n)]``.

    >>> q, r = qr(np.array([[3.0], [4.0]]), full_matrices=False)
    >>> np.abs(r)
    array([[5.]])
    """
    q, r = qr_p.bind(x, full_matrices=bool(full_matrices))
    return q, r

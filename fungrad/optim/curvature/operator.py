"""The interface every curvature operator shares: a matrix-free linear map over parameter pytrees.

A :class:`LinearOperator` maps one *space* to another. A space is the set of pytrees with the structure,
shapes and dtypes of a template (the parameters, or a model's outputs); its flat form is the vector
``flatten_util.ravel_pytree`` makes. ``A @ v`` and ``A.matvec(v)`` accept either form (or a matrix whose
columns are flat vectors) and answer in the form they were given. Subclasses supply the flat products
``_matvec`` and ``_rmatvec`` on 1-D NumPy vectors; sums, scaling, damping, transposes and dense or SciPy
views are built here once for all of them.

>>> A = MatrixOperator(np.diag([1.0, 2.0]))
>>> B = 2.0 * A + A.T
>>> B @ np.ones(2)
array([3., 6.])
>>> A.damped(0.5).to_dense()
array([[1.5, 0. ],
       [0. , 2.5]])
"""
from __future__ import annotations

import importlib
import numbers
from typing import Any, Callable, Sequence

import numpy as np

from fungrad.flatten_util import ravel_pytree
from fungrad.tree_util import PyTree, tree_leaves, tree_structure

__all__ = ["Space", "LinearOperator", "MatrixOperator"]


class Space:
    """The pytrees shaped like ``template``, and their flat vectors in ``ravel_pytree`` order.

    >>> s = Space({'w': np.zeros((2, 2)), 'b': np.zeros(2)})
    >>> s.size, s.to_tree(np.arange(6.0))['b']
    (6, array([0., 1.]))
    """

    def __init__(self, template: PyTree):
        flat, self.unravel = ravel_pytree(template)
        self.size = int(np.shape(flat)[0])
        self.treedef = tree_structure(template)
        self.shapes = [np.shape(leaf) for leaf in tree_leaves(template)]

    def is_tree(self, v: Any) -> bool:
        """Whether ``v`` is a pytree of this space (same structure and leaf shapes)."""
        if tree_structure(v) != self.treedef:
            return False
        return [np.shape(leaf) for leaf in tree_leaves(v)] == self.shapes

    def to_flat(self, v: PyTree) -> np.ndarray:
        """The flat vector of a pytree of this space."""
        return np.asarray(ravel_pytree(v)[0], dtype=np.float64)

    def to_tree(self, flat: np.ndarray) -> PyTree:
        """The pytree of a flat vector."""
        return self.unravel(np.asarray(flat))

    def split_form(self, v: Any, what: str) -> tuple[np.ndarray, Callable[[np.ndarray], Any]]:
        """``v`` as a flat vector, and the map that puts a flat result back into ``v``'s form."""
        if self.is_tree(v):
            return self.to_flat(v), self.to_tree
        if isinstance(v, np.ndarray) and v.shape == (self.size,):
            return v.astype(np.float64), lambda flat: flat
        raise ValueError(f"{what}: expected a pytree with leaf shapes {self.shapes} or a flat vector of "
                         f"shape ({self.size},), got {type(v).__name__} {np.shape(v)}")


class LinearOperator:
    """A linear map from ``in_space`` to ``out_space`` known only through its products.

    ``shape`` is ``(out_space.size, in_space.size)``. Products accept a pytree of ``in_space``, a flat
    vector, or an ``(n, k)`` matrix of flat columns, and return the same form. ``A.T`` is the transpose,
    ``A + B``, ``A - B``, ``c * A`` and ``A / c`` combine operators lazily, ``A.damped(lam)`` is ``A + lam I``.
    """

    def __init__(self, in_space: Space, out_space: Space):
        self.in_space, self.out_space = in_space, out_space

    @property
    def shape(self) -> tuple[int, int]:
        return (self.out_space.size, self.in_space.size)

    dtype = np.dtype(np.float64)
    symmetric = False    # a symmetric subclass defines only _matvec


    # --- what subclasses provide: products on flat 1-D float64 vectors
    def _matvec(self, v: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _rmatvec(self, u: np.ndarray) -> np.ndarray:
        if self.symmetric:
            return self._matvec(u)
        raise NotImplementedError

    # --- the shared interface
    def matvec(self, v: Any) -> Any:
        """``A v`` in the form of ``v``: a pytree of the input space, a flat vector, or columns."""
        return _apply(self._matvec, self.in_space, self.out_space, v)

    def rmatvec(self, u: Any) -> Any:
        """``A^T u`` in the form of ``u`` (a pytree of the output space, a flat vector, or columns)."""
        return _apply(self._rmatvec, self.out_space, self.in_space, u)

    def __matmul__(self, v: Any) -> Any:
        return self.matvec(v)

    @property
    def T(self) -> LinearOperator:
        return _Transposed(self)

    def to_dense(self) -> np.ndarray:
        """The matrix, one product per column (meant for small problems and tests)."""
        return self._matmat(np.eye(self.in_space.size))

    def _matmat(self, V: np.ndarray) -> np.ndarray:
        cols = [self._matvec(V[:, j]) for j in range(V.shape[1])]
        return np.stack(cols, axis=1) if cols else np.zeros((self.shape[0], 0))

    def __add__(self, other: LinearOperator) -> LinearOperator:
        return _Combination([(1.0, self), (1.0, _check_operator(other, self))])

    def __sub__(self, other: LinearOperator) -> LinearOperator:
        return _Combination([(1.0, self), (-1.0, _check_operator(other, self))])

    def __neg__(self) -> LinearOperator:
        return _Combination([(-1.0, self)])

    def __mul__(self, c: float) -> LinearOperator:
        return _Combination([(_scalar(c), self)])

    __rmul__ = __mul__

    def __truediv__(self, c: float) -> LinearOperator:
        return _Combination([(1.0 / _scalar(c), self)])

    def damped(self, lam: float) -> LinearOperator:
        """``A + lam * I`` (square operators only)."""
        return _Combination([(1.0, self.square("damped")), (_scalar(lam), _Identity(self.in_space))])

    def to_scipy(self) -> Any:
        """A ``scipy.sparse.linalg.LinearOperator`` on flat vectors (needs SciPy, never required otherwise)."""
        try:
            sparse_linalg = importlib.import_module("scipy.sparse.linalg")
        except ImportError as e:
            raise ImportError("to_scipy needs SciPy: pip install scipy") from e
        return sparse_linalg.LinearOperator(self.shape, matvec=self._matvec, rmatvec=self._rmatvec, dtype=np.float64)

    def square(self, what: str) -> LinearOperator:
        """``self``, or a ValueError naming ``what`` when the operator is not square."""
        if self.in_space.size != self.out_space.size:
            raise ValueError(f"{what} needs a square operator, this one has shape {self.shape}")
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} shape={self.shape}>"


def _apply(product: Callable[[np.ndarray], np.ndarray], src: Space, dst: Space, v: Any) -> Any:
    """Apply a flat product to ``v`` and answer in ``v``'s form (a pytree wins where both fit)."""
    if src.is_tree(v):
        return dst.to_tree(product(src.to_flat(v)))
    if isinstance(v, np.ndarray) and v.shape == (src.size,):
        return product(v.astype(np.float64, copy=False))
    if isinstance(v, np.ndarray) and v.ndim == 2 and v.shape[0] == src.size:
        cols = [product(np.ascontiguousarray(v[:, j], dtype=np.float64)) for j in range(v.shape[1])]
        return np.stack(cols, axis=1) if cols else np.zeros((dst.size, 0))
    raise ValueError(f"expected a pytree with structure {src.treedef} and leaf shapes {src.shapes}, "
                     f"a flat vector of shape ({src.size},) or an ({src.size}, k) matrix of flat columns; "
                     f"got {type(v).__name__} of shape {np.shape(v) if isinstance(v, np.ndarray) else '-'}")


def _scalar(c: Any) -> float:
    if not isinstance(c, numbers.Real) and not (isinstance(c, np.ndarray) and c.ndim == 0):
        raise TypeError(f"operators scale by real scalars only, got {type(c).__name__}")
    return float(c)


def _check_operator(other: Any, op: LinearOperator) -> LinearOperator:
    if not isinstance(other, LinearOperator):
        raise TypeError(f"can only add another LinearOperator, got {type(other).__name__}; "
                        "for A + lam*I use A.damped(lam)")
    if other.shape != op.shape:
        raise ValueError(f"operator shapes differ: {op.shape} and {other.shape}")
    return other


class _Transposed(LinearOperator):
    def __init__(self, op: LinearOperator):
        super().__init__(op.out_space, op.in_space)
        self.op = op

    def _matvec(self, v: np.ndarray) -> np.ndarray:
        return self.op._rmatvec(v)

    def _rmatvec(self, u: np.ndarray) -> np.ndarray:
        return self.op._matvec(u)

    @property
    def T(self) -> LinearOperator:
        return self.op


class _Identity(LinearOperator):
    def __init__(self, space: Space):
        super().__init__(space, space)

    symmetric = True

    def _matvec(self, v: np.ndarray) -> np.ndarray:
        return np.array(v)


class _Combination(LinearOperator):
    """``sum(c_i * A_i)`` over operators of one shape."""

    def __init__(self, terms: Sequence[tuple[float, LinearOperator]]):
        flat: list[tuple[float, LinearOperator]] = []
        for c, op in terms:
            flat += [(c * ci, opi) for ci, opi in op.terms] if isinstance(op, _Combination) else [(c, op)]
        super().__init__(flat[0][1].in_space, flat[0][1].out_space)
        self.terms: list[tuple[float, LinearOperator]] = flat

    def _matvec(self, v: np.ndarray) -> np.ndarray:
        out = np.zeros(self.shape[0])
        for c, op in self.terms:
            out += c * op._matvec(v)
        return out

    def _rmatvec(self, u: np.ndarray) -> np.ndarray:
        out = np.zeros(self.shape[1])
        for c, op in self.terms:
            out += c * op._rmatvec(u)
        return out


class MatrixOperator(LinearOperator):
    """An explicit matrix as an operator over flat vectors (or over the pytrees of ``template``).

    >>> MatrixOperator(np.array([[2.0, 1.0], [1.0, 3.0]])) @ np.array([1.0, 0.0])
    array([2., 1.])
    """

    def __init__(self, matrix: Any, template: PyTree = None):
        self.matrix = np.asarray(matrix, dtype=np.float64)
        if self.matrix.ndim != 2:
            raise ValueError(f"MatrixOperator needs a 2-D matrix, got shape {self.matrix.shape}")
        rows, cols = self.matrix.shape
        in_space = Space(np.zeros(cols) if template is None else template)
        out_space = in_space if rows == cols else Space(np.zeros(rows))
        if in_space.size != cols:
            raise ValueError(f"template has {in_space.size} entries but the matrix has {cols} columns")
        super().__init__(in_space, out_space)

    def _matvec(self, v: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.matrix @ v
        return out

    def _rmatvec(self, u: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.matrix.T @ u
        return out

    def to_dense(self) -> np.ndarray:
        return np.array(self.matrix)

"""Flatten a pytree of arrays into one vector and back.

Useful wherever an algorithm wants a single parameter vector (line searches,
Hessians, second-order optimizers) while the model keeps its parameters in a
pytree.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import itertools
import math
import warnings
from types import ModuleType
from typing import Any, Callable, Iterator

import numpy as np

from fungrad.array_type import Array
from fungrad.core import Tracer
from fungrad.tree_util import PyTree, PyTreeDef, tree_flatten

__all__ = ["ravel_pytree"]


def ravel_pytree(pytree: PyTree) -> tuple[Any, Callable[[Any], PyTree]]:
    """Ravel every leaf of ``pytree`` and concatenate them into one 1-D array.

    The vector's dtype is the promotion of the leaves' dtypes; it is a new array, sharing no
    memory with the leaves (an in-place edit of one never changes the other). Also returns
    ``unravel``, which maps a vector of that length and dtype back to a pytree
    of the original structure, shapes and dtypes.

        >>> flat, unravel = ravel_pytree({'w': np.ones((2, 2)), 'b': np.arange(2)})
        >>> flat
        array([0., 1., 1., 1., 1., 1.])
        >>> unravel(flat * 2)['b']
        array([0, 2])
    """
    fnp = _numpy_namespace()
    leaves, treedef = tree_flatten(pytree)
    dtypes = tuple(_dtype_of(leaf) for leaf in leaves)
    shapes = tuple(tuple(np.shape(leaf)) for leaf in leaves)
    if not leaves:
        flat = fnp.zeros((0,))
        return flat, _Unravel(treedef, shapes, dtypes, (), _dtype_of(flat))
    flat_dtype = np.result_type(*dtypes)
    ends = tuple(itertools.accumulate(math.prod(shape) for shape in shapes))
    if flat_dtype.kind in "biufc" and all(_direct(leaf) for leaf in leaves):
        # Numbers and numeric arrays (the common case, e.g. an optimizer's start): what the
        # general line below computes, by NumPy directly (fungrad.numpy's dispatch costs more).
        parts = [np.asarray(leaf, dtype=flat_dtype).reshape(-1) for leaf in leaves]
        flat = (np.array(parts[0]) if len(parts) == 1 else np.concatenate(parts)).view(Array)
    else:
        flat = fnp.concatenate([fnp.ravel(fnp.asarray(leaf, dtype=flat_dtype))
                                for leaf in leaves])
        if len(leaves) == 1 and not isinstance(flat, Tracer):
            flat = fnp.array(flat)   # (concatenate hands back its one operand)
    return flat, _Unravel(treedef, shapes, dtypes, ends, flat_dtype)


@dataclasses.dataclass(frozen=True)
class _Unravel:
    """The inverse of one ``ravel_pytree`` call (hashable, so it can be a static argument)."""

    treedef: PyTreeDef
    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[np.dtype[Any], ...]
    ends: tuple[int, ...]
    flat_dtype: np.dtype[Any]

    def __call__(self, flat: Any) -> PyTree:
        fnp = _numpy_namespace()
        size = self.ends[-1] if self.ends else 0
        if tuple(np.shape(flat)) != (size,):
            raise ValueError(f"unravel expects a vector of shape ({size},), got shape {np.shape(flat)}")
        if _dtype_of(flat) != self.flat_dtype and len(set(self.dtypes)) > 1:
            raise TypeError(f"unravel expects a vector of dtype {self.flat_dtype}, got {_dtype_of(flat)}")
        starts = (0,) + self.ends[:-1]
        leaves = []
        # A plain numeric array is cut up by NumPy directly, as fungrad.numpy would (cheaper).
        base = flat.view(np.ndarray) if _direct(flat) else None
        # complex -> real is intended (and the only conversion that warns)
        with _no_complex_warning() if _dtype_of(flat).kind == "c" else contextlib.nullcontext():
            for start, end, shape, dtype in zip(starts, self.ends, self.shapes, self.dtypes):
                if base is not None and dtype == base.dtype:
                    leaves.append(base[start:end].reshape(shape).view(Array))
                    continue
                part = flat if end - start == size else flat[start:end]   # (less to trace)
                leaves.append(fnp.asarray(fnp.reshape(part, shape), dtype=dtype))
        return self.treedef.unflatten(leaves)


def _direct(x: Any) -> bool:
    """Whether NumPy may take ``x`` as it is where fungrad.numpy would: a Python number, or a
    NumPy array or ``Array`` of a numeric dtype in native byte order (see
    ``dtypes.checked_input``)."""
    if type(x) in (bool, int, float, complex):
        return True
    return type(x) in (np.ndarray, Array) and x.dtype.isnative and x.dtype.kind in "biufc"


@contextlib.contextmanager
def _no_complex_warning() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        yield


def _dtype_of(leaf: Any) -> np.dtype[Any]:
    dtype = getattr(leaf, "dtype", None)
    return np.dtype(dtype) if dtype is not None else np.asarray(leaf).dtype


def _numpy_namespace() -> ModuleType:
    """``fungrad.numpy``, imported on first use (it imports this package's core)."""
    global _fnp
    if _fnp is None:
        _fnp = importlib.import_module("fungrad.numpy")
    return _fnp


_fnp: ModuleType | None = None

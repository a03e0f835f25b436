"""Dtypes fungrad adds to NumPy's: ``float0``, the dtype of tangents of integer values.

An integer or boolean value has no derivative. Following JAX, its tangent (in ``jvp``) and its
cotangent (from ``grad(..., allow_int=True)`` and ``vjp``) is an array of dtype ``float0``: a
NumPy structured dtype with no bytes, which no arithmetic accepts, so it can never be mistaken
for a truncated integer derivative.

>>> zeros_like_tangent = np.zeros((2,), float0)
>>> zeros_like_tangent.dtype == float0, zeros_like_tangent.nbytes
(True, 0)
"""
from __future__ import annotations

from typing import Any

import numpy as np

float0: np.dtype[Any] = np.dtype([("float0", np.void, 0)])


def has_tangent_space(dtype: np.dtype[Any]) -> bool:
    """Is ``dtype`` differentiable (floating point or complex)? Others get ``float0`` tangents.

    >>> has_tangent_space(np.dtype(np.float32)), has_tangent_space(np.dtype(np.int64))
    (True, False)
    """
    return dtype.kind in "fc"


def float0_zeros(shape: tuple[int, ...]) -> np.ndarray:
    """The tangent of an integer or boolean array of ``shape``.

    >>> float0_zeros((3,)).shape
    (3,)
    """
    return np.zeros(shape, float0)

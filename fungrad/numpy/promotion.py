"""NumPy's dtype promotion for fungrad values: float64 by default, Python scalars are weak."""
from __future__ import annotations

from typing import Any

import numpy as np

from fungrad.core import Tracer, get_aval
from fungrad.lax import convert_element_type

_PY_SCALARS = (bool, int, float, complex)


def dtype_of(x: Any) -> Any:
    """What ``np.result_type`` should see: the dtype of arrays, the value of Python scalars."""
    if isinstance(x, (np.ndarray, Tracer, np.generic)):
        return get_aval(x).dtype
    if isinstance(x, _PY_SCALARS):
        return x
    if isinstance(x, (list, tuple)):
        return np.asarray(x).dtype
    return get_aval(x).dtype


def result_type(*args: Any) -> np.dtype[Any]:
    """The dtype NumPy would give an operation on ``args``."""
    return np.result_type(*[dtype_of(a) for a in args])


def asarray_of(x: Any, dtype: np.dtype[Any]) -> Any:
    """``x`` as a fungrad value of ``dtype`` (tracers are converted with a primitive)."""
    if isinstance(x, (np.ndarray, Tracer)):
        return convert_element_type(x, dtype)
    return np.asarray(x, dtype)


def promote(*args: Any) -> list[Any]:
    """Convert operands to their common dtype, as a NumPy ufunc would."""
    first = args[0]
    if isinstance(first, (np.ndarray, Tracer)):
        dtype = get_aval(first).dtype
        if all(isinstance(a, (np.ndarray, Tracer)) and get_aval(a).dtype == dtype for a in args):
            return list(args)
    dtype = result_type(*args)
    return [asarray_of(a, dtype) for a in args]


def promote_inexact(*args: Any) -> list[Any]:
    """Like ``promote``, then integers and booleans go to float64 (``true_divide``, ``sin``...)."""
    out = promote(*args)
    dtype = get_aval(out[0]).dtype
    if dtype.kind not in "fc":
        out = [asarray_of(a, np.dtype(np.float64)) for a in out]
    return out

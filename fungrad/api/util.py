"""Checks the transforms share (dtypes, scalar outputs, with clear errors) and ``finalize``."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from fungrad.array_type import as_array
from fungrad.core import Tracer, get_aval
from fungrad.dtypes import float0, float0_zeros, has_tangent_space
from fungrad.errors import NotDifferentiableError
from fungrad.interpreters.ad import Zero
from fungrad.lax.registry import instantiate
from fungrad.tree_util import tree_flatten, tree_unflatten


_REAL_ONLY_FIX = {
    "inputs": "or use jvp directly",
    "outputs": "take the real part (`.real`, `abs(...) ** 2`) of the output, or use vjp directly",
}


def _check_complex(dtype: np.dtype[Any], fname: str, what: str, holomorphic: bool,
                   real_only: bool) -> None:
    """``holomorphic`` asks for complex ``what`` (inputs/outputs); ``real_only`` forbids them."""
    if holomorphic and dtype.kind != "c":
        raise NotDifferentiableError(
            f"{fname} with holomorphic=True requires {what} of complex dtype, but got dtype "
            f"{dtype}")
    if real_only and not holomorphic and dtype.kind == "c":
        raise NotDifferentiableError(
            f"{fname} requires real-valued {what}, but got dtype {dtype}. Pass holomorphic=True "
            f"if the function is holomorphic, {_REAL_ONLY_FIX[what]}")


def check_differentiable(leaves: Sequence[Any], fname: str, allow_int: bool = False,
                         holomorphic: bool = False, real_only: bool = False) -> None:
    """Input dtypes ``fname`` accepts: only complex ones with ``holomorphic``; with ``real_only``
    (forward-mode Jacobians) no complex ones otherwise."""
    for x in leaves:
        dtype = get_aval(x).dtype
        _check_complex(dtype, fname, "inputs", holomorphic, real_only)
        if dtype.kind not in "fc" and not allow_int:
            raise NotDifferentiableError(
                f"{fname} requires inputs of floating-point (or complex) dtype, but got an input "
                f"of dtype {dtype}. Convert it with `.astype(float)`, keep it out of argnums, or "
                f"pass allow_int=True to get a zero gradient for it")


def check_output_dtype(out: Any, fname: str, holomorphic: bool, real_only: bool = True) -> None:
    """Output dtypes ``fname`` accepts: only complex with ``holomorphic``; real floating point
    otherwise when ``real_only`` (reverse mode pulls back a real cotangent)."""
    dtype = get_aval(out).dtype
    _check_complex(dtype, fname, "outputs", holomorphic, real_only)
    if real_only and dtype.kind not in "fc":
        raise NotDifferentiableError(
            f"{fname} requires a real floating-point output, got dtype {dtype}")


def check_scalar_output(out: Any, fname: str, holomorphic: bool = False) -> None:
    if not (isinstance(out, (np.ndarray, np.generic, Tracer, float, int))):
        raise NotDifferentiableError(
            f"{fname} requires the function to return a scalar array, got {type(out).__name__}"
            " (use has_aux=True to return extra values)")
    aval = get_aval(out)
    if aval.shape != ():
        raise NotDifferentiableError(
            f"{fname} requires a scalar output (shape ()), but the function returned shape "
            f"{aval.shape}. Reduce it (e.g. `.sum()`), or use jacrev/jacfwd for a Jacobian or "
            "vjp for a vector-Jacobian product")
    check_output_dtype(out, fname, holomorphic)


def finalize(x: Any) -> Any:
    """Make a result safe to hand to the user: a ``fungrad.Array`` (a NumPy scalar becomes a
    0-d one), writable (read-only views are copied); tracers stay as they are."""
    if type(x) is np.ndarray and not x.flags.writeable:
        x = x.copy()
    return as_array(x)


def finalize_tree(tree: Any) -> Any:
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, [finalize(x) for x in leaves])


def tangent_result(t: Any) -> Any:
    """A tangent or cotangent handed to the user: a symbolic zero becomes an array of zeros, of
    dtype ``float0`` for an integer or boolean value (JAX's convention)."""
    if type(t) is not Zero:
        return t
    return instantiate(t) if has_tangent_space(t.aval.dtype) else float0_zeros(t.aval.shape)


def check_tangent_dtype(primal_dtype: np.dtype[Any], dtype: np.dtype[Any], what: str) -> None:
    """A tangent must have its primal's dtype; an integer or boolean primal's must be float0."""
    if has_tangent_space(primal_dtype):
        if dtype != primal_dtype:
            raise TypeError(f"{what}: dtype {dtype} does not match the primal's {primal_dtype}")
    elif dtype != float0:
        raise TypeError(
            f"{what}: the primal has dtype {primal_dtype}, which has no derivative, so its "
            f"tangent must have dtype float0 (fungrad.dtypes.float0), got {dtype}. Pass "
            f"np.zeros(shape, fungrad.dtypes.float0)")

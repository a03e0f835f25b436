"""Argument handling shared by the transforms: flattening, argnums, checks with clear errors."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from fungrad.core import Tracer, get_aval
from fungrad.dtypes import float0, float0_zeros, has_tangent_space
from fungrad.interpreters.ad import Zero, instantiate
from fungrad.errors import InvalidArgumentError, NotDifferentiableError
from fungrad.tree_util import PyTreeDef, tree_flatten, tree_unflatten


def as_leaf(x: Any, where: str = "an argument") -> Any:
    """An array (or tracer) for a leaf; Python and NumPy scalars become 0-d arrays."""
    if isinstance(x, (np.ndarray, Tracer)):
        return x
    if isinstance(x, (bool, int, float, complex, np.generic)):
        return np.asarray(x)
    raise InvalidArgumentError(
        f"{where} has a leaf of type {type(x).__name__}, which is not an array: transformed "
        "functions take arrays, scalars and pytrees (tuples, lists, dicts, dataclasses) of them. "
        "Pass other values through static_argnums or a closure")


def flatten_leaves(tree: Any, where: str = "an argument") -> tuple[list[Any], PyTreeDef]:
    leaves, treedef = tree_flatten(tree)
    return [as_leaf(x, where) for x in leaves], treedef


def _is_int(i: Any) -> bool:
    return isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))


def normalize_argnums(argnums: int | Sequence[int], nargs: int, fname: str) -> tuple[int, ...]:
    """``argnums`` as non-negative positions; wrong types, repeats and out-of-range are errors."""
    if _is_int(argnums):
        nums: tuple[Any, ...] = (argnums,)
    elif isinstance(argnums, (tuple, list)) and all(_is_int(i) for i in argnums):
        nums = tuple(argnums)
    else:
        raise TypeError(f"{fname}: argnums must be an int or a tuple of ints, got {argnums!r}")
    for i in nums:
        if not -nargs <= i < nargs:
            raise ValueError(f"{fname}: argnums {argnums} out of range for {nargs} positional "
                             f"argument{'s' if nargs != 1 else ''}")
    out = tuple(int(i) % nargs for i in nums)
    if len(set(out)) != len(out):
        raise ValueError(f"{fname}: argnums {argnums} names an argument more than once; list each "
                         f"argument once (its gradient would otherwise be split between entries)")
    return out


def splice_args(args: Sequence[Any], argnums: Sequence[int], values: Sequence[Any]) -> list[Any]:
    out = list(args) if args else [None] * len(argnums)
    for i, v in zip(argnums, values):
        out[i] = v
    return out


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
    """Make a result safe to hand to the user: read-only views become writable arrays."""
    if type(x) is np.ndarray and not x.flags.writeable:
        return x.copy()
    return x


def finalize_tree(tree: Any) -> Any:
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, [finalize(x) for x in leaves])


def flat_fun(fun: Callable[..., Any], args: Sequence[Any], argnums: Sequence[int],
             in_tree: PyTreeDef, out_store: list[Any]) -> Callable[..., list[Any]]:
    """``fun`` as a function of the flat leaves of ``args[argnums]``; records the output treedef."""
    def flat(*leaves: Any) -> list[Any]:
        dyn = tree_unflatten(in_tree, leaves)
        out = fun(*splice_args(args, argnums, dyn))
        out_leaves, out_tree = tree_flatten(out)
        out_store[:] = [out_tree]
        return [as_leaf(x, "the function's output") for x in out_leaves]
    return flat


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

"""Shared building blocks for defining primitives: one call registers a primitive's rules.

Each family helper (``unary``, ``binary``...) fills the tables of every interpreter for one
primitive, so a primitive's impl, shape rule, JVP, transpose and batching rule sit on one line.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from fungrad.compiler.codegen import defcodegen, emit_ufunc
from fungrad.core import Primitive, abstract_eval_rules, get_aval, impl_rules
from fungrad.errors import ShapeError
from fungrad.ir import ShapedArray, weak_scalar


def primitive(name: str, impl: Callable[..., Any], shape_rule: Callable[..., Any],
              multiple_results: bool = False) -> Primitive:
    """A new primitive with its NumPy implementation and its shape/dtype rule.

    When the impl is a NumPy ufunc, jit calls it directly and may pass ``out=`` a dying buffer.
    """
    prim = Primitive(name, multiple_results)
    impl_rules[prim] = impl
    abstract_eval_rules[prim] = shape_rule
    if isinstance(impl, np.ufunc):
        defcodegen(prim, emit_ufunc, "inplace")
    return prim


def broadcast_shapes(name: str, *shapes: tuple[int, ...]) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ShapeError(f"{name}: operand shapes {' and '.join(map(str, shapes))} do not "
                         "broadcast together") from None


def same_dtype(name: str, *avals: ShapedArray) -> np.dtype[Any]:
    dtype = avals[0].dtype
    for a in avals[1:]:
        if a.dtype != dtype:
            raise ShapeError(f"{name} requires operands of one dtype, got "
                             f"{', '.join(str(a.dtype) for a in avals)}")
    return dtype


def elementwise_shape(name: str, out_dtype: Any = None) -> Callable[..., ShapedArray]:
    """Shape rule of NumPy-broadcasting elementwise operations on operands of one dtype."""
    fixed = None if out_dtype is None else np.dtype(out_dtype)

    def rule(*avals: ShapedArray, **params: Any) -> ShapedArray:
        first = avals[0]
        if fixed is None and len(avals) == 2:
            second = avals[1]
            if first.shape == second.shape and first.dtype == second.dtype:
                return first
        elif fixed is None and len(avals) == 1:
            return first
        dtype = same_dtype(name, *avals)
        shape = avals[0].shape
        for a in avals[1:]:
            if a.shape != shape and a.shape:  # scalars broadcast to anything
                shape = a.shape if not shape else broadcast_shapes(name, shape, a.shape)
        return ShapedArray(shape, fixed if fixed is not None else dtype)
    return rule


def as_operand(x: Any, like: Any) -> Any:
    """A Python scalar becomes an array of ``like``'s dtype (weak typing); anything else passes."""
    if type(x) in _PY_SCALARS:
        return weak_scalar(x, like.dtype if hasattr(like, "dtype") else get_aval(like).dtype)
    return x


_PY_SCALARS = {int, float, complex, bool}

"""Primitives that exist for differentiation's sake: ``stop_gradient``.

``stop_gradient`` is the identity on values and the zero map on tangents, so everything
computed from its output is treated as a constant by ``grad``, ``jvp`` and ``vjp``.
"""
from __future__ import annotations

from typing import Any

from fungrad.compiler.passes import defsimplify
from fungrad.core import get_aval
from fungrad.lax.registry import defjvp_zero, primitive, vectorized_batcher
from fungrad.ir import ShapedArray
from fungrad.tree_util import tree_map


def _identity(x: Any) -> Any:
    return x


def _same_aval(x: ShapedArray) -> ShapedArray:
    return x


stop_gradient_p = primitive("stop_gradient", _identity, _same_aval)
defjvp_zero(stop_gradient_p)
vectorized_batcher(stop_gradient_p)
defsimplify(stop_gradient_p, lambda rw, eqn: eqn.inputs[0])  # after autodiff, only the value is left


def stop_gradient(x: Any) -> Any:
    """``x`` itself, with a zero derivative: gradients do not flow through it.

    Applies to every leaf of a pytree; integer and boolean leaves pass through untouched.

    >>> import fungrad
    >>> float(fungrad.grad(lambda x: x * fungrad.stop_gradient(x))(3.0))
    3.0
    """

    def leaf(v: Any) -> Any:
        if get_aval(v).dtype.kind not in "fc":
            return v
        return stop_gradient_p.bind(v)
    return tree_map(leaf, x)

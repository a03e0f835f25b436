"""Transposition: run a linear jaxpr backwards, turning output cotangents into input cotangents.

A transpose rule gets the output cotangent and the operands, where each linear operand is an
``UndefinedPrimal`` (only its type is known); it returns one cotangent per operand (None for the
non-linear ones). Cotangents are produced by ``bind``, so the backward program can itself be
traced, differentiated or batched.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from fungrad.core import Primitive, get_aval
from fungrad.interpreters.ad import Zero, add_tangents
from fungrad.ir import Jaxpr, Literal, ShapedArray, Var


class UndefinedPrimal:
    """A linear operand of a transpose rule: its value is what we are solving for."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray) -> None:
        self.aval = aval

    def __repr__(self) -> str:
        return f"UndefinedPrimal({self.aval})"


def is_undefined(x: Any) -> bool:
    return type(x) is UndefinedPrimal


def aval_of(x: Any) -> ShapedArray:
    return x.aval if type(x) is UndefinedPrimal else get_aval(x)


transpose_rules: dict[Primitive, Callable[..., Sequence[Any]]] = {}


def backward_pass(jaxpr: Jaxpr, consts: Sequence[Any], cts_out: Sequence[Any]) -> list[Any]:
    """Cotangents of ``jaxpr``'s inputs given its outputs' (``Zero`` where nothing flows)."""
    env: dict[Var, Any] = dict(zip(jaxpr.constvars, consts))
    linear: set[Var] = set(jaxpr.invars)
    for eqn in jaxpr.eqns:
        linear.update(eqn.outvars)
    ct_env: dict[Var, Any] = {}

    def write_ct(v: Any, ct: Any) -> None:
        if ct is not None and type(ct) is not Zero and type(v) is Var and v in linear:
            ct_env[v] = add_tangents(ct_env[v], ct) if v in ct_env else ct

    def read(v: Any) -> Any:
        if type(v) is Literal:
            return v.val
        return UndefinedPrimal(v.aval) if v in linear else env[v]

    for v, ct in zip(jaxpr.outvars, cts_out):
        write_ct(v, ct)
    for eqn in reversed(jaxpr.eqns):
        cts = [ct_env.pop(v, None) for v in eqn.outvars]
        if all(ct is None for ct in cts):
            continue
        rule = transpose_rules.get(eqn.primitive)
        if rule is None:
            raise NotImplementedError(f"no transpose rule for {eqn.primitive}: is it linear?")
        args = [read(v) for v in eqn.inputs]
        if eqn.primitive.multiple_results:
            ct_arg: Any = [Zero(v.aval) if ct is None else ct for v, ct in zip(eqn.outvars, cts)]
        else:
            ct_arg = cts[0]
        for v, ct in zip(eqn.inputs, rule(ct_arg, *args, **eqn.params)):
            write_ct(v, ct)
    return [ct_env.get(v, Zero(v.aval)) for v in jaxpr.invars]


# ---------------------------------------------------------------- helpers for rules

def unbroadcast(ct: Any, aval: ShapedArray) -> Any:
    """Sum ``ct`` over the axes along which an operand of type ``aval`` was broadcast."""
    shape = ct.shape
    if shape == aval.shape:
        return ct
    from fungrad.lax import reduce_sum, reshape
    lead = len(shape) - len(aval.shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(aval.shape) if n == 1 and shape[lead + i] != 1)
    if axes:
        ct = reduce_sum(ct, axes=axes)
    if get_aval(ct).shape != aval.shape:
        ct = reshape(ct, aval.shape)
    return ct


def deftranspose(prim: Primitive, *rules: Callable[..., Any] | None) -> None:
    """Per-operand transposes, ``rule(ct, *operands, **params)``, used for each undefined operand."""
    def transpose(ct: Any, *args: Any, **params: Any) -> list[Any]:
        return [None if not is_undefined(x) or rule is None else rule(ct, *args, **params)
                for rule, x in zip(rules, args)]
    transpose_rules[prim] = transpose

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
    ct_env: dict[Var, Any] = {}
    # Equations that touch no linear input (constant subcomputations) are evaluated first;
    # every other variable is linear.
    linear_eqns = []
    for eqn in jaxpr.eqns:
        for v in eqn.inputs:
            if type(v) is not Literal and v not in env:
                linear_eqns.append(eqn)
                break
        else:
            outs = eqn.primitive.bind(*[v.val if type(v) is Literal else env[v]  # type: ignore[index]
                                        for v in eqn.inputs], **eqn.params)
            env.update(zip(eqn.outvars, outs if eqn.primitive.multiple_results else [outs]))

    def write_ct(v: Any, ct: Any) -> None:
        if ct is None or type(ct) is Zero or type(v) is not Var or v in env:
            return
        prev = ct_env.get(v)
        ct_env[v] = ct if prev is None else add_tangents(prev, ct)

    for v, ct in zip(jaxpr.outvars, cts_out):
        write_ct(v, ct)
    pop, rules = ct_env.pop, transpose_rules
    get: Callable[[Any, Any], Any] = env.get
    undefined: dict[int, UndefinedPrimal] = {}  # by id of an aval that jaxpr keeps alive
    for eqn in reversed(linear_eqns):
        prim = eqn.primitive
        if prim.multiple_results:
            cts = [pop(v, None) for v in eqn.outvars]
            if all(ct is None for ct in cts):
                continue
            ct_arg: Any = [Zero(v.aval) if ct is None else ct for v, ct in zip(eqn.outvars, cts)]
        else:
            ct_arg = pop(eqn.outvars[0], None)
            if ct_arg is None:
                continue
        rule = rules.get(prim)
        if rule is None:
            raise NotImplementedError(f"no transpose rule for {prim}: is it linear?")
        args: list[Any] = []
        for v in eqn.inputs:
            if type(v) is Literal:
                args.append(v.val)
            else:
                x = get(v, env)   # env itself marks "not a known value"
                if x is env:      # a linear operand; variables of one type share one marker
                    aval = v.aval
                    x = undefined.get(id(aval))
                    if x is None:
                        x = undefined[id(aval)] = UndefinedPrimal(aval)
                args.append(x)
        for v, ct in zip(eqn.inputs, rule(ct_arg, *args, **eqn.params)):
            # write_ct, inlined: this loop is the whole backward pass of eager grad
            if ct is not None and type(ct) is not Zero and type(v) is Var and v not in env:
                prev = ct_env.get(v)
                ct_env[v] = ct if prev is None else add_tangents(prev, ct)
    return [ct_env.get(v, Zero(v.aval)) for v in jaxpr.invars]

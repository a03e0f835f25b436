"""The jaxpr type checker: catches rule bugs where they happen, not three transforms later.

Checks that every variable is bound once before use, that consts fit their constvars, and that
each equation's output types are exactly what its primitive's shape rule says. Sub-jaxprs in
params (control flow, jit) are checked too. Tests turn on checking of every staged jaxpr.
"""
from __future__ import annotations

import os
from typing import Any

from fungrad.core import abstract_eval_rules, get_aval
from fungrad.errors import FungradError
from fungrad.ir import Jaxpr, Literal, ShapedArray, Var


class JaxprTypeError(FungradError, TypeError):
    """A jaxpr is ill-typed: a transform or a primitive rule has a bug."""


# Set FUNGRAD_CHECK_JAXPRS=1 (the test suite does) to type-check every jaxpr when it is built.
check_enabled = os.environ.get("FUNGRAD_CHECK_JAXPRS", "") not in ("", "0")


def _as_list(avals: Any) -> list[ShapedArray]:
    return list(avals) if isinstance(avals, (list, tuple)) else [avals]


def typecheck_jaxpr(jaxpr: Jaxpr) -> None:
    """Raise ``JaxprTypeError`` unless ``jaxpr`` is well typed.

    >>> import fungrad, fungrad.numpy as fnp
    >>> typecheck_jaxpr(fungrad.make_jaxpr(lambda x: fnp.sin(x) * 2.0)(1.0))
    """
    bound: set[Var] = set()

    def bind(v: Var, where: str) -> None:
        if not isinstance(v, Var):
            raise JaxprTypeError(f"{where}: {v!r} is not a variable")
        if v in bound:
            raise JaxprTypeError(f"{where}: variable {v!r} is assigned twice\n{jaxpr}")
        bound.add(v)

    def check_use(a: Any, where: str) -> None:
        if type(a) is Literal:
            return
        if a not in bound:
            raise JaxprTypeError(f"{where}: variable {a!r} is used before it is bound\n{jaxpr}")

    if len(jaxpr.consts) != len(jaxpr.constvars):
        raise JaxprTypeError(f"{len(jaxpr.consts)} consts for {len(jaxpr.constvars)} constvars")
    for v, c in zip(jaxpr.constvars, jaxpr.consts):
        bind(v, "constvar")
        if get_aval(c) != v.aval:
            raise JaxprTypeError(f"const of type {get_aval(c)} bound to constvar {v.aval}")
    for v in jaxpr.invars:
        bind(v, "invar")
    for i, eqn in enumerate(jaxpr.eqns):
        where = f"equation {i} ({eqn.primitive}{' at ' + eqn.source if eqn.source else ''})"
        for a in eqn.inputs:
            check_use(a, where)
        for value in eqn.params.values():
            for sub in (value if isinstance(value, tuple) else (value,)):
                if isinstance(sub, Jaxpr):
                    typecheck_jaxpr(sub)
        rule = abstract_eval_rules.get(eqn.primitive)
        if rule is None:
            raise JaxprTypeError(f"{where}: primitive {eqn.primitive} has no shape rule")
        try:
            expected = _as_list(rule(*[a.aval for a in eqn.inputs], **eqn.params))
        except Exception as e:
            raise JaxprTypeError(f"{where}: the shape rule rejects the operands: {e}") from e
        got = [v.aval for v in eqn.outvars]
        if expected != got:
            raise JaxprTypeError(f"{where}: outputs typed {got}, but the shape rule gives "
                                 f"{expected}\n{jaxpr}")
        for v in eqn.outvars:
            bind(v, where)
    for a in jaxpr.outvars:
        check_use(a, "output")

"""What reverse mode keeps alive: the residuals of ``vjp``, with the lines that made them.

``vjp`` computes the forward pass now and keeps a linear program for the backward pass; the
forward values that program closes over are the residuals. To find out where each comes from,
the forward pass itself is staged (as ``make_jaxpr`` does), so every residual is either an
argument, the output of a recorded equation (which knows its source line), or a constant.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

from fungrad import core
from fungrad.api_util import flatten_fun, flatten_leaves
from fungrad.core import get_aval
from fungrad.interpreters.reverse import linearize_flat
from fungrad.interpreters.staging import StagingTrace, StagingTracer
from fungrad.ir import Eqn, Jaxpr, ShapedArray, Var
from fungrad.tree_util import tree_leaves

__all__ = ["saved_residuals", "print_saved_residuals"]


def _arg_names(f: Callable[..., Any], args: tuple[Any, ...]) -> list[str]:
    """A name for every leaf of ``args``: the parameter's name, with ``[k]`` for pytrees."""
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        params = []
    names: list[str] = []
    for i, a in enumerate(args):
        p = params[i] if i < len(params) and params[i].kind in (
            params[i].POSITIONAL_ONLY, params[i].POSITIONAL_OR_KEYWORD) else None
        base = p.name if p is not None else f"args[{i}]"
        n = len(tree_leaves(a))
        names += [base] if n == 1 else [f"{base}[leaf {k}]" for k in range(n)]
    return names


def _describe(eqn: Eqn, var: Var) -> str:
    """``output of sin from file.py:3 (f)``; for an output of a call (checkpoint, jit) the
    equation inside it that computed the value, which carries the user's line."""
    sub = eqn.params.get("jaxpr", eqn.params.get("call_jaxpr"))
    if isinstance(sub, Jaxpr):
        inner = sub.outvars[eqn.outvars.index(var)]
        for e in sub.eqns:
            if inner in e.outvars:
                return _describe(e, inner)
    where = f" from {eqn.source}" if eqn.source else ""
    if eqn.primitive.name == "name":  # a value labelled by checkpoint_name, as JAX says it
        return f"named {eqn.params['name']!r}{where}"
    return f"output of {eqn.primitive.name}{where}"


def saved_residuals(f: Callable[..., Any], *args: Any) -> list[tuple[ShapedArray, str]]:
    """``(type, where it comes from)`` for each value ``vjp(f, *args)`` keeps for the backward pass.

    >>> import fungrad, fungrad.lax as lax, numpy as np
    >>> [str(a) for a, _ in saved_residuals(lambda x: lax.sin(lax.sin(x)), np.ones(3))]
    ['f64[3]', 'f64[3]']
    """
    leaves, in_tree = flatten_leaves(args, "an argument")
    forward = StagingTrace(core.current_trace())
    with core.new_trace(forward):
        ins = [forward.new_arg(get_aval(x)) for x in leaves]
        _, linear = linearize_flat(flatten_fun(f, in_tree)[0], ins)
    producer = {v: e for e in forward.eqns for v in e.outvars}
    arg_of: dict[Var, str] = dict(zip(forward.invars, _arg_names(f, args)))
    out: list[tuple[ShapedArray, str]] = []
    for c in linear.consts:
        if type(c) is StagingTracer and c._trace is forward:
            if c.ir_var in arg_of:
                out.append((c.aval, f"from the argument {arg_of[c.ir_var]}"))
            else:
                out.append((c.aval, _describe(producer[c.ir_var], c.ir_var)))
        else:
            out.append((get_aval(c), "a constant the function closes over"))
    return out


def print_saved_residuals(f: Callable[..., Any], *args: Any) -> None:
    """Print what reverse mode saves for the backward pass of ``f`` at ``args``, one per line.

    >>> import fungrad, fungrad.lax as lax, numpy as np
    >>> fungrad.print_saved_residuals(lambda x: lax.exp(x), np.ones(2))  # doctest: +ELLIPSIS
    f64[2] output of exp from ...
    """
    for aval, where in saved_residuals(f, *args):
        print(f"{aval} {where}")

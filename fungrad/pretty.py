"""Printing jaxprs in JAX's format: ``{ lambda consts ; args. let eqns in (outs,) }``."""
from __future__ import annotations

from typing import Any

from fungrad.ir import Eqn, Jaxpr, Literal, Var

_WIDTH = 100


class _Names:
    """Generates a, b, ..., z, ba, bb, ... in order of first appearance."""

    def __init__(self) -> None:
        self.names: dict[Var, str] = {}

    def __call__(self, v: Var | Literal) -> str:
        if type(v) is Literal:
            return repr(v)
        name = self.names.get(v)  # type: ignore[arg-type]
        if name is None:
            n, name = len(self.names), ""
            while True:
                name = chr(ord("a") + n % 26) + name
                n //= 26
                if n == 0:
                    break
            self.names[v] = name  # type: ignore[index]
        return name

    def typed(self, v: Var) -> str:
        return f"{self(v)}:{v.aval}"


def _pp_param(value: Any, indent: int) -> str:
    if isinstance(value, Jaxpr):
        return "\n" + _pp(value, _Names(), indent + 4)
    if isinstance(value, tuple) and value and all(isinstance(v, Jaxpr) for v in value):
        return "(" + ",".join("\n" + _pp(v, _Names(), indent + 4) for v in value) + "\n" + " " * indent + ")"
    if callable(value) and hasattr(value, "__name__"):
        return str(value.__name__)
    return str(value)


def _pp_eqn(eqn: Eqn, names: _Names, indent: int) -> str:
    params = ""
    if eqn.params:
        params = "[" + " ".join(f"{k}={_pp_param(v, indent)}" for k, v in eqn.params.items()) + "]"
    lhs = " ".join(names.typed(v) for v in eqn.outvars)
    rhs = " ".join(names(v) for v in eqn.inputs)
    return f"{lhs} = {eqn.primitive.name}{params} {rhs}".rstrip()


def pp_eqn(eqn: Eqn) -> str:
    return _pp_eqn(eqn, _Names(), 0)


def _pp(jaxpr: Jaxpr, names: _Names, indent: int) -> str:
    consts = " ".join(names.typed(v) for v in jaxpr.constvars)
    args = " ".join(names.typed(v) for v in jaxpr.invars)
    eqns = [_pp_eqn(e, names, indent + 4) for e in jaxpr.eqns]
    outs = "(" + ", ".join(names(v) for v in jaxpr.outvars) + ("," if len(jaxpr.outvars) == 1 else "") + ")"
    head = f"{{ lambda {consts}; {args}. let"
    one_line = f"{head} {'; '.join(eqns)}{' ' if eqns else ''}in {outs} }}"
    pad = " " * indent
    if len(one_line) + indent <= _WIDTH and "\n" not in one_line:
        return pad + one_line
    body = "".join(f"\n{pad}    {e}" for e in eqns)
    return f"{pad}{head}{body}\n{pad}  in {outs} }}"


def pp_jaxpr(jaxpr: Jaxpr) -> str:
    """The text of ``jaxpr``: one line when it is short, one equation per line otherwise."""
    return _pp(jaxpr, _Names(), 0)

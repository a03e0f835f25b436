"""The ``jit`` call primitive: a whole jaxpr as one equation, with a rule for every interpreter.

``jit_p.bind(*args, jaxpr=j, name=s)`` runs the closed jaxpr ``j`` (no consts of its own: they
come first among ``args``). Each transform re-traces ``j`` under itself once, caches the new
jaxpr per ``j`` (jaxprs hash by identity) and binds ``jit`` again, so a jitted function under
``grad``/``jvp``/``vmap`` stays compiled and is never re-traced from Python.

>>> import fungrad, fungrad.numpy as fnp
>>> f = fungrad.jit(fnp.sin)
>>> [e.primitive.name for e in fungrad.make_jaxpr(lambda x: f(x) * 2.0)(1.0).eqns]
['jit', 'mul']
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from fungrad.core import Primitive, abstract_eval_rules, get_aval, impl_rules, set_current_trace
from fungrad.errors import ShapeError
from fungrad.interpreters.ad import Zero, is_float, jvp_rules
from fungrad.lax.registry import instantiate
from fungrad.interpreters.batching import batch_rules, rule_axis_name
from fungrad.lax.jaxpr_util import (
    batch_jaxpr, derived, jvp_jaxpr, partial_eval_jaxpr, split_consts, transpose_jaxpr,
)
from fungrad.interpreters.staging import StagingTrace, partial_eval_rules
from fungrad.interpreters.transpose import is_undefined, transpose_rules
from fungrad.ir import Eqn, Jaxpr, ShapedArray
from fungrad.compiler.codegen import Compiled, EmitContext, compile_jaxpr, defcodegen
from fungrad.compiler.passes import inline_rules, optimize

jit_p = Primitive("jit", multiple_results=True)

def compiled(jaxpr: Jaxpr) -> Compiled:
    """The compiled code of ``jaxpr`` (generated once)."""
    return derived(jaxpr, "compiled", lambda: compile_jaxpr(jaxpr))  # type: ignore[no-any-return]


def closed_call(jaxpr: Jaxpr) -> tuple[Jaxpr, list[Any]]:
    """``jaxpr`` optimized with its consts turned into leading inputs."""
    return split_consts(optimize(jaxpr))


def call(jaxpr: Jaxpr, consts: Sequence[Any], args: Sequence[Any], name: str) -> list[Any]:
    return jit_p.bind(*consts, *args, jaxpr=jaxpr, name=name)  # type: ignore[no-any-return]


# ---------------------------------------------------------------- evaluation and shapes

def _impl(*args: Any, jaxpr: Jaxpr, name: str) -> list[Any]:
    return list(compiled(jaxpr).fn(*args))


def _shape_rule(*avals: ShapedArray, jaxpr: Jaxpr, name: str) -> list[ShapedArray]:
    expected = jaxpr.in_avals
    if len(avals) != len(expected) or any(a != b for a, b in zip(avals, expected)):
        raise ShapeError(f"jit {name}: called with {list(avals)}, but traced for {expected}")
    return jaxpr.out_avals


impl_rules[jit_p] = _impl
abstract_eval_rules[jit_p] = _shape_rule


# ---------------------------------------------------------------- forward mode

def _jvp(primals: Sequence[Any], tangents: Sequence[Any], *, jaxpr: Jaxpr,
         name: str) -> tuple[list[Any], list[Any]]:
    nonzero = tuple(type(t) is not Zero and is_float(v.aval)
                    for t, v in zip(tangents, jaxpr.invars))

    def make() -> tuple[Jaxpr, list[Any], list[bool]]:
        j, out_nz = jvp_jaxpr(jaxpr, nonzero)
        return (*closed_call(j), out_nz)

    j, consts, out_nz = derived(jaxpr, ("jvp", nonzero), make)
    outs = call(j, consts, [*primals, *(t for t, n in zip(tangents, nonzero) if n)],
                f"jvp({name})")
    n = len(jaxpr.outvars)
    rest = iter(outs[n:])
    out_ts = [next(rest) if nz else Zero(a) for nz, a in zip(out_nz, jaxpr.out_avals)]
    return outs[:n], out_ts


jvp_rules[jit_p] = _jvp


# ---------------------------------------------------------------- transposition

def _transpose(cts: Sequence[Any], *args: Any, jaxpr: Jaxpr, name: str) -> list[Any]:
    linear = tuple(is_undefined(a) for a in args)
    j, consts = derived(jaxpr, ("transpose", linear),
                        lambda: closed_call(transpose_jaxpr(jaxpr, linear)))
    nonlinear = [a for a, lin in zip(args, linear) if not lin]
    in_cts = iter(call(j, consts, [*nonlinear, *map(instantiate, cts)], f"transpose({name})"))
    return [next(in_cts) if lin else None for lin in linear]


transpose_rules[jit_p] = _transpose


# ---------------------------------------------------------------- batching

def _batch(vals: Sequence[Any], dims: Sequence[int | None], *, jaxpr: Jaxpr,
           name: str) -> tuple[list[Any], list[int | None]]:
    size = next(get_aval(v).shape[d] for v, d in zip(vals, dims) if d is not None)
    key = ("batch", tuple(dims), size, rule_axis_name())

    def make() -> tuple[Jaxpr, list[Any], list[bool]]:
        j, batched = batch_jaxpr(jaxpr, dims, size)
        return (*closed_call(j), batched)

    j, consts, batched = derived(jaxpr, key, make)
    outs = call(j, consts, vals, f"vmap({name})")
    return outs, [0 if b else None for b in batched]


batch_rules[jit_p] = _batch


# ---------------------------------------------------------------- partial evaluation

def _partial_eval(trace: StagingTrace, args: Sequence[Any], params: dict[str, Any]) -> list[Any]:
    """Run the known part of the jaxpr now (compiled), stage the unknown part as one equation."""
    jaxpr, name = params["jaxpr"], params["name"]
    unknown = tuple(not trace.is_known(a) for a in args)

    def make() -> tuple[Jaxpr, list[Any], Jaxpr, int, list[bool]]:
        known, rest, num_res, out_uk = partial_eval_jaxpr(jaxpr, unknown)
        k, k_consts = closed_call(known)
        return k, k_consts, optimize(rest), num_res, out_uk

    known, k_consts, rest, num_res, out_uk = derived(jaxpr, ("partial_eval", unknown), make)
    with set_current_trace(trace.parent):  # type: ignore[arg-type]
        known_outs = call(known, k_consts, [a for a, u in zip(args, unknown) if not u], name)
    n_known = len(known_outs) - num_res
    residuals = known_outs[n_known:]
    ins = [trace.to_atom(x) for x in residuals] + [trace.to_atom(a)
                                                   for a, u in zip(args, unknown) if u]
    staged = iter(trace.add_eqn(jit_p, ins, {"jaxpr": rest, "name": name}, rest.out_avals)
                  if rest.outvars else [])
    known_iter = iter(known_outs[:n_known])
    return [next(staged) if uk else next(known_iter) for uk in out_uk]


partial_eval_rules[jit_p] = _partial_eval


# ---------------------------------------------------------------- code generation

def _emit(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> list[str]:
    fn = ctx.ref(compiled(eqn.params["jaxpr"]).fn)
    target = ", ".join(outs) + ("," if len(outs) == 1 else "")
    return [f"{target} = {fn}({', '.join(ins)})"] if outs else [f"{fn}({', '.join(ins)})"]


defcodegen(jit_p, _emit, "fresh")
inline_rules[jit_p] = lambda eqn: eqn.params["jaxpr"]

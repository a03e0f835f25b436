"""Partial evaluation of a jaxpr: split it into the part computable from known inputs and the rest.

``partial_eval_jaxpr(jaxpr, unknowns)`` returns two jaxprs::

    known:   known inputs               -> known outputs + residuals
    unknown: residuals + unknown inputs -> unknown outputs

It is the staging partial evaluator run on the jaxpr, under a second staging trace: operations
whose inputs are all known fall through to the outer trace and build ``known``; the others are
recorded into ``unknown``, whose constants (known values it reads) become the residuals. Nested
control flow splits itself the same way through ``partial_eval_rules``.

>>> import numpy as np, fungrad
>>> j = fungrad.make_jaxpr(lambda x, y: fungrad.lax.mul(fungrad.lax.sin(x), y))(1.0, 2.0)
>>> known, unknown, num_res, out_uk = partial_eval_jaxpr(j, [False, True])
>>> print(known)
{ lambda ; a:f64[]. let b:f64[] = sin a in (b,) }
"""
from __future__ import annotations

import functools
import weakref
from typing import Any, Callable, Sequence, TypeVar

from fungrad import core
from fungrad.interpreters.staging import StagingTrace, trace_to_jaxpr
from fungrad.ir import Jaxpr, Var


F = TypeVar("F", bound=Callable[..., Any])


def memoized(transform: F) -> F:
    """Cache ``transform(jaxpr, *args)`` per jaxpr (weakly) and hashable arguments.

    Re-tracing a loop body under a transform re-binds the same nested jaxprs, and fixed points
    ask for the same transform several times: each is traced once.
    """
    cache: weakref.WeakKeyDictionary[Jaxpr, dict[Any, Any]] = weakref.WeakKeyDictionary()

    @functools.wraps(transform)
    def cached(jaxpr: Jaxpr, *args: Any, **kwargs: Any) -> Any:
        key = tuple(_hashable(a) for a in args) + tuple(
            (k, _hashable(v)) for k, v in sorted(kwargs.items()))
        per_jaxpr = cache.setdefault(jaxpr, {})
        if key not in per_jaxpr:
            per_jaxpr[key] = transform(jaxpr, *args, **kwargs)
        out = per_jaxpr[key]
        return tuple(list(o) if isinstance(o, list) else o for o in out) \
            if isinstance(out, tuple) else out

    return cached  # type: ignore[return-value]


def _hashable(x: Any) -> Any:
    return tuple(x) if isinstance(x, (list, tuple)) else x


@memoized
def partial_eval_jaxpr(jaxpr: Jaxpr, unknowns: Sequence[bool],
                       instantiate: bool | Sequence[bool] = False
                       ) -> tuple[Jaxpr, Jaxpr, int, list[bool]]:
    """``(known, unknown, num_residuals, out_unknowns)`` for ``jaxpr`` with ``unknowns`` inputs.

    ``instantiate`` (one flag per output, or one for all) forces outputs to be unknown, so that
    callers (loops, branches) can make the split agree across iterations or branches. ``known``
    may carry consts of its own; ``unknown`` has none (they are its leading residual inputs).
    """
    inst = _flags(instantiate, len(jaxpr.outvars))
    known_avals = [v.aval for v, uk in zip(jaxpr.invars, unknowns) if not uk]
    unknown_avals = [v.aval for v, uk in zip(jaxpr.invars, unknowns) if uk]
    found: list[Any] = []

    def known_fun(*known_args: Any) -> list[Any]:
        pe = StagingTrace(core.current_trace(), forward_known=True, record_source=False)
        with core.new_trace(pe):
            unknown_args = iter([pe.new_arg(a) for a in unknown_avals])
            known_iter = iter(known_args)
            args = [next(unknown_args) if uk else next(known_iter) for uk in unknowns]
            outs = core.eval_jaxpr(jaxpr, jaxpr.consts, *args)
            out_uk = [not pe.is_known(o) or i for o, i in zip(outs, inst)]
            residual_jaxpr = pe.build([o for o, uk in zip(outs, out_uk) if uk])
        found[:] = [residual_jaxpr, out_uk]
        return [o for o, uk in zip(outs, out_uk) if not uk] + list(residual_jaxpr.consts)

    known = trace_to_jaxpr(known_fun, known_avals)
    residual_jaxpr, out_uk = found
    unknown = Jaxpr([], residual_jaxpr.constvars + residual_jaxpr.invars, residual_jaxpr.eqns,
                    residual_jaxpr.outvars)
    return known, unknown, len(residual_jaxpr.constvars), out_uk


def residual_sources(known: Jaxpr, num_res: int) -> list[int | None]:
    """For each residual of ``known``: the index of the known input it merely forwards, or None.

    Loops pass such residuals straight from their operands instead of saving a copy per step.
    """
    position = {v: i for i, v in enumerate(known.invars)}
    outs = known.outvars[len(known.outvars) - num_res:]
    return [position.get(v) if type(v) is Var else None for v in outs]


def _flags(flag: bool | Sequence[bool], n: int) -> list[bool]:
    return [bool(flag)] * n if isinstance(flag, bool) else [bool(f) for f in flag]

"""Reverse mode as ``transpose ∘ partial_eval ∘ jvp``.

``linearize_flat`` runs the JVP of a function with the tangent inputs *unknown*: a partial
evaluator (a staging trace that forwards all-known operations) sits under the JVP trace, so every
primal operation is computed now, on the parent trace, while every tangent operation is recorded
into a linear jaxpr whose constants are the residuals it needs. ``vjp_flat`` transposes that jaxpr.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from fungrad import core
from fungrad.config import config
from fungrad.core import get_aval
from fungrad.dtypes import has_tangent_space
from fungrad.interpreters.aliasing import detach, owners
from fungrad.interpreters.ad import JVPTrace, JVPTracer, Zero
from fungrad.interpreters.staging import StagingTrace
from fungrad.interpreters.transpose import backward_pass
from fungrad.ir import Jaxpr


def linearize_flat(fun: Callable[..., Sequence[Any]], primals: Sequence[Any],
                   keep: bool = False) -> tuple[list[Any], Jaxpr]:
    """Primal outputs of ``fun`` and the linear jaxpr mapping input tangents to output tangents.

    Outputs never share memory with the inputs or with constants ``fun`` returns as they are.
    ``keep``: the linear jaxpr outlives this call (a ``vjp`` pullback, a ``linearize``d
    function), so its residuals are made independent of every array the caller can edit.
    """
    partial = StagingTrace(core.current_trace(), forward_known=True, record_source=False)
    jvp = JVPTrace(partial, eager=partial.parent is core.EVAL_TRACE and config.eager_linearize,
                   seen=[] if keep else None)
    with core.new_trace(partial):
        tangents_in = [partial.new_arg(get_aval(p)) for p in primals]
        with core.new_trace(jvp):
            # Integer and boolean inputs have no tangent: they stay plain values.
            outs = fun(*[JVPTracer(jvp, p, t, jvp.eager and jvp.is_plain(p, t))
                         if has_tangent_space(t.aval.dtype) else p
                         for p, t in zip(primals, tangents_in)])
            pairs = [jvp.unwrap(o) for o in outs]
        tangents_out = [_zeros(t.aval) if type(t) is Zero else t for _, t in pairs]
        linear = partial.build(tangents_out)
    callers = owners([*primals, *(jvp.seen or ())])
    outs = detach_outputs(pairs, callers)
    if keep:
        callers |= owners(outs)
        linear.consts[:] = [detach(c, callers) for c in linear.consts]
    return outs, linear


def detach_outputs(pairs: Sequence[tuple[Any, Any]], callers: set[int]) -> list[Any]:
    """Primal outputs made independent of the caller's arrays: an output with no tangent (a
    constant, or computed from constants only) is copied; one that is a view of an input too."""
    return [p.copy() if type(t) is Zero and type(p) is np.ndarray else detach(p, callers)
            for p, t in pairs]


def vjp_flat(fun: Callable[..., Sequence[Any]], primals: Sequence[Any], keep: bool = False
             ) -> tuple[list[Any], Callable[[Sequence[Any]], list[Any]]]:
    """Primal outputs and a function from output cotangents to input cotangents (``Zero`` allowed).
    ``keep``: the pullback outlives this call (see ``linearize_flat``)."""
    outs, linear = linearize_flat(fun, primals, keep)

    def pullback(cts: Sequence[Any]) -> list[Any]:
        return backward_pass(linear, linear.consts, cts)

    return outs, pullback


def _zeros(aval: Any) -> Any:
    """The value of an output tangent that does not depend on the inputs: read-only zeros
    (no memory of their own), a constant of the linear program."""
    return np.broadcast_to(np.zeros((), aval.dtype), aval.shape)

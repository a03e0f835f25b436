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
from fungrad.interpreters.ad import JVPTrace, JVPTracer, Zero
from fungrad.interpreters.staging import StagingTrace
from fungrad.interpreters.transpose import backward_pass
from fungrad.ir import Jaxpr


def linearize_flat(fun: Callable[..., Sequence[Any]],
                   primals: Sequence[Any]) -> tuple[list[Any], Jaxpr]:
    """Primal outputs of ``fun`` and the linear jaxpr mapping input tangents to output tangents."""
    partial = StagingTrace(core.current_trace(), forward_known=True, record_source=False)
    jvp = JVPTrace(partial, eager=partial.parent is core.EVAL_TRACE and config.eager_linearize)
    with core.new_trace(partial):
        tangents_in = [partial.new_arg(get_aval(p)) for p in primals]
        with core.new_trace(jvp):
            outs = fun(*[JVPTracer(jvp, p, t, jvp.eager and jvp.is_plain(p, t))
                         for p, t in zip(primals, tangents_in)])
            pairs = [jvp.unwrap(o) for o in outs]
        tangents_out = [_zeros(t.aval) if type(t) is Zero else t for _, t in pairs]
        linear = partial.build(tangents_out)
    return [p for p, _ in pairs], linear


def vjp_flat(fun: Callable[..., Sequence[Any]],
             primals: Sequence[Any]) -> tuple[list[Any], Callable[[Sequence[Any]], list[Any]]]:
    """Primal outputs and a function from output cotangents to input cotangents (``Zero`` allowed)."""
    outs, linear = linearize_flat(fun, primals)

    def pullback(cts: Sequence[Any]) -> list[Any]:
        return backward_pass(linear, linear.consts, cts)

    return outs, pullback


def _zeros(aval: Any) -> Any:
    """The value of an output tangent that does not depend on the inputs: read-only zeros
    (no memory of their own), a constant of the linear program."""
    return np.broadcast_to(np.zeros((), aval.dtype), aval.shape)

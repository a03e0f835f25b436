"""Jaxpr-to-jaxpr transforms: the JVP, the batched version and the transpose of a jaxpr.

Each one re-traces the jaxpr under the interpreter of that transform (``jvp_flat``,
``batch_flat``, ``backward_pass``) inside ``trace_to_jaxpr``. Control flow and ``jit`` use them to
transform the jaxprs they carry as params. The results may hold consts of their own (arrays
created while tracing); ``split_consts`` turns those into leading inputs.

>>> import fungrad
>>> j = fungrad.make_jaxpr(fungrad.lax.sin)(1.0)
>>> print(jvp_jaxpr(j, [True])[0])
{ lambda ; a:f64[] b:f64[]. let c:f64[] = sin a; d:f64[] = cos a; e:f64[] = mul b d in (c, e) }
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from fungrad import core
from fungrad.core import get_aval
from fungrad.interpreters.ad import Zero, instantiate as instantiate_zero, is_float, jvp_flat
from fungrad.interpreters.batching import batch_flat, bdim_to_front, moveaxis, rule_axis_name
from fungrad.interpreters.named_axes import jaxpr_axis_names
from fungrad.interpreters.partial_eval_jaxpr import memoized, partial_eval_jaxpr
from fungrad.interpreters.staging import trace_to_jaxpr
from fungrad.interpreters.transpose import backward_pass
from fungrad.ir import Jaxpr, ShapedArray


def flags(flag: bool | Sequence[bool], n: int) -> list[bool]:
    """One flag per item: a single bool applies to all ``n``."""
    return [bool(flag)] * n if isinstance(flag, bool) else [bool(f) for f in flag]


def split_consts(jaxpr: Jaxpr) -> tuple[Jaxpr, list[Any]]:
    """``jaxpr`` with its constvars turned into leading invars, and the consts to pass there."""
    if not jaxpr.constvars:
        return jaxpr, []
    return (Jaxpr([], jaxpr.constvars + jaxpr.invars, jaxpr.eqns, jaxpr.outvars),
            list(jaxpr.consts))


@memoized
def jvp_jaxpr(jaxpr: Jaxpr, nonzeros: Sequence[bool],
              instantiate: bool | Sequence[bool] = False) -> tuple[Jaxpr, list[bool]]:
    """The JVP of ``jaxpr``: ``(primals, nonzero tangents) -> (outputs, nonzero out tangents)``.

    Only inputs flagged in ``nonzeros`` (and of float dtype) get a tangent input; an output gets
    a tangent output when it is not symbolically zero or when ``instantiate`` asks for it.
    Returns the new jaxpr and which outputs have a tangent.
    """
    nz = [n and is_float(v.aval) for n, v in zip(nonzeros, jaxpr.invars)]
    inst = flags(instantiate, len(jaxpr.outvars))
    avals = jaxpr.in_avals + [v.aval for v, n in zip(jaxpr.invars, nz) if n]
    found: list[bool] = []

    def fun(*args: Any) -> list[Any]:
        primals, tangents = args[:len(nz)], iter(args[len(nz):])
        ts = [next(tangents) if n else Zero(a) for n, a in zip(nz, jaxpr.in_avals)]
        outs, out_ts = jvp_flat(lambda *xs: core.eval_jaxpr(jaxpr, jaxpr.consts, *xs), primals, ts)
        found[:] = [(type(t) is not Zero or i) and is_float(get_aval(o))
                    for o, t, i in zip(outs, out_ts, inst)]
        return list(outs) + [instantiate_zero(t) for t, f in zip(out_ts, found) if f]

    return trace_to_jaxpr(fun, avals), list(found)


def batch_jaxpr(jaxpr: Jaxpr, in_dims: Sequence[int | None], axis_size: int,
                instantiate: bool | Sequence[bool] = False) -> tuple[Jaxpr, list[bool]]:
    """``jaxpr`` vectorized over inputs batched along ``in_dims`` (None: not batched).

    Batched outputs come out with the batch axis first; ``instantiate`` forces an output to be
    batched (broadcast) even when it does not depend on the batch. Returns the new jaxpr (inputs
    of the batched shapes) and which outputs are batched. Called from a batch rule, collectives
    in ``jaxpr`` over that rule's named axis are batched too.
    """
    name = rule_axis_name()
    return _batch_jaxpr(jaxpr, in_dims, axis_size, instantiate,
                        name if name in jaxpr_axis_names(jaxpr) else None)


@memoized
def _batch_jaxpr(jaxpr: Jaxpr, in_dims: Sequence[int | None], axis_size: int,
                 instantiate: bool | Sequence[bool], axis_name: Any) -> tuple[Jaxpr, list[bool]]:
    inst = flags(instantiate, len(jaxpr.outvars))
    avals = [a if d is None else _insert_axis(a, d, axis_size)
             for a, d in zip(jaxpr.in_avals, in_dims)]
    found: list[bool] = []

    def fun(*args: Any) -> list[Any]:
        outs, dims = batch_flat(lambda *xs: core.eval_jaxpr(jaxpr, jaxpr.consts, *xs), args,
                                in_dims, axis_size, axis_name)
        found[:] = [d is not None or i for d, i in zip(dims, inst)]
        return [(bdim_to_front(o, d, axis_size) if f else o)
                for o, d, f in zip(outs, dims, found)]

    return trace_to_jaxpr(fun, avals), list(found)


def _insert_axis(aval: ShapedArray, dim: int, size: int) -> ShapedArray:
    return ShapedArray(aval.shape[:dim] + (size,) + aval.shape[dim:], aval.dtype)


@memoized
def transpose_fn(jaxpr: Jaxpr, linear: Sequence[bool]
                 ) -> Callable[[Sequence[Any], Sequence[Any]], list[Any]]:
    """``f(nonlinear_inputs, output_cts) -> cts of the linear inputs`` (``Zero`` where none flows).

    The jaxpr may compute from its non-linear inputs too: that part is split off by partial
    evaluation (once, here) and runs forward before the backward pass.
    """
    known, unknown, num_res, _ = partial_eval_jaxpr(jaxpr, linear, instantiate=True)
    backward = Jaxpr(unknown.invars[:num_res], unknown.invars[num_res:], unknown.eqns,
                     unknown.outvars)

    def transposed(nonlinear: Sequence[Any], cts: Sequence[Any]) -> list[Any]:
        residuals = core.eval_jaxpr(known, known.consts, *nonlinear)
        return backward_pass(backward, residuals, cts)

    return transposed


@memoized
def transpose_jaxpr(jaxpr: Jaxpr, linear: Sequence[bool]) -> Jaxpr:
    """The transpose of ``jaxpr`` in its ``linear`` inputs, as a jaxpr:
    ``(non-linear inputs, output cotangents) -> cotangents of the linear inputs``."""
    f = transpose_fn(jaxpr, linear)
    nonlinear = [v.aval for v, lin in zip(jaxpr.invars, linear) if not lin]
    n = len(nonlinear)

    def fun(*args: Any) -> list[Any]:
        return [instantiate_zero(c) for c in f(args[:n], args[n:])]

    return trace_to_jaxpr(fun, nonlinear + jaxpr.out_avals)


def moved_batch_dims(vals: Sequence[Any], dims: Sequence[int | None], batched: Sequence[bool],
                     axis_size: int) -> list[Any]:
    """Values with the batch axis first where ``batched`` (broadcast if they had none)."""
    return [bdim_to_front(v, d, axis_size) if b else v for v, d, b in zip(vals, dims, batched)]


def move_to(x: Any, src: int | None, dst: int) -> Any:
    """``x`` with its batch axis ``src`` moved to ``dst`` (unbatched ``x`` passes through)."""
    return x if src is None else moveaxis(x, src, dst)

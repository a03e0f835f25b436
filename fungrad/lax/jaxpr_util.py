"""Jaxpr utilities: closing over constants, the JVP, batched version, transpose and partial
evaluation of a jaxpr, and the per-jaxpr caches.

Each transform re-traces the jaxpr under the interpreter of that transform (``jvp_flat``,
``batch_flat``, ``backward_pass``, the partial evaluator) inside ``trace_to_jaxpr``. Control flow,
``jit``, ``checkpoint`` and the custom derivatives use them to transform the jaxprs they carry as
params. The results may hold consts of their own (arrays created while tracing);
``split_consts`` turns those into leading inputs. Each transform is cached per jaxpr
(``memoized``), and ``derived`` keeps anything else computed from a jaxpr as long as it lives.

>>> import fungrad
>>> j = fungrad.make_jaxpr(fungrad.lax.sin)(1.0)
>>> print(jvp_jaxpr(j, [True])[0])
{ lambda ; a:f64[] b:f64[]. let c:f64[] = sin a; d:f64[] = cos a; e:f64[] = mul b d in (c, e) }
"""
from __future__ import annotations

import functools
import weakref
from typing import Any, Callable, Sequence, TypeVar

from fungrad import core
from fungrad.core import get_aval
from fungrad.interpreters.ad import Zero, is_float, jvp_flat
from fungrad.lax.registry import bdim_to_front, instantiate as instantiate_zero, moveaxis
from fungrad.interpreters.batching import batch_flat, rule_axis_name
from fungrad.interpreters.named_axes import jaxpr_axis_names
from fungrad.interpreters.staging import StagingTrace, trace_to_jaxpr
from fungrad.interpreters.transpose import backward_pass
from fungrad.ir import Jaxpr, ShapedArray, Var


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


# Everything else derived from a jaxpr (its compiled code, optimized form...) lives as long as it.
_derived: weakref.WeakKeyDictionary[Jaxpr, dict[Any, Any]] = weakref.WeakKeyDictionary()


def derived(jaxpr: Jaxpr, key: Any, make: Callable[[], Any]) -> Any:
    """``make()``, computed once per ``(jaxpr, key)``."""
    table = _derived.get(jaxpr)
    if table is None:
        table = _derived[jaxpr] = {}
    if key not in table:
        table[key] = make()
    return table[key]


def flags(flag: bool | Sequence[bool], n: int) -> list[bool]:
    """One flag per item: a single bool applies to all ``n``."""
    return [bool(flag)] * n if isinstance(flag, bool) else [bool(f) for f in flag]


def split_consts(jaxpr: Jaxpr) -> tuple[Jaxpr, list[Any]]:
    """``jaxpr`` with its constvars turned into leading invars, and the consts to pass there."""
    if not jaxpr.constvars:
        return jaxpr, []
    return (Jaxpr([], jaxpr.constvars + jaxpr.invars, jaxpr.eqns, jaxpr.outvars),
            list(jaxpr.consts))


def trace_closed(fun: Callable[..., Sequence[Any]],
                 in_avals: Sequence[ShapedArray]) -> tuple[Jaxpr, list[Any]]:
    """Trace ``fun`` with its constants moved to the front of its inputs: ``(jaxpr, consts)``.

    The consts become operands of the primitive that holds the jaxpr, so any transform around
    the call sees the values the function closes over.
    """
    return split_consts(trace_to_jaxpr(fun, in_avals))


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


@memoized
def partial_eval_jaxpr(jaxpr: Jaxpr, unknowns: Sequence[bool],
                       instantiate: bool | Sequence[bool] = False
                       ) -> tuple[Jaxpr, Jaxpr, int, list[bool]]:
    """``(known, unknown, num_residuals, out_unknowns)`` for ``jaxpr`` with ``unknowns`` inputs.

    ``instantiate`` (one flag per output, or one for all) forces outputs to be unknown, so that
    callers (loops, branches) can make the split agree across iterations or branches. ``known``
    may carry consts of its own; ``unknown`` has none (they are its leading residual inputs).
    """
    inst = flags(instantiate, len(jaxpr.outvars))
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


def moved_batch_dims(vals: Sequence[Any], dims: Sequence[int | None], batched: Sequence[bool],
                     axis_size: int) -> list[Any]:
    """Values with the batch axis first where ``batched`` (broadcast if they had none)."""
    return [bdim_to_front(v, d, axis_size) if b else v for v, d, b in zip(vals, dims, batched)]


def batch_front(vals: Sequence[Any], dims: Sequence[int | None]
                ) -> tuple[list[Any], list[Any], int]:
    """Move every batch axis to the front: ``(values, dims (0 or None), axis size)``."""
    moved = [v if d is None else moveaxis(v, d, 0) for v, d in zip(vals, dims)]
    size = next(get_aval(v).shape[0] for v, d in zip(moved, dims) if d is not None)
    return moved, [None if d is None else 0 for d in dims], size

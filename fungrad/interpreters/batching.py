"""Batching: the vmap interpreter. Each tracer carries a value and the axis of it that is batched.

A batch rule gets the operands' values and batch axes (None: not batched) and returns the
output value and its batch axis. It runs with the parent trace current.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence


from fungrad import core
from fungrad.core import Primitive, Trace, Tracer, get_aval, set_current_trace
from fungrad.errors import ConcretizationError
from fungrad.ir import ShapedArray
from fungrad.source_info import at_user_line

batch_rules: dict[Primitive, Callable[..., tuple[Any, Any]]] = {}


class BatchTracer(Tracer):
    """A value with one extra axis, ``bdim``, running over the batch."""

    __slots__ = ("val", "bdim")

    def __init__(self, trace: BatchTrace, val: Any, bdim: int) -> None:
        self._trace = trace
        self.val = val
        self.bdim = bdim

    @property
    def aval(self) -> ShapedArray:
        a = get_aval(self.val)
        return ShapedArray(a.shape[:self.bdim] + a.shape[self.bdim + 1:], a.dtype)

    def concrete_value(self) -> Any:
        raise ConcretizationError(
            f"A batched value {self.aval} was used where one concrete Python value is needed "
            f"(`if`, bool(), int(), ...): under vmap each example may differ. Use "
            f"fungrad.numpy.where or fungrad.lax.cond instead{at_user_line()}")


class BatchTrace(Trace):
    """Applies batch rules; ``axis_size`` is the length of the batch axis."""

    __slots__ = ("axis_size",)

    def __init__(self, parent: Trace | None, axis_size: int) -> None:
        super().__init__(parent)
        self.axis_size = axis_size

    def process_primitive(self, prim: Primitive, args: Sequence[Any],
                          params: dict[str, Any]) -> Any:
        vals: list[Any] = []
        dims: list[int | None] = []
        for a in args:
            if type(a) is BatchTracer and a._trace is self:
                vals.append(a.val)
                dims.append(a.bdim)
            else:
                vals.append(a)
                dims.append(None)
        with set_current_trace(self.parent):  # type: ignore[arg-type]
            if all(d is None for d in dims):
                return prim.bind(*vals, **params)
            rule = batch_rules.get(prim)
            if rule is None:
                raise NotImplementedError(f"vmap: no batching rule for {prim}")
            out, out_dim = rule(vals, dims, **params)
        if prim.multiple_results:
            return [self.wrap(o, d) for o, d in zip(out, out_dim)]
        return self.wrap(out, out_dim)

    def wrap(self, val: Any, bdim: int | None) -> Any:
        return val if bdim is None else BatchTracer(self, val, bdim)

    def unwrap(self, x: Any) -> tuple[Any, int | None]:
        if type(x) is BatchTracer and x._trace is self:
            return x.val, x.bdim
        return x, None


def batch_flat(fun: Callable[..., Sequence[Any]], args: Sequence[Any],
               in_dims: Sequence[int | None], axis_size: int) -> tuple[list[Any], list[int | None]]:
    """Run ``fun`` on batched ``args``; return the outputs' values and batch axes."""
    trace = BatchTrace(core.current_trace(), axis_size)
    with core.new_trace(trace):
        outs = fun(*[trace.wrap(a, d) for a, d in zip(args, in_dims)])
        pairs = [trace.unwrap(o) for o in outs]
    return [v for v, _ in pairs], [d for _, d in pairs]

"""Batching: the vmap interpreter. Each tracer carries a value and the axis of it that is batched.

A batch rule gets the operands' values and batch axes (None: not batched) and returns the
output value and its batch axis. It runs with the parent trace current.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from fungrad import core
from fungrad.core import Primitive, Trace, Tracer, get_aval, set_current_trace
from fungrad.errors import BroadcastError, ConcretizationError, broadcast_error
from fungrad.interpreters import named_axes
from fungrad.ir import ShapedArray
from fungrad.source_info import at_user_line

batch_rules: dict[Primitive, Callable[..., tuple[Any, Any]]] = {}
# ``give_batch_axis[0](x, n)``: ``x`` broadcast along a new leading axis of size ``n``. A lax
# operation, so fungrad.lax.collectives (the reason it is needed) puts it here.
give_batch_axis: list[Callable[[Any, int], Any]] = []


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

    # Asked for on every operation (rules compare shapes): read off the value, no aval built.
    @property
    def shape(self) -> tuple[int, ...]:
        val, b = self.val, self.bdim
        shape = val.shape if type(val) is np.ndarray or isinstance(val, Tracer) else \
            get_aval(val).shape
        return shape[:b] + shape[b + 1:]

    @property
    def dtype(self) -> Any:
        val = self.val
        return val.dtype if type(val) is np.ndarray or isinstance(val, Tracer) else \
            get_aval(val).dtype

    def concrete_value(self) -> Any:
        raise ConcretizationError(
            f"A batched value {self.aval} was used where one concrete Python value is needed "
            f"(`if`, bool(), int(), ...): under vmap each example may differ. Use "
            f"fungrad.numpy.where or fungrad.lax.cond instead{at_user_line()}")


class BatchTrace(Trace):
    """Applies batch rules; ``axis_size`` is the length of the batch axis, ``axis_name`` its
    name (None: unnamed), which collectives over it refer to."""

    __slots__ = ("axis_size", "axis_name")

    def __init__(self, parent: Trace | None, axis_size: int, axis_name: Any = None) -> None:
        super().__init__(parent)
        self.axis_size = axis_size
        self.axis_name = axis_name

    def process_primitive(self, prim: Primitive, args: Sequence[Any],
                          params: dict[str, Any]) -> Any:
        name = self.axis_name
        for a in args:
            if type(a) is BatchTracer and a._trace is self:
                break
        else:   # none of ours (a primal under jacfwd, ...): the parent's, unless a collective
            if name is None or not named_axes.acts_over(prim, params, name):
                return self.process_on_parent(prim, args, params)
        vals: list[Any] = []
        dims: list[int | None] = []
        batched = False
        for a in args:
            if type(a) is BatchTracer and a._trace is self:
                vals.append(a.val)
                dims.append(a.bdim)
                batched = True
            else:
                vals.append(a)
                dims.append(None)
        if not batched:
            if prim not in named_axes.axis_name_rules and vals and give_batch_axis:
                # A call whose body has a collective over our axis: batch its first operand.
                with set_current_trace(self.parent):  # type: ignore[arg-type]
                    vals[0], dims[0] = give_batch_axis[0](vals[0], self.axis_size), 0
        rule = batch_rules.get(prim)
        if rule is None:
            raise NotImplementedError(f"vmap: no batching rule for {prim}")
        # The rule runs on the parent trace, with our axis name as the rule's (set only when it
        # is not already: nested batching of an unnamed axis, the usual case, sets nothing).
        token = _rule_axis.set(name) if _rule_axis.get() is not name else None
        try:
            out, out_dim = self.call_on_parent(rule, vals, dims, **params)
        except BroadcastError as e:
            if not str(e).startswith(f"{prim.name}: "):  # raised inside a nested rule: as is
                raise
            raise self.broadcast_error(prim, args, dims) from None
        finally:
            if token is not None:
                _rule_axis.reset(token)
        if prim.multiple_results:
            return [self.wrap(o, d) for o, d in zip(out, out_dim)]
        return self.wrap(out, out_dim)

    def broadcast_error(self, prim: Primitive, args: Sequence[Any],
                        dims: Sequence[int | None]) -> BroadcastError:
        """The error for operands that do not broadcast, in the user's shapes: those of one
        example (the batched values' shapes, which NumPy saw, would only confuse)."""
        *most, last = [str(i) for i, d in enumerate(dims) if d is not None]
        which = f"operands {', '.join(most)} and {last}" if most else f"operand {last}"
        axis = "an axis" if self.axis_name is None else f"the axis {self.axis_name!r}"
        return broadcast_error(
            prim.name, [get_aval(a).shape for a in args], at_user_line(),
            f" (the shapes of one example: vmap maps {which} over {axis} of size "
            f"{self.axis_size})")

    def wrap(self, val: Any, bdim: int | None) -> Any:
        return val if bdim is None else BatchTracer(self, val, bdim)

    def unwrap(self, x: Any) -> tuple[Any, int | None]:
        if type(x) is BatchTracer and x._trace is self:
            return x.val, x.bdim
        return x, None


# While a batch rule runs, the name of the axis it batches (per thread / asyncio task): a rule
# that batches a nested jaxpr (control flow, jit) does so over the same named axis.
_rule_axis: contextvars.ContextVar[Any] = contextvars.ContextVar("fungrad_rule_axis",
                                                                 default=None)


@contextmanager
def _in_rule_of(name: Any) -> Iterator[None]:
    token = _rule_axis.set(name)
    try:
        yield
    finally:
        _rule_axis.reset(token)


def rule_axis_name() -> Any:
    """The axis name of the batch rule running now (None outside rules or for unnamed axes)."""
    return _rule_axis.get()


_INHERIT = object()


def batch_flat(fun: Callable[..., Sequence[Any]], args: Sequence[Any],
               in_dims: Sequence[int | None], axis_size: int,
               axis_name: Any = _INHERIT) -> tuple[list[Any], list[int | None]]:
    """Run ``fun`` on batched ``args``; return the outputs' values and batch axes.

    ``axis_name`` names the axis for collectives; by default a batch rule's nested batching
    keeps the name of the axis it batches.
    """
    name = _rule_axis.get() if axis_name is _INHERIT else axis_name
    trace = BatchTrace(core.current_trace(), axis_size, name)
    with core.new_trace(trace), _in_rule_of(None):
        if name is None:
            outs = fun(*[trace.wrap(a, d) for a, d in zip(args, in_dims)])
        else:
            with named_axes.extend_axis_env(name, axis_size):
                outs = fun(*[trace.wrap(a, d) for a, d in zip(args, in_dims)])
        pairs = [trace.unwrap(o) for o in outs]
    return [v for v, _ in pairs], [d for _, d in pairs]

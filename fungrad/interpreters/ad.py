"""Forward mode: the JVP interpreter, symbolic zeros and the helpers that define JVP rules.

A JVP rule sees primal values and tangents (a tangent may be the symbolic ``Zero``) and returns
the primal output and its tangent. It runs with the *parent* trace current, so the operations it
binds are interpreted one level down: evaluated, staged, or differentiated again.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from fungrad import core
from fungrad.core import Primitive, Trace, Tracer, get_aval
from fungrad.errors import ConcretizationError
from fungrad.interpreters.staging import StagingTracer
from fungrad.source_info import at_user_line
from fungrad.ir import ShapedArray


class Zero:
    """A tangent or cotangent known to be zero, never materialized unless asked."""

    __slots__ = ("_aval", "_like")

    def __init__(self, aval: ShapedArray | None, like: Any = None) -> None:
        self._aval = aval
        self._like = like

    @staticmethod
    def like(x: Any) -> Zero:
        """The zero tangent of value ``x``; its type is only worked out if someone asks."""
        return Zero(None, x)

    @property
    def aval(self) -> ShapedArray:
        if self._aval is None:
            self._aval = get_aval(self._like)
            self._like = None
        return self._aval

    def __repr__(self) -> str:
        return f"Zero({self.aval})"


def is_float(aval: ShapedArray) -> bool:
    return aval.dtype.kind in "fc"


jvp_rules: dict[Primitive, Callable[..., tuple[Any, Any]]] = {}
# One-step rules used when the JVP trace linearizes concrete values (see eager_linearize.py):
# ``rule(trace, args, params)`` returns the output tracer, or NotImplemented to use the JVP rule.
linearize_rules: dict[Primitive, Callable[[Any, Any, Any], Any]] = {}


class JVPTracer(Tracer):
    """A primal value paired with its tangent.

    ``plain`` marks, under eager linearization, a float ndarray primal with at least one axis
    and a tangent staged by the trace's partial evaluator: what the one-step rules accept.
    """

    __slots__ = ("primal", "tangent", "plain", "_aval")

    def __init__(self, trace: JVPTrace, primal: Any, tangent: Any, plain: bool = False) -> None:
        self._trace = trace
        self.primal = primal
        self.tangent = tangent
        self.plain = plain
        self._aval: ShapedArray | None = None

    @property
    def aval(self) -> ShapedArray:
        aval = self._aval
        if aval is None:   # built once: promotion and shape checks ask for it several times
            aval = self._aval = get_aval(self.primal)
        return aval

    # ``shape``, ``dtype`` and ``ndim`` are asked for on every operator call: read them off an
    # ndarray primal directly instead of building an aval.
    @property
    def shape(self) -> tuple[int, ...]:
        p = self.primal
        return p.shape if type(p) is np.ndarray else self.aval.shape

    @property
    def dtype(self) -> Any:
        p = self.primal
        return p.dtype if type(p) is np.ndarray else self.aval.dtype

    @property
    def ndim(self) -> int:
        p = self.primal
        return p.ndim if type(p) is np.ndarray else len(self.aval.shape)

    def concrete_value(self) -> Any:
        p = self.primal
        return p.concrete_value() if isinstance(p, Tracer) else np.asarray(p)

    def python_value(self, conversion: str) -> Any:
        """Refused for a value being differentiated: the Python number would drop its derivative."""
        if self.dtype.kind in "fc":
            raise ConcretizationError(
                f"{conversion} was called on a value being differentiated ({self.aval}): a Python "
                f"number (also from np.float64(x) or math functions) would silently drop its "
                f"derivative. Keep it an array and use fungrad.numpy on it (fnp.sin(x), x * 2.0), "
                f"or wrap it in lax.stop_gradient if it is meant as a constant. Comparisons "
                f"(`if x > 0:`) work as they are{at_user_line()}")
        return self.concrete_value()


class JVPTrace(Trace):
    """Pushes tangents forward through each primitive with its JVP rule.

    ``eager`` is set by ``linearize`` when the parent is a partial evaluator over concrete
    values: ``linearize_rules`` then take the primitives they know in one step. ``seen``, when
    a list, collects the arrays that enter from outside (closed-over constants), so that
    ``vjp`` can tell which saved values belong to the caller (see ``aliasing``).
    """

    __slots__ = ("eager", "seen")

    def __init__(self, parent: Trace | None, eager: bool = False,
                 seen: list[Any] | None = None) -> None:
        super().__init__(parent)
        self.eager = eager
        self.seen = seen

    def process_primitive(self, prim: Primitive, args: Sequence[Any],
                          params: dict[str, Any]) -> Any:
        seen = self.seen
        if seen is not None:
            seen.extend(a for a in args if type(a) is np.ndarray)
        if self.eager:
            rule = linearize_rules.get(prim)
            if rule is not None:
                out = rule(self, args, params)
                if out is not NotImplemented:
                    return out
        primals: list[Any] = []
        tangents: list[Any] = []
        any_tangent = False
        for a in args:
            if type(a) is JVPTracer and a._trace is self:
                primals.append(a.primal)
                tangents.append(a.tangent)
                any_tangent = True
            else:
                primals.append(a)
                tangents.append(Zero(None, a))
        if not any_tangent:
            return self.process_on_parent(prim, primals, params)
        out, out_t = self.call_on_parent(jvp_rules[prim], primals, tangents, **params)
        if prim.multiple_results:
            return [self.pure_or_tracer(p, t) for p, t in zip(out, out_t)]
        if type(out_t) is Zero:
            return out
        if self.eager:
            return JVPTracer(self, out, out_t, self.is_plain(out, out_t))
        return JVPTracer(self, out, out_t)

    def pure_or_tracer(self, primal: Any, tangent: Any) -> Any:
        if type(tangent) is Zero:
            return primal
        return JVPTracer(self, primal, tangent, self.eager and self.is_plain(primal, tangent))

    def is_plain(self, primal: Any, tangent: Any) -> bool:
        """Will the one-step rules take this pair? (see ``JVPTracer.plain``)"""
        return (type(primal) is np.ndarray and primal.ndim > 0 and primal.dtype.kind == "f"
                and type(tangent) is StagingTracer and tangent._trace is self.parent)

    def unwrap(self, x: Any) -> tuple[Any, Any]:
        """(primal, tangent) of an output; outputs that are not our tracers have zero tangent."""
        if type(x) is JVPTracer and x._trace is self:
            return x.primal, x.tangent
        return x, Zero.like(x)


def jvp_flat(fun: Callable[..., Sequence[Any]], primals: Sequence[Any],
             tangents: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """Push ``tangents`` (arrays or ``Zero``) through ``fun`` at ``primals``."""
    trace = JVPTrace(core.current_trace())
    with core.new_trace(trace):
        ins = [p if type(t) is Zero else JVPTracer(trace, p, t) for p, t in zip(primals, tangents)]
        outs = fun(*ins)
        pairs = [trace.unwrap(o) for o in outs]
    return [p for p, _ in pairs], [t for _, t in pairs]


def add_tangents(a: Any, b: Any) -> Any:
    """The sum of two tangents (or cotangents), either of which may be a symbolic ``Zero``.

    Arrays add in NumPy; tracers add through the ``+`` that the numpy layer installs on
    ``Tracer``, so this layer builds no operation of its own.
    """
    if type(a) is Zero:
        return b
    if type(b) is Zero:
        return a
    return a + b

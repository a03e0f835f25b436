"""Staging: record primitives into a jaxpr instead of running them.

One trace class serves two transforms. ``make_jaxpr``/``jit`` stage every operation; partial
evaluation (``forward_known=True``) stages only operations that touch one of its own (unknown)
tracers and hands all-known operations to the parent trace, which is how ``linearize`` splits a
JVP into the primal computation (run now) and the linear tangent program (kept as a jaxpr).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from fungrad import core, typecheck
from fungrad.core import Primitive, Trace, Tracer, abstract_eval_rules
from fungrad.stack import recursion_headroom
from fungrad.errors import ConcretizationError, ShapeError
from fungrad.ir import Atom, Eqn, Jaxpr, Literal, ShapedArray, Var, literal
from fungrad.source_info import at_user_line, user_frame_summary

_SCALARS = (bool, int, float, complex, np.generic)

# The params of every staged equation that has none (a jaxpr's params are read, never edited).
NO_PARAMS: dict[str, Any] = {}

# Rules for primitives that need more than "stage it whole" under partial evaluation
# (control flow, jit, checkpoint): ``rule(trace, args, params)`` returns the outputs, a mix of
# known values (computed now, on the parent trace) and unknown tracers of ``trace``.
partial_eval_rules: dict[Primitive, Callable[..., Any]] = {}

# ``fold(prim, values, params, out_avals)``: the outputs' values of an operation on known values,
# computed now, or None to stage it (what jit's optimizer would fold anyway; see ``StagingTrace``).
Fold = Callable[[Primitive, list[Any], dict[str, Any], list[ShapedArray]], "list[Any] | None"]


class StagingTracer(Tracer):
    """A value known only by its type, bound to a jaxpr variable."""

    __slots__ = ("ir_var",)

    def __init__(self, trace: StagingTrace, var: Var) -> None:
        self._trace = trace
        self.ir_var = var

    @property
    def aval(self) -> ShapedArray:
        return self.ir_var.aval

    @property
    def shape(self) -> tuple[int, ...]:
        return self.ir_var.aval.shape

    @property
    def dtype(self) -> Any:
        return self.ir_var.aval.dtype

    def concrete_value(self) -> Any:
        raise ConcretizationError(
            f"A traced value {self.aval} was used where a concrete Python value is needed "
            f"(bool(), int(), float(), `if`, `while`, ...). Under jit (or make_jaxpr) values "
            f"are abstract: use fungrad.lax.cond / fungrad.numpy.where for branches, or mark "
            f"the argument static with static_argnums / static_argnames{at_user_line()}")


class StagingTrace(Trace):
    """Builds a jaxpr from the primitives bound while it is current.

    With ``fold``, an operation whose inputs are all known (literals and concrete consts, or
    values folded before) is computed now where ``fold`` agrees: its result becomes a const,
    still seen as an abstract tracer. ``jit`` folds so (an identity basis pushed through
    ``jacfwd`` is mostly such operations); ``make_jaxpr`` shows every operation.
    """

    __slots__ = ("forward_known", "record_source", "invars", "eqns", "constvar_of", "consts",
                 "fold", "known")

    def __init__(self, parent: Trace | None, forward_known: bool = False,
                 record_source: bool = True, fold: Fold | None = None) -> None:
        super().__init__(parent)
        self.forward_known = forward_known
        self.record_source = record_source
        self.invars: list[Var] = []
        self.eqns: list[Eqn] = []
        self.constvar_of: dict[int, Var] = {}
        self.consts: list[Any] = []
        self.fold = fold
        self.known: dict[Var, Any] = {}   # (with ``fold``) the concrete consts' values

    def new_arg(self, aval: ShapedArray) -> StagingTracer:
        var = Var(aval)
        self.invars.append(var)
        return StagingTracer(self, var)

    def to_atom(self, x: Any) -> Atom:
        """The jaxpr atom for ``x``: our tracer's variable, a literal, or a new constant."""
        if type(x) is StagingTracer and x._trace is self:
            return x.ir_var
        if type(x) is np.ndarray:
            if not x.ndim:
                return literal(x)
            return self.constvar(x, None)
        if isinstance(x, _SCALARS):
            return Literal(x)
        if isinstance(x, Tracer) and not (x._trace.alive and x._trace.is_ancestor_of(self)):
            raise core.escaped_tracer_error(x)
        return self.constvar(x, None)

    def constvar(self, x: Any, aval: ShapedArray | None) -> Var:
        """The variable of constant ``x``, added once (``aval``: its type, if known already)."""
        var = self.constvar_of.get(id(x))
        if var is None:
            var = self.constvar_of[id(x)] = Var(aval or core.get_aval(x))
            self.consts.append(x)
            if self.fold is not None and not isinstance(x, Tracer):
                self.known[var] = x
        return var

    def process_primitive(self, prim: Primitive, args: Sequence[Any],
                          params: dict[str, Any]) -> Any:
        if self.forward_known:
            for a in args:
                if type(a) is StagingTracer and a._trace is self:
                    break
            else:
                return self.process_on_parent(prim, args, params)
            rule = partial_eval_rules.get(prim)
            if rule is not None:
                return rule(self, args, params)
        # Our own tracers (the usual operands) map to their variables without a call.
        inputs = [a.ir_var if type(a) is StagingTracer and a._trace is self else self.to_atom(a)
                  for a in args]
        avals = [a.aval for a in inputs]
        try:   # (the shape rule in line: ``abstract_eval`` runs it again to name the user's line)
            out_avals = abstract_eval_rules[prim](*avals, **params)
        except ShapeError:
            out_avals = abstract_eval(prim, avals, params)
        if self.fold is not None and not prim.multiple_results:
            known = self.known
            for a in inputs:
                if type(a) is not Literal and a not in known:
                    break
            else:
                folded = self.folded(prim, inputs, params, out_avals)
                if folded is not None:
                    return folded
        if not params:   # most equations: one shared empty dict (params are never edited)
            params = NO_PARAMS
        if prim.multiple_results:
            return self.add_eqn(prim, inputs, params, out_avals)
        # The common case, in line. The user's line is looked for from our caller on (this
        # frame is fungrad's); under linearize there is none to look up.
        var = Var(out_avals)
        self.eqns.append(Eqn(prim, inputs, params, [var],
                             user_frame_summary(2) if self.record_source else None))
        return StagingTracer(self, var)

    def folded(self, prim: Primitive, inputs: list[Atom], params: dict[str, Any],
               out_aval: ShapedArray) -> StagingTracer | None:
        """The output of ``prim`` on known ``inputs`` as a tracer of a new const, if ``fold``
        computes it (a 0-d result stays an equation: the optimizer makes it a literal)."""
        if not out_aval.shape:
            return None
        known = self.known
        vals = [a.val if type(a) is Literal else known[a] for a in inputs]  # type: ignore[index]
        outs = self.fold(prim, vals, params, [out_aval])  # type: ignore[misc]
        if outs is None:
            return None
        out = outs[0]
        var = self.constvar_of.get(id(out))
        if var is None:   # (the usual case: a new array, no other const's object)
            var = self.constvar_of[id(out)] = Var(out_aval)
            self.consts.append(out)
            known[var] = out
        return StagingTracer(self, var)

    def add_eqn(self, prim: Primitive, inputs: list[Atom], params: dict[str, Any],
                out_avals: Any) -> Any:
        source = user_frame_summary(2) if self.record_source else None
        if prim.multiple_results:
            outvars = [Var(a) for a in out_avals]
            self.eqns.append(Eqn(prim, inputs, params, outvars, source))
            return [StagingTracer(self, v) for v in outvars]
        var = Var(out_avals)
        self.eqns.append(Eqn(prim, inputs, params, [var], source))
        return StagingTracer(self, var)

    def is_known(self, x: Any) -> bool:
        """Under partial evaluation: is ``x`` a known value (anything but our own tracer)?"""
        return not (type(x) is StagingTracer and x._trace is self)

    def build(self, outs: Sequence[Any]) -> Jaxpr:
        """Close the jaxpr over ``outs``; the consts become constvars."""
        outvars = [self.to_atom(o) for o in outs]
        constvars = [self.constvar_of[id(c)] for c in self.consts]
        jaxpr = Jaxpr(constvars, self.invars, self.eqns, outvars, self.consts)
        if typecheck.check_enabled:
            typecheck.typecheck_jaxpr(jaxpr)
        return jaxpr


def abstract_eval(prim: Primitive, avals: list[ShapedArray], params: dict[str, Any]) -> Any:
    """Apply ``prim``'s shape rule, naming the user's line when the operands do not fit."""
    try:
        return abstract_eval_rules[prim](*avals, **params)
    except ShapeError as e:
        if "\n  at " in str(e):
            raise
        raise type(e)(f"{e}{at_user_line()}") from None  # (a BroadcastError stays one)


def trace_to_jaxpr(fun: Callable[..., Sequence[Any]], in_avals: Sequence[ShapedArray],
                   parent: Trace | None = None, fold: Fold | None = None) -> Jaxpr:
    """Stage ``fun`` (flat arrays in, a flat list out) into a jaxpr (folding with ``fold``,
    see ``StagingTrace``).

    Bodies of control flow are traced from within the tracing of their parent, so the stack
    grows with the program's nesting: ``recursion_headroom`` keeps room for one more level.
    """
    trace = StagingTrace(parent or core.current_trace(), fold=fold)
    with recursion_headroom(), core.new_trace(trace):
        args = [trace.new_arg(a) for a in in_avals]
        outs = fun(*args)
        return trace.build(outs)

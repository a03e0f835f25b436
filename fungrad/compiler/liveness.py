"""Liveness and buffer ownership: which buffers die where, and which may be overwritten.

For every equation of a straight-line program this finds the variables that die there (so the
generated code can ``del`` them) and, for operations able to write into an input's buffer, a
*donor*: an input whose buffer

- is owned (produced by an operation that returns a new array, or a donated argument),
- dies at this equation, and no view of it lives on,
- has exactly the output's shape and dtype, and is not 0-d.

An operation that can work in its inputs' own buffers (a reduction across processes) is told
which inputs it may *consume*: each owned buffer (or a view of owned buffers) that dies there,
appears once among the inputs and shares no buffer with another input.

When no input qualifies, the donor is a buffer that died at an earlier equation with the output's
shape and dtype (the most recently freed: likely still in cache), kept bound until then instead of
deleted. So an elementwise chain over large arrays, such as an optimizer's update, allocates little
beyond the buffers it returns, and with donated arguments next to nothing.

Buffers are tracked through views: the output of a view (reshape, transpose, broadcast, an
unknown implementation) may alias its inputs' buffers, so a buffer lives until its last view dies.
"""
from __future__ import annotations

from typing import Callable, Sequence

from fungrad.ir import Eqn, Jaxpr, Literal, Var

# What an equation does with buffers: "fresh" (new arrays out), "inplace" (new arrays out, and it
# can write into a donor given one), "consume" (its outputs are new arrays or the buffers of the
# inputs it is told it may consume) or "alias" (outputs may share memory with the inputs).
Kind = str


class Plan:
    """Per-equation donors, consumed inputs and deaths, and how each output must be handed to the
    caller."""

    __slots__ = ("donor", "consumed", "dies", "out_action")

    def __init__(self, n: int) -> None:
        self.donor: list[Var | None] = [None] * n
        self.consumed: list[tuple[bool, ...]] = [()] * n   # per input of a "consume" equation
        self.dies: list[list[Var]] = [[] for _ in range(n)]
        # per output: "keep" (owned, return as is), "copy" (shares memory with something the
        # caller can see), "check" (unknown provenance: copy if read-only or not an array).
        self.out_action: list[str] = []


def plan_buffers(jaxpr: Jaxpr, kind_of: Callable[[Eqn], Kind],
                 owned_inputs: Sequence[bool] = ()) -> Plan:
    """Plan the buffers of ``jaxpr``; ``owned_inputs[i]``: invar ``i`` may be overwritten."""
    eqns = jaxpr.eqns
    n = len(eqns)
    last_use: dict[Var, int] = {}
    for i, eqn in enumerate(eqns):
        for a in eqn.inputs:
            if type(a) is Var:
                last_use[a] = i
    for a in jaxpr.outvars:
        if type(a) is Var:
            last_use[a] = n  # outputs live past the last equation

    # owned: buffers we are free to overwrite. The outputs of "alias" equations may share memory
    # with their inputs: shared[v] holds the buffers v may view (itself included); any other
    # variable is a buffer of its own.
    owned: set[Var] = {v for v, mine in zip(jaxpr.invars, owned_inputs) if mine}
    shared: dict[Var, frozenset[Var]] = {}
    kinds = [kind_of(e) for e in eqns]
    for eqn, kind in zip(eqns, kinds):
        if kind == "alias":
            viewed: set[Var] = set()
            for a in eqn.inputs:
                if type(a) is Var:
                    viewed.update(shared.get(a, (a,)))
            for v in eqn.outvars:
                shared[v] = frozenset(viewed | {v})
        else:
            owned.update(eqn.outvars)

    # A buffer lives until its last view dies.
    buffer_end = dict(last_use)
    for v, rs in shared.items():
        t = last_use.get(v, -1)
        for r in rs:
            if buffer_end.get(r, -1) < t:
                buffer_end[r] = t

    plan = Plan(n)
    # Dead buffers free for a later equation's output, by (shape, dtype); and where each died.
    free: dict[tuple[tuple[int, ...], object], list[Var]] = {}
    died_at: dict[Var, int] = {}
    for i, (eqn, kind) in enumerate(zip(eqns, kinds)):
        dies = plan.dies[i]
        for a in eqn.inputs:
            if type(a) is Var and last_use[a] == i and a not in dies:
                dies.append(a)
        donor = None
        consumed: list[Var] = []
        if kind == "inplace" and len(eqn.outvars) == 1 and eqn.outvars[0].aval.shape:
            donor = plan.donor[i] = (_dying_input(eqn, i, owned, buffer_end)
                                     or _reuse(eqn, free, died_at, plan))
        elif kind == "consume":
            flags = plan.consumed[i] = _consumable(eqn, i, owned, shared, buffer_end)
            consumed = [a for a, mine in zip(eqn.inputs, flags) if mine and isinstance(a, Var)]
        for a in dies:
            if (a in owned and a is not donor and a not in consumed and buffer_end[a] == i
                    and a.aval.shape):
                free.setdefault((a.aval.shape, a.aval.dtype), []).append(a)
                died_at[a] = i

    seen: set[Var] = set()
    for a in jaxpr.outvars:
        if not isinstance(a, Var):
            plan.out_action.append("copy")
            continue
        views = shared.get(a)
        if views is None:   # a buffer of its own
            action = "keep" if a in owned and a not in seen else "copy"
            seen.add(a)
        else:
            action = "check" if views - {a} <= owned and seen.isdisjoint(views) else "copy"
            seen.update(views)
        plan.out_action.append(action)
    return plan


def _dying_input(eqn: Eqn, i: int, owned: set[Var], buffer_end: dict[Var, int]) -> Var | None:
    """An input of equation ``i`` whose buffer dies there and fits its output."""
    out = eqn.outvars[0].aval
    for a in eqn.inputs:
        if (type(a) is Var and a in owned and buffer_end.get(a, -1) == i
                and a.aval.shape == out.shape and a.aval.dtype == out.dtype):
            return a
    return None


def _consumable(eqn: Eqn, i: int, owned: set[Var], shared: dict[Var, frozenset[Var]],
                buffer_end: dict[Var, int]) -> tuple[bool, ...]:
    """Per input of equation ``i``: may it work in that input's buffers? Only if the input is
    (a view of) owned buffers that all die there, and no other input reads any of them (the same
    value twice, or two views of one buffer, would see the first reduction's result)."""
    buffers = [shared.get(a, frozenset((a,))) if type(a) is Var else frozenset()
               for a in eqn.inputs]
    flags = []
    for k, mine in enumerate(buffers):
        real = [r for r in mine if r not in shared]     # not views: buffers of their own
        flags.append(bool(real) and all(r in owned and buffer_end.get(r, -1) == i for r in real)
                     and not any(mine & other for j, other in enumerate(buffers) if j != k))
    return tuple(flags)


def _reuse(eqn: Eqn, free: dict[tuple[tuple[int, ...], object], list[Var]], died_at: dict[Var, int],
           plan: Plan) -> Var | None:
    """A buffer that died before equation ``eqn`` and fits its output (the last one freed, likely
    still in cache); its variable then stays bound instead of being deleted where it died."""
    out = eqn.outvars[0].aval
    pool = free.get((out.shape, out.dtype))
    if not pool:
        return None
    a = pool.pop()
    plan.dies[died_at.pop(a)].remove(a)
    return a

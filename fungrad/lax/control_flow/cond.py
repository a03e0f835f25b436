"""``cond`` and ``switch``: one primitive, ``cond``, that runs the branch chosen by an index.

``cond[branches=(b0, b1, ...)] index *operands`` evaluates ``branches[index]`` on the operands;
each branch is a const-free jaxpr (consts travel as leading operands, shared by all branches).

- JVP: a cond of the branches' JVPs (tangent outputs of all branches made to agree).
- partial eval: a known cond running the known part of the taken branch, which also returns its
  residuals (each branch fills its own slots of a common list, zeros elsewhere), and a staged
  cond of the unknown parts consuming them.
- transpose: a cond of the transposed branches.
- batching: an unbatched index keeps a cond of the batched branches; a batched index evaluates
  every branch and picks per example with ``select``.
- jit: a real ``if``/``elif``/``else``.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from fungrad import core
from fungrad.core import get_aval
from fungrad.errors import ShapeError
from fungrad.interpreters.ad import Zero, is_float, jvp_rules
from fungrad.lax.registry import bdim_to_front, instantiate, moveaxis, primitive
from fungrad.interpreters.batching import batch_flat, batch_rules
from fungrad.lax.jaxpr_util import (
    batch_jaxpr, jvp_jaxpr, split_consts, transpose_fn,
)
from fungrad.lax.jaxpr_util import partial_eval_jaxpr
from fungrad.interpreters.staging import StagingTrace, partial_eval_rules, trace_to_jaxpr
from fungrad.interpreters.transpose import is_undefined, transpose_rules
from fungrad.ir import Eqn, Jaxpr, ShapedArray
from fungrad.compiler.codegen import EmitContext, defcodegen
from fungrad.lax.control_flow.common import (
    check_operand_types, check_same_types, flatten_operands, join_consts, merge, optimized_body,
    pick, stage_whole, trace_fun,
)
from fungrad.source_info import at_user_line
from fungrad.tree_util import tree_flatten, tree_unflatten
from fungrad.lax.elementwise import (
    convert_element_type, eq, max as lax_max, min as lax_min, ne, select,
)
from fungrad.lax.shape_ops import broadcast_in_dim, full

Branches = tuple[Jaxpr, ...]


# ---------------------------------------------------------------- the primitive
def _cond_impl(index: Any, *ops: Any, branches: Branches) -> list[Any]:
    i = min(max(int(index), 0), len(branches) - 1)
    return core.eval_jaxpr(branches[i], (), *ops)


def _cond_shape(index: ShapedArray, *ops: ShapedArray, branches: Branches) -> list[ShapedArray]:
    if index.shape != () or index.dtype.kind not in "iu":
        raise ShapeError(f"cond: the branch index must be an integer scalar, got {index}")
    for i, b in enumerate(branches):
        check_operand_types("cond", f"the operands of branch {i}", b.in_avals, ops)
        if b.out_avals != branches[0].out_avals:
            raise ShapeError(f"cond: branch {i} returns {b.out_avals} but branch 0 returns "
                             f"{branches[0].out_avals}")
    return branches[0].out_avals


cond_p = primitive("cond", _cond_impl, _cond_shape, multiple_results=True)


def _closed(jaxprs: Sequence[Jaxpr]) -> tuple[Branches, list[Any]]:
    """Branches with their consts split off and shared: (branches, consts to pass first)."""
    split = [split_consts(j) for j in jaxprs]
    joined, consts = join_consts([j for j, _ in split], [c for _, c in split])
    return tuple(joined), consts


def _bind(index: Any, ops: Sequence[Any], jaxprs: Sequence[Jaxpr]) -> list[Any]:
    branches, consts = _closed(jaxprs)
    out: list[Any] = cond_p.bind(index, *consts, *ops, branches=branches)
    return out


# ---------------------------------------------------------------- the user-facing functions
def switch(index: Any, branches: Sequence[Callable[..., Any]], *operands: Any) -> Any:
    """Apply ``branches[index]`` to ``operands``; ``index`` is clamped into range.

    >>> import numpy as np
    >>> float(switch(2, [lambda x: x + 1.0, lambda x: x * 2.0, lambda x: -x], np.float64(3.0)))
    -3.0
    """
    branches = list(branches)
    if not branches or not all(callable(b) for b in branches):
        raise TypeError(f"switch needs a non-empty sequence of callables as branches, got "
                        f"{branches!r}{at_user_line()}")
    aval = get_aval(index)
    if aval.shape != () or aval.dtype.kind not in "iub":
        raise TypeError(f"switch: the index must be an integer scalar, got {aval}{at_user_line()}")
    if len(branches) == 1:
        return branches[0](*operands)
    index = lax_max(lax_min(convert_element_type(index, np.int32), len(branches) - 1), 0)
    return _cond_call("switch", index, branches,
                      [f"branch {i}" for i in range(len(branches))], operands)


def cond(pred: Any, true_fun: Callable[..., Any], false_fun: Callable[..., Any],
         *operands: Any) -> Any:
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``, as one staged op.

    Both branches are traced; their outputs must agree in structure, shapes and dtypes. Under
    ``vmap`` with a batched ``pred`` both run and the results are selected per example.

    >>> import numpy as np
    >>> float(cond(np.float64(2.0) > 1.0, lambda x: x * 10.0, lambda x: x, np.float64(3.0)))
    30.0
    """
    if not (callable(true_fun) and callable(false_fun)):
        raise TypeError(f"cond(pred, true_fun, false_fun, *operands): true_fun and false_fun "
                        f"must be callable{at_user_line()}")
    aval = get_aval(pred)
    if aval.shape != ():
        raise TypeError(f"cond: pred must be a scalar (shape ()), got {aval}; for an elementwise "
                        f"choice use fungrad.numpy.where{at_user_line()}")
    if aval.dtype.kind not in "biu":
        raise TypeError(f"cond: pred must be a boolean or integer scalar, got {aval}"
                        f"{at_user_line()}")
    if aval.dtype.kind != "b":
        pred = ne(pred, 0)
    index = convert_element_type(pred, np.int32)
    return _cond_call("cond", index, [false_fun, true_fun], ["false_fun", "true_fun"], operands)


def _cond_call(name: str, index: Any, funs: Sequence[Callable[..., Any]], labels: Sequence[str],
               operands: Sequence[Any]) -> Any:
    leaves, _, avals = flatten_operands(tuple(operands), f"a {name} operand")
    in_tree = tree_flatten(tuple(operands))[1]
    traced = [trace_fun(f, in_tree, avals, f"{name} {label}") for f, label in zip(funs, labels)]
    first = traced[0]
    for (j, _, tree), label in zip(traced[1:], labels[1:]):
        check_same_types(name, f"the output of {labels[0]}", first[2], first[0].out_avals,
                         f"the output of {label}", tree, j.out_avals)
    jaxprs, consts = join_consts([t[0] for t in traced], [t[1] for t in traced])
    outs = cond_p.bind(index, *consts, *leaves, branches=tuple(jaxprs))
    return tree_unflatten(first[2], outs)


# ---------------------------------------------------------------- forward mode
def _cond_jvp(primals: Sequence[Any], tangents: Sequence[Any], *,
              branches: Branches) -> tuple[list[Any], list[Any]]:
    index, ops = primals[0], primals[1:]
    nz = [type(t) is not Zero and is_float(get_aval(p)) for p, t in zip(ops, tangents[1:])]
    out_nz = [any(f) for f in zip(*[jvp_jaxpr(b, nz)[1] for b in branches])]
    jaxprs = [jvp_jaxpr(b, nz, instantiate=out_nz)[0] for b in branches]
    outs = _bind(index, list(ops) + pick(tangents[1:], nz), jaxprs)
    n = len(branches[0].outvars)
    zeros = [Zero(a) for a, f in zip(branches[0].out_avals, out_nz) if not f]
    return outs[:n], merge(out_nz, outs[n:], zeros)


jvp_rules[cond_p] = _cond_jvp


# ---------------------------------------------------------------- partial evaluation
def _cond_partial_eval(trace: StagingTrace, args: Sequence[Any], params: dict[str, Any]) -> Any:
    branches: Branches = params["branches"]
    index, ops = args[0], args[1:]
    if not trace.is_known(index):
        return stage_whole(trace, cond_p, args, params)
    uk = [not trace.is_known(x) for x in ops]
    out_uk = [any(f) for f in zip(*[partial_eval_jaxpr(b, uk)[3] for b in branches])]
    splits = [partial_eval_jaxpr(b, uk, instantiate=out_uk) for b in branches]
    slots, where = _residual_slots([k.out_avals[len(k.outvars) - n:] for k, _, n, _ in splits])
    n_known = out_uk.count(False)
    known_ops, uk_ops = pick(ops, uk, False), pick(ops, uk)
    known_avals = [get_aval(x) for x in known_ops]

    def known_branch(known: Jaxpr, slot_of: list[int]) -> Jaxpr:
        def run(*xs: Any) -> list[Any]:
            outs = core.eval_jaxpr(known, known.consts, *xs)
            res: list[Any] = [full(a.shape, 0, a.dtype) for a in slots]
            for k, r in zip(slot_of, outs[n_known:]):
                res[k] = r
            return outs[:n_known] + res
        return trace_to_jaxpr(run, known_avals)

    def unknown_branch(unknown: Jaxpr, slot_of: list[int]) -> Jaxpr:
        def run(*xs: Any) -> list[Any]:
            res, rest = xs[:len(slots)], xs[len(slots):]
            return core.eval_jaxpr(unknown, (), *[res[k] for k in slot_of], *rest)
        return trace_to_jaxpr(run, slots + [get_aval(x) for x in uk_ops])

    known_jaxprs = [known_branch(k, w) for (k, _, _, _), w in zip(splits, where)]
    unknown_jaxprs = [unknown_branch(u, w) for (_, u, _, _), w in zip(splits, where)]
    with core.set_current_trace(trace.parent):  # type: ignore[arg-type]
        known_outs = _bind(index, known_ops, known_jaxprs)
    uk_branches, uk_consts = _closed(unknown_jaxprs)
    inputs = [trace.to_atom(x) for x in [index, *uk_consts, *known_outs[n_known:], *uk_ops]]
    out_avals = [a for a, u in zip(branches[0].out_avals, out_uk) if u]
    tracers = trace.add_eqn(cond_p, inputs, dict(branches=uk_branches), out_avals)
    return merge(out_uk, tracers, known_outs[:n_known])


def _residual_slots(per_branch: Sequence[Sequence[ShapedArray]]
                    ) -> tuple[list[ShapedArray], list[list[int]]]:
    """Slots shared by the branches' residuals (one branch never uses a slot twice)."""
    slots: list[ShapedArray] = []
    where = []
    for avals in per_branch:
        used: list[int] = []
        for a in avals:
            k = next((s for s, b in enumerate(slots) if b == a and s not in used), None)
            if k is None:
                slots.append(a)
                k = len(slots) - 1
            used.append(k)
        where.append(used)
    return slots, where


partial_eval_rules[cond_p] = _cond_partial_eval


# ---------------------------------------------------------------- transpose
def _cond_transpose(cts: Sequence[Any], index: Any, *ops: Any, branches: Branches) -> list[Any]:
    lin = [is_undefined(x) for x in ops]
    ct_nz = [type(c) is not Zero for c in cts]  # zero cotangents stay symbolic in the branches
    nonlin = pick(ops, lin, False)
    avals = [get_aval(x) for x in nonlin] + pick(branches[0].out_avals, ct_nz)

    def transposed(branch: Jaxpr) -> Jaxpr:
        backward = transpose_fn(branch, lin)

        def run(*args: Any) -> list[Any]:
            zeros = [Zero(a) for a, nz in zip(branch.out_avals, ct_nz) if not nz]
            cts_in = backward(args[:len(nonlin)], merge(ct_nz, args[len(nonlin):], zeros))
            return [instantiate(c) for c in cts_in]
        return trace_to_jaxpr(run, avals)

    outs = _bind(index, nonlin + pick(cts, ct_nz), [transposed(b) for b in branches])
    return [None] + merge(lin, outs, [None] * lin.count(False))


transpose_rules[cond_p] = _cond_transpose


# ---------------------------------------------------------------- batching
def _cond_batch(vals: Sequence[Any], dims: Sequence[int | None], *,
                branches: Branches) -> tuple[list[Any], list[int | None]]:
    size = next(get_aval(v).shape[d] for v, d in zip(vals, dims) if d is not None)
    index, ops, op_dims = vals[0], vals[1:], list(dims[1:])
    if dims[0] is None:
        out_b = [any(f) for f in zip(*[batch_jaxpr(b, op_dims, size)[1] for b in branches])]
        jaxprs = [batch_jaxpr(b, op_dims, size, instantiate=out_b)[0] for b in branches]
        return _bind(index, ops, jaxprs), [0 if b else None for b in out_b]
    index = moveaxis(index, dims[0], 0)
    results = [_run_batched(b, ops, op_dims, size) for b in branches]
    out = results[0]
    for i, res in enumerate(results[1:], 1):
        pred = eq(index, i)
        out = [select(broadcast_in_dim(pred, get_aval(r).shape, (0,)), r, o)
               for r, o in zip(res, out)]
    return out, [0] * len(out)


def _run_batched(jaxpr: Jaxpr, vals: Sequence[Any], dims: Sequence[int | None],
                 size: int) -> list[Any]:
    """Evaluate ``jaxpr`` on batched values; outputs batched along axis 0."""
    outs, out_dims = batch_flat(lambda *xs: core.eval_jaxpr(jaxpr, (), *xs), vals, dims, size)
    return [bdim_to_front(o, d, size) for o, d in zip(outs, out_dims)]


batch_rules[cond_p] = _cond_batch


# ---------------------------------------------------------------- jit: a Python if
def _emit_cond(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> list[str]:
    branches: Branches = eqn.params["branches"]
    index, ops = ins[0], ins[1:]
    lines = []
    for i, b in enumerate(branches):
        head = ("if" if i == 0 else "elif") + f" {index} <= {i}:"
        if i == len(branches) - 1:
            head = "else:"
        body, names = ctx.block(optimized_body(b), ops)
        body += [f"{o} = {n}" for o, n in zip(outs, names)] or ["pass"]
        lines += [head] + ["    " + line for line in body]
    return lines


defcodegen(cond_p, _emit_cond)

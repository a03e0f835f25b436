"""``while_loop`` (a primitive), and ``fori_loop`` and ``map`` built on it and on ``scan``.

``while[cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts] *cond_consts *body_consts *init``
runs ``carry = body(*body_consts, *carry)`` while ``cond(*cond_consts, *carry)``.

- JVP: a while loop of the body's JVP (carry tangents a fixed point; the condition ignores them).
- partial eval: when the condition depends on known values only, the known carries come from a
  known loop and the unknown ones from the whole loop, staged. Reverse mode has nowhere to store
  per-iteration residuals, so transposing raises an error pointing to ``scan``/``fori_loop``.
- batching: a batched condition runs the loop while any example's condition holds and keeps
  the finished examples' carries unchanged with ``select``.
- jit: a Python ``while`` loop.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from fungrad import core
from fungrad.core import get_aval
from fungrad.errors import NotDifferentiableError, ShapeError
from fungrad.interpreters.ad import Zero, is_float, jvp_rules
from fungrad.lax.registry import instantiate, primitive
from fungrad.interpreters.batching import batch_rules
from fungrad.lax.jaxpr_util import batch_jaxpr, jvp_jaxpr, moved_batch_dims
from fungrad.lax.jaxpr_util import split_consts
from fungrad.lax.jaxpr_util import partial_eval_jaxpr
from fungrad.interpreters.staging import StagingTrace, partial_eval_rules, trace_to_jaxpr
from fungrad.interpreters.transpose import transpose_rules
from fungrad.ir import Eqn, Jaxpr, ShapedArray, Var
from fungrad.compiler.codegen import EmitContext, defcodegen
from fungrad.lax.control_flow.common import (
    carry_fixed_point, check_operand_types, check_same_types, flatten_operands, groups, merge,
    optimized_body, pick, run_compiled, stage_whole, trace_fun,
)
from fungrad.lax.control_flow.scan import scan
from fungrad.source_info import at_user_line
from fungrad.tree_util import tree_flatten, tree_unflatten
from fungrad.lax.elementwise import add, convert_element_type, gt, lt, select
from fungrad.lax.shape_ops import broadcast_in_dim, reduce_sum

_BOOL = ShapedArray((), np.dtype(bool))


# ---------------------------------------------------------------- the primitive
def _while_impl(*args: Any, cond_jaxpr: Jaxpr, body_jaxpr: Jaxpr, cond_nconsts: int,
                body_nconsts: int) -> list[Any]:
    if len(body_jaxpr.eqns) > 8:
        return run_compiled(while_p, args, dict(cond_jaxpr=cond_jaxpr, body_jaxpr=body_jaxpr,
                                                cond_nconsts=cond_nconsts,
                                                body_nconsts=body_nconsts))
    cc, bc, carry = groups([cond_nconsts, body_nconsts, len(args) - cond_nconsts - body_nconsts],
                           args)
    while core.eval_jaxpr(cond_jaxpr, (), *cc, *carry)[0]:
        carry = core.eval_jaxpr(body_jaxpr, (), *bc, *carry)
    return [np.asarray(c) for c in carry]


def _while_shape(*avals: ShapedArray, cond_jaxpr: Jaxpr, body_jaxpr: Jaxpr, cond_nconsts: int,
                 body_nconsts: int) -> list[ShapedArray]:
    cc, bc, carry = groups([cond_nconsts, body_nconsts, len(avals) - cond_nconsts - body_nconsts],
                           avals)
    check_operand_types("while", "the condition's operands", cond_jaxpr.in_avals, cc + carry)
    check_operand_types("while", "the body's operands", body_jaxpr.in_avals, bc + carry)
    if cond_jaxpr.out_avals != [_BOOL]:
        raise ShapeError(f"while: the condition returns {cond_jaxpr.out_avals}, not one bool[]")
    if body_jaxpr.out_avals != carry:
        raise ShapeError(f"while: the body returns {body_jaxpr.out_avals} for a carry {carry}")
    return carry


while_p = primitive("while", _while_impl, _while_shape, multiple_results=True)


def _bind_while(cc: Sequence[Any], bc: Sequence[Any], carry: Sequence[Any], cond_jaxpr: Jaxpr,
                body_jaxpr: Jaxpr) -> list[Any]:
    """Bind a while loop whose jaxprs may hold consts (they become leading consts)."""
    cond_jaxpr, c_consts = split_consts(cond_jaxpr)
    body_jaxpr, b_consts = split_consts(body_jaxpr)
    out: list[Any] = while_p.bind(*c_consts, *cc, *b_consts, *bc, *carry, cond_jaxpr=cond_jaxpr,
                                  body_jaxpr=body_jaxpr, cond_nconsts=len(c_consts) + len(cc),
                                  body_nconsts=len(b_consts) + len(bc))
    return out


# ---------------------------------------------------------------- the user-facing functions
def while_loop(cond_fun: Callable[[Any], Any], body_fun: Callable[[Any], Any],
               init_val: Any) -> Any:
    """``val = init_val; while cond_fun(val): val = body_fun(val); return val``, as one op.

    Works under jit, vmap and forward mode; reverse mode needs ``scan`` or ``fori_loop`` with
    static bounds instead.

    >>> import numpy as np
    >>> float(while_loop(lambda x: x < 10.0, lambda x: x * 2.0, np.float64(1.0)))
    16.0
    """
    if not (callable(cond_fun) and callable(body_fun)):
        raise TypeError(f"while_loop: cond_fun and body_fun must be callable{at_user_line()}")
    leaves, tree, avals = flatten_operands(init_val, "a while_loop init_val")
    in_tree = tree_flatten((init_val,))[1]
    cond_jaxpr, cond_consts, cond_tree = trace_fun(cond_fun, in_tree, avals, "cond_fun")
    if cond_jaxpr.out_avals != [_BOOL] or cond_tree.num_leaves != 1:
        raise TypeError(f"while_loop: cond_fun must return a boolean scalar, got "
                        f"{cond_jaxpr.out_avals}{at_user_line()}")
    body_jaxpr, body_consts, body_tree = trace_fun(body_fun, in_tree, avals, "body_fun")
    check_same_types("while_loop", "the output of body_fun", body_tree, body_jaxpr.out_avals,
                     "init_val", tree, avals)
    outs = while_p.bind(*cond_consts, *body_consts, *leaves, cond_jaxpr=cond_jaxpr,
                        body_jaxpr=body_jaxpr, cond_nconsts=len(cond_consts),
                        body_nconsts=len(body_consts))
    return tree_unflatten(tree, outs)


def fori_loop(lower: Any, upper: Any, body_fun: Callable[[Any, Any], Any], init_val: Any) -> Any:
    """``for i in range(lower, upper): val = body_fun(i, val)``; returns ``val``.

    With concrete bounds (Python ints) it is a ``scan``, so reverse mode works; with traced
    bounds it is a ``while_loop``.

    >>> import numpy as np
    >>> float(fori_loop(0, 4, lambda i, x: x + i, np.float64(0.0)))
    6.0
    """
    if not callable(body_fun):
        raise TypeError(f"fori_loop: body_fun must be callable{at_user_line()}")
    for name, b in (("lower", lower), ("upper", upper)):
        a = get_aval(b)
        if a.shape != () or a.dtype.kind not in "iu":
            raise TypeError(f"fori_loop: {name} must be an integer scalar, got {a}"
                            f"{at_user_line()}")
    lo, hi = core.concrete_or_none(lower), core.concrete_or_none(upper)
    if lo is not None and hi is not None:
        dtype = np.result_type(np.asarray(lo), np.asarray(hi))
        start = np.asarray(lo, dtype)

        def step(carry: Any, _: Any) -> Any:
            i, x = carry
            return (add(i, 1), body_fun(i, x)), None

        (_, out), _ = scan(step, (start, init_val), None, length=max(int(hi) - int(lo), 0))
        return out
    dtype = np.result_type(get_aval(lower).dtype, get_aval(upper).dtype)
    lower, upper = convert_element_type(lower, dtype), convert_element_type(upper, dtype)
    _, out = while_loop(lambda c: lt(c[0], upper), lambda c: (add(c[0], 1), body_fun(*c)),
                        (lower, init_val))
    return out


def map(f: Callable[[Any], Any], xs: Any) -> Any:
    """``f`` applied to every slice of ``xs`` along its leading axis, results stacked.

    >>> import numpy as np
    >>> map(lambda x: x * 2.0, np.arange(3.0))
    array([0., 2., 4.])
    """
    _, ys = scan(lambda _, x: ((), f(x)), (), xs)
    return ys


# ---------------------------------------------------------------- forward mode
def _while_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, cond_jaxpr: Jaxpr,
               body_jaxpr: Jaxpr, cond_nconsts: int,
               body_nconsts: int) -> tuple[list[Any], list[Any]]:
    sizes = [cond_nconsts, body_nconsts, len(primals) - cond_nconsts - body_nconsts]
    (cc, bc, carry), (_, bct, kt) = groups(sizes, primals), groups(sizes, tangents)
    bc_nz = [type(t) is not Zero and is_float(get_aval(p)) for p, t in zip(bc, bct)]
    carry_nz = [type(t) is not Zero and is_float(get_aval(p)) for p, t in zip(carry, kt)]
    carry_nz = carry_fixed_point(carry_nz, lambda nz: jvp_jaxpr(body_jaxpr, bc_nz + nz, nz)[1])
    body, _ = jvp_jaxpr(body_jaxpr, bc_nz + carry_nz, carry_nz)
    nb, nk, nkt = len(bc), len(carry), sum(carry_nz)
    # body: (bc, k, bct, kt) -> (k, kt)  becomes  (bc, bct, k, kt) -> (k, kt)
    n_bct = sum(bc_nz)
    body = Jaxpr(body.constvars, body.invars[:nb] + body.invars[nb + nk:nb + nk + n_bct]
                 + body.invars[nb:nb + nk] + body.invars[nb + nk + n_bct:], body.eqns,
                 body.outvars, body.consts)
    cond = Jaxpr([], cond_jaxpr.invars + [Var(a) for a in pick(body_jaxpr.out_avals, carry_nz)],
                 cond_jaxpr.eqns, cond_jaxpr.outvars)  # the condition ignores the tangents
    kt = [instantiate(t) for t in pick(kt, carry_nz)]
    outs = _bind_while(cc, bc + pick(bct, bc_nz), carry + kt, cond, body)
    zeros = [Zero(a) for a, nz in zip(body_jaxpr.out_avals, carry_nz) if not nz]
    return outs[:nk], merge(carry_nz, outs[nk:nk + nkt], zeros)


jvp_rules[while_p] = _while_jvp


# ---------------------------------------------------------------- partial evaluation
def _while_partial_eval(trace: StagingTrace, args: Sequence[Any], params: dict[str, Any]) -> Any:
    cond_jaxpr, body_jaxpr = params["cond_jaxpr"], params["body_jaxpr"]
    ncc, nbc = params["cond_nconsts"], params["body_nconsts"]
    sizes = [ncc, nbc, len(args) - ncc - nbc]
    cc_uk, bc_uk, carry_uk = groups(sizes, [not trace.is_known(a) for a in args])
    carry_uk = carry_fixed_point(carry_uk, lambda uk: partial_eval_jaxpr(
        body_jaxpr, bc_uk + uk, uk)[3])
    cond_known, _, _, cond_uk = partial_eval_jaxpr(cond_jaxpr, cc_uk + carry_uk)
    if cond_uk[0] or all(carry_uk):
        return stage_whole(trace, while_p, args, params)
    # The known carries evolve on their own: run them now; stage the whole loop for the rest.
    body_known = partial_eval_jaxpr(body_jaxpr, bc_uk + carry_uk, carry_uk)[0]
    n_known = carry_uk.count(False)
    cc, bc, carry = groups(sizes, args)
    with core.set_current_trace(trace.parent):  # type: ignore[arg-type]
        known = _bind_while(pick(cc, cc_uk, False), pick(bc, bc_uk, False),
                            pick(carry, carry_uk, False), _first_outputs(cond_known, 1),
                            _first_outputs(body_known, n_known))
    whole = stage_whole(trace, while_p, args, params)
    return merge(carry_uk, pick(whole, carry_uk), known)


def _first_outputs(jaxpr: Jaxpr, n: int) -> Jaxpr:
    """``jaxpr`` returning only its first ``n`` outputs (residuals dropped)."""
    return Jaxpr(jaxpr.constvars, jaxpr.invars, jaxpr.eqns, jaxpr.outvars[:n], jaxpr.consts)


partial_eval_rules[while_p] = _while_partial_eval


def _while_transpose(cts: Any, *args: Any, **params: Any) -> list[Any]:
    raise NotDifferentiableError(
        "Reverse-mode differentiation (grad, vjp, jacrev) does not work through "
        "lax.while_loop: its number of iterations is unknown in advance, so there is nowhere to "
        "keep the values each iteration needs on the way back. Use lax.scan, or lax.fori_loop "
        "with static Python int bounds (it becomes a scan); forward mode (jvp, jacfwd) works "
        f"with while_loop{at_user_line()}")


transpose_rules[while_p] = _while_transpose


# ---------------------------------------------------------------- batching
def _while_batch(vals: Sequence[Any], dims: Sequence[int | None], *, cond_jaxpr: Jaxpr,
                 body_jaxpr: Jaxpr, cond_nconsts: int,
                 body_nconsts: int) -> tuple[list[Any], list[Any]]:
    size = next(get_aval(v).shape[d] for v, d in zip(vals, dims) if d is not None)
    sizes = [cond_nconsts, body_nconsts, len(vals) - cond_nconsts - body_nconsts]
    (cc, bc, carry), (ccd, bcd, kd) = groups(sizes, vals), groups(sizes, dims)
    carry_b = [d is not None for d in kd]
    for _ in range(2):
        carry_b = carry_fixed_point(carry_b, lambda b: batch_jaxpr(
            body_jaxpr, bcd + [0 if x else None for x in b], size, b)[1])
        body_dims = bcd + [0 if b else None for b in carry_b]
        cond_dims = ccd + [0 if b else None for b in carry_b]
        pred_batched = batch_jaxpr(cond_jaxpr, cond_dims, size)[1][0]
        if not pred_batched or all(carry_b):
            break
        carry_b = [True] * len(carry_b)
    body, _ = batch_jaxpr(body_jaxpr, body_dims, size, carry_b)
    carry = moved_batch_dims(carry, kd, carry_b, size)
    out_dims = [0 if b else None for b in carry_b]
    if not pred_batched:
        cond, _ = batch_jaxpr(cond_jaxpr, cond_dims, size)
        return _bind_while(cc, bc, carry, cond, body), out_dims
    cond_b, _ = batch_jaxpr(cond_jaxpr, cond_dims, size)
    cc_avals, bc_avals = [get_aval(c) for c in cc], [get_aval(c) for c in bc]
    carry_avals = [get_aval(c) for c in carry]

    def any_true(*a: Any) -> list[Any]:
        pred = core.eval_jaxpr(cond_b, cond_b.consts, *a)[0]
        return [gt(reduce_sum(convert_element_type(pred, np.int64), (0,)), 0)]

    def step(*a: Any) -> list[Any]:
        c, b, k = groups([len(cc), len(bc), len(carry)], a)
        pred = core.eval_jaxpr(cond_b, cond_b.consts, *c, *k)[0]
        new = core.eval_jaxpr(body, body.consts, *b, *k)
        return [select(broadcast_in_dim(pred, get_aval(n).shape, (0,)), n, o)
                for n, o in zip(new, k)]

    new_cond = trace_to_jaxpr(any_true, cc_avals + carry_avals)
    new_body = trace_to_jaxpr(step, cc_avals + bc_avals + carry_avals)
    return _bind_while(cc, cc + bc, carry, new_cond, new_body), out_dims


batch_rules[while_p] = _while_batch


# ---------------------------------------------------------------- jit: a Python while loop
def _emit_while(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> list[str]:
    p = eqn.params
    cc, bc, init = groups([p["cond_nconsts"], p["body_nconsts"],
                           len(ins) - p["cond_nconsts"] - p["body_nconsts"]], ins)
    lines = [f"{o} = {v}" for o, v in zip(outs, init)]
    cond_lines, pred = ctx.block(optimized_body(p["cond_jaxpr"]), cc + outs)
    body_lines, names = ctx.block(optimized_body(p["body_jaxpr"]), bc + outs)
    loop = cond_lines + [f"if not {pred[0]}:", "    break"] + body_lines
    if outs:
        loop.append(f"{', '.join(outs)}, = {', '.join(names)},")
    return lines + ["while True:"] + ["    " + line for line in loop]


defcodegen(while_p, _emit_while)

"""User-defined derivatives: ``custom_jvp`` and ``custom_vjp``.

A call is routed by the transforms around it (``_route``), as JAX does:

- no transform cares about its arguments: the function just runs, on whatever values it gets
  (concrete arrays without ``jit``, so Python control flow on them works);
- the nearest transform that does is a JVP (``grad``, ``vjp``, ``jvp``, ``linearize``, at any
  order): the user's rule runs one level down, on its primal values (concrete ones without
  ``jit``: ``if x > 0:`` works in the function and in the rule) and the tangents, and the
  function is never traced;
- otherwise (``jit``/``make_jaxpr``, ``vmap`` of a batched argument, a tangent operand) the
  call is traced to one primitive, described next.

The primitive's params hold the function, traced to a jaxpr, and the user's rule (a closure;
closures hash by identity, so they are fine as params):

- ``custom_jvp_call`` evaluates the jaxpr; its JVP rule calls the user's ``jvp``.
- ``custom_vjp_call`` evaluates the jaxpr; its JVP rule runs the user's ``fwd`` and emits the
  output tangent through ``custom_vjp_lin``, a primitive linear in the input tangents whose
  transpose calls the user's ``bwd``. Reverse mode (``linearize`` then transpose) therefore
  reaches ``bwd``; forward mode would have to evaluate ``custom_vjp_lin`` and raises instead.

Under ``vmap`` the jaxpr is batched and the rules are wrapped in ``vmap`` too; under
``make_jaxpr``/``jit`` each call is staged as one equation.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Sequence

import numpy as np

from fungrad import core
from fungrad.api_util import as_leaf, flatten_fun, flatten_leaves
from fungrad.core import Tracer, get_aval
from fungrad.errors import InvalidArgumentError, NotDifferentiableError, UnexpectedTracerError
from fungrad.interpreters.ad import JVPTrace, JVPTracer, Zero, add_tangents, jvp_rules
from fungrad.lax.registry import bdim_to_front, instantiate, moveaxis, primitive
from fungrad.interpreters.batching import BatchTrace, BatchTracer, batch_flat, batch_rules
from fungrad.interpreters.staging import StagingTrace
from fungrad.interpreters.transpose import transpose_rules
from fungrad.ir import Jaxpr, ShapedArray
from fungrad.lax.jaxpr_util import batch_front, batch_jaxpr, trace_closed
from fungrad.source_info import at_user_line
from fungrad.tree_util import PyTreeDef, tree_flatten, tree_map, tree_unflatten
from fungrad.lax.elementwise import convert_element_type
from fungrad.lax.shape_ops import reduce_sum
from fungrad.errors import ShapeError

__all__ = ["custom_jvp", "custom_vjp", "SymbolicZero"]


class SymbolicZero:
    """A zero tangent handed to a rule registered with ``symbolic_zeros=True`` (and one it may
    return): it has a shape and a dtype but no array behind it."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray) -> None:
        self.aval = aval

    @property
    def shape(self) -> tuple[int, ...]:
        return self.aval.shape

    @property
    def dtype(self) -> Any:
        return self.aval.dtype

    def __repr__(self) -> str:
        return f"SymbolicZero({self.aval})"


def _unbatched(aval: ShapedArray, d: int | None) -> ShapedArray:
    return aval if d is None else ShapedArray(aval.shape[1:], aval.dtype)


def _check_like(kind: str, got: Sequence[Any], want: Sequence[ShapedArray], fname: str) -> None:
    for g, w in zip(got, want):
        ga = get_aval(g) if not isinstance(g, (Zero, SymbolicZero)) else g.aval
        if ga.shape != w.shape or (ga.dtype != w.dtype and w.dtype.kind in "fc"):
            raise TypeError(f"custom rule of {fname}: {kind} has type {ga}, but the function's "
                            f"output has type {w}")


def _split_args(args: Sequence[Any], nondiff_argnums: Sequence[int],
                fname: str) -> tuple[list[Any], list[Any]]:
    nondiff = [args[i] for i in nondiff_argnums]
    for x in tree_flatten(nondiff)[0]:
        if isinstance(x, Tracer):
            raise InvalidArgumentError(
                f"{fname}: an argument in nondiff_argnums is a traced value ({x.aval}); "
                f"nondiff_argnums are for static Python values. Pass arrays as ordinary "
                f"arguments (wrap them in stop_gradient if they need no derivative)"
                f"{at_user_line()}")
    return nondiff, [a for i, a in enumerate(args) if i not in nondiff_argnums]


def _merge(nondiff_argnums: Sequence[int], nondiff: Sequence[Any], dyn: Sequence[Any]) -> list[Any]:
    out, it_n, it_d = [], iter(nondiff), iter(dyn)
    for i in range(len(nondiff) + len(dyn)):
        out.append(next(it_n) if i in nondiff_argnums else next(it_d))
    return out


def _resolve_kwargs(sig: inspect.Signature | None, args: Sequence[Any],
                    kwargs: dict[str, Any]) -> Sequence[Any]:
    """All arguments as positional ones, defaults filled in (the rules see them all)."""
    if sig is None:
        if kwargs:
            raise TypeError("keyword arguments need a function with a signature") from None
        return args
    bound = sig.bind(*args, **kwargs)
    bound.apply_defaults()
    if bound.kwargs:
        raise TypeError(f"keyword-only arguments {sorted(bound.kwargs)} cannot be passed to a "
                        "custom-derivative function: make them positional")
    return bound.args


class _Traced:
    """A call of a custom-derivative function: its arguments, and the output structure and
    types once known (from the traced function, or from the rule's primal output)."""

    def __init__(self, custom: _CustomFunction, args: Sequence[Any],
                 kwargs: dict[str, Any]) -> None:
        fname = custom.name
        args = _resolve_kwargs(custom.signature, args, kwargs)
        self.nondiff, dyn = _split_args(args, custom.nondiff_argnums, fname)
        self.leaves, self.in_tree = flatten_leaves(tuple(dyn), f"an argument of {fname}")
        self.nondiff_argnums = custom.nondiff_argnums
        self.fun = custom.fun
        self.name = fname
        self.args = args
        self.out_tree: PyTreeDef | None = None
        self.out_avals: list[ShapedArray] | None = None

    def full_args(self, leaves: Sequence[Any]) -> list[Any]:
        return _merge(self.nondiff_argnums, self.nondiff, tree_unflatten(self.in_tree, leaves))

    def trace(self) -> tuple[Jaxpr, list[Any]]:
        flat, out_tree = flatten_fun(
            self.fun, self.in_tree,
            lambda dyn: (_merge(self.nondiff_argnums, self.nondiff, dyn), {}),
            "the output of a custom-derivative function")
        jaxpr, consts = trace_closed(flat, [get_aval(x) for x in self.leaves])
        self.out_tree = out_tree()
        self.out_avals = jaxpr.out_avals
        return jaxpr, consts

    def outputs_like(self, kind: str, outs: Sequence[Any], tree: PyTreeDef, fname: str) -> None:
        """Check a rule's primal outputs against the function's (or, when the function was not
        traced, take them as the function's)."""
        if self.out_tree is None:
            self.out_tree, self.out_avals = tree, [get_aval(o) for o in outs]
        elif tree != self.out_tree:
            raise TypeError(f"{kind} of the custom rule of {fname} is structured {tree}, but the "
                            f"function returns {self.out_tree}")
        else:
            _check_like(kind, outs, self.out_avals, fname)  # type: ignore[arg-type]

    def run(self) -> Any:
        """Call the function itself on the arguments as they are (see ``_route``)."""
        out = self.fun(*self.args)
        if any(_carries_tangent(x) for x in tree_flatten(out)[0]):
            raise _closure_error(self.name)
        return out


def _carries_tangent(x: Any) -> bool:
    """Is ``x`` a value being differentiated (possibly inside a batched value)?"""
    while isinstance(x, Tracer):
        if type(x) is JVPTracer:
            return True
        x = x.val if type(x) is BatchTracer else None
    return False


def _closure_error(fname: str) -> NotDifferentiableError:
    """As in JAX: a custom rule only knows the explicit arguments, so differentiating with
    respect to a value the function closes over is an error rather than a silent zero."""
    return NotDifferentiableError(
        f"the custom-derivative function {fname} closes over a value that is being "
        f"differentiated, but its custom rule only covers its explicit arguments. Pass the value "
        f"as an argument instead{at_user_line()}")


_TRACE = "trace"


def _route(leaves: Sequence[Any]) -> JVPTrace | str | None:
    """Which transform takes a call with arguments ``leaves``, looking down from the current
    trace: the first JVP trace differentiating one of them (its rule runs, the function is not
    traced), ``None`` when none does and nothing needs the call staged (the function just
    runs), or ``_TRACE``: under ``jit``/``make_jaxpr`` (the rule must outlive the call), when a
    ``vmap`` batches one of them or a partial evaluator sees a tangent among them (the call
    becomes a primitive over the traced function, which those transforms handle).
    """
    t = core.current_trace()
    while t is not core.EVAL_TRACE:
        kind = type(t)
        owns = False
        for x in leaves:
            if isinstance(x, Tracer) and x._trace is t:
                owns = True
                break
        if owns:
            return t if kind is JVPTrace else _TRACE  # type: ignore[return-value]
        if kind is StagingTrace and not t.forward_known:  # type: ignore[attr-defined]
            return _TRACE
        t = t.parent  # type: ignore[assignment]
    return None


def _by_rule(trace: JVPTrace, leaves: Sequence[Any], jvp_like: Callable[..., Any],
             fname: str) -> list[Any]:
    """What ``trace`` does with the call, without the function: ``jvp_like(primals, tangents)``
    (the rule, or ``fwd`` with the linear ``bwd``) runs one level down, as a JVP rule does."""
    pairs = [trace.unwrap(x) for x in leaves]
    primals, tangents = [p for p, _ in pairs], [t for _, t in pairs]
    seen, lin = trace.seen, trace.parent
    start = len(lin.consts) if seen is not None and type(lin) is StagingTrace else None
    try:
        outs, out_ts = core.call_with_trace(lin, jvp_like, primals, tangents)  # type: ignore[arg-type]
    except UnexpectedTracerError as e:
        raise NotDifferentiableError(
            f"the custom-derivative function {fname} closes over a traced value that its rule "
            f"cannot see: one being differentiated, or one batched by a vmap inside the "
            f"differentiated function. Pass the value as an argument instead{at_user_line()}"
        ) from e
    if start is not None:
        # What the linear program saved from the rule (closed-over arrays too) belongs to the
        # caller as far as mutation safety goes: copied if the pullback outlives the call.
        seen.extend(x for x in primals if type(x) is np.ndarray)  # type: ignore[union-attr]
        seen.extend(c for c in lin.consts[start:]  # type: ignore[union-attr]
                    if type(c) is np.ndarray)
    return [trace.pure_or_tracer(p, t) for p, t in zip(outs, out_ts)]


class _CustomFunction:
    """What ``custom_jvp`` and ``custom_vjp`` share: the wrapped function and its static args."""

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        functools.update_wrapper(self, fun)  # type: ignore[arg-type]
        self.fun = fun
        self.nondiff_argnums = tuple(sorted(nondiff_argnums))
        self.name: str = getattr(fun, "__name__", type(self).__name__)
        try:
            self.signature: inspect.Signature | None = inspect.signature(fun)
        except (TypeError, ValueError):
            self.signature = None


def _call_impl(*args: Any, call_jaxpr: Jaxpr, **_: Any) -> list[Any]:
    return core.call_jaxpr(call_jaxpr, *args)


def _call_shape(*avals: ShapedArray, call_jaxpr: Jaxpr, **_: Any) -> list[ShapedArray]:
    if list(avals) != call_jaxpr.in_avals:
        raise ShapeError(f"custom call: operands {list(avals)} do not fit {call_jaxpr.in_avals}")
    return call_jaxpr.out_avals


# ---------------------------------------------------------------- custom_jvp

custom_jvp_call_p = primitive("custom_jvp_call", _call_impl, _call_shape, multiple_results=True)


class custom_jvp(_CustomFunction):
    """A function with a user-defined JVP rule (forward mode; reverse mode follows from it).

    >>> import fungrad, fungrad.lax as lax
    >>> @custom_jvp
    ... def log1pexp(x):
    ...     return lax.log1p(lax.exp(x))
    >>> @log1pexp.defjvp
    ... def log1pexp_jvp(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return log1pexp(x), t * lax.logistic(x)
    >>> float(fungrad.grad(log1pexp)(100.0))
    1.0
    """

    jvp: Callable[..., Any] | None = None
    symbolic_zeros = False

    def defjvp(self, jvp: Callable[..., Any], symbolic_zeros: bool = False) -> Callable[..., Any]:
        """Set the rule ``jvp(*nondiff_args, primals, tangents) -> (primal_out, tangent_out)``.

        With ``symbolic_zeros=True`` tangents known to be zero arrive as ``SymbolicZero`` (and
        the rule may return them); otherwise they arrive as zero arrays.
        """
        self.jvp = jvp
        self.symbolic_zeros = symbolic_zeros
        return jvp

    def defjvps(self, *jvps: Callable[..., Any] | None) -> None:
        """One rule per argument, ``jvp_i(t_i, ans, *primals)`` linear in ``t_i`` (None: zero)."""
        if self.nondiff_argnums:
            raise TypeError("custom_jvp.defjvps cannot be used with nondiff_argnums; use defjvp")

        def jvp(primals: tuple[Any, ...], tangents: tuple[Any, ...]) -> tuple[Any, Any]:
            ans = self(*primals)
            out: Any = None
            for rule, t in zip(jvps, tangents):
                if rule is not None and not isinstance(t, SymbolicZero):
                    term = rule(t, ans, *primals)
                    out = term if out is None else tree_map(add_tangents, out, term)
            if out is None:
                out = tree_map(lambda a: SymbolicZero(get_aval(a)), ans)
            return ans, out
        self.defjvp(jvp, symbolic_zeros=True)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = self.name
        if self.jvp is None:
            raise AttributeError(f"No JVP defined for custom_jvp function {name} using defjvp")
        call = _Traced(self, args, kwargs)
        route = _route(call.leaves)
        if route is None:
            return call.run()
        rule = _flat_jvp_rule(self.jvp, self.symbolic_zeros, call, name)
        if route is _TRACE:
            jaxpr, consts = call.trace()
            outs = custom_jvp_call_p.bind(*consts, *call.leaves, call_jaxpr=jaxpr,
                                          num_consts=len(consts), jvp=rule)
        else:
            outs = _by_rule(route, call.leaves, rule, name)  # type: ignore[arg-type]
        return tree_unflatten(call.out_tree, outs)  # type: ignore[arg-type]


def _flat_jvp_rule(user_jvp: Callable[..., Any], symbolic_zeros: bool, call: _Traced,
                   fname: str) -> Callable[..., Any]:
    """The user's rule as a function of flat primals and tangents (``Zero`` allowed)."""
    def rule(primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[list[Any], list[Any]]:
        ts = [(SymbolicZero(t.aval) if symbolic_zeros else instantiate(t))
              if type(t) is Zero else t for t in tangents]
        p_tree = tree_unflatten(call.in_tree, primals)
        t_tree = tree_unflatten(call.in_tree, ts)
        result = user_jvp(*call.nondiff, tuple(p_tree), tuple(t_tree))
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            raise TypeError(f"the custom JVP rule of {fname} must return a pair "
                            f"(primal_out, tangent_out), got {type(result).__name__}")
        outs, out_tree = tree_flatten(result[0])
        touts, t_out_tree = tree_flatten(result[1])
        outs = [as_leaf(o) for o in outs]
        call.outputs_like("the primal output", outs, out_tree, fname)
        if t_out_tree != call.out_tree:
            raise TypeError(f"the custom JVP rule of {fname} must return primal and tangent "
                            f"outputs structured like the function's output {call.out_tree}, "
                            f"got {out_tree} and {t_out_tree}")
        touts = [t if isinstance(t, SymbolicZero) else as_leaf(t) for t in touts]
        out_avals: list[ShapedArray] = call.out_avals  # type: ignore[assignment]
        _check_like("the tangent output", touts, out_avals, fname)
        return outs, [Zero(t.aval) if isinstance(t, SymbolicZero) or o.dtype.kind not in "fc"
                      else t for o, t in zip(out_avals, touts)]
    rule.__name__ = getattr(user_jvp, "__name__", "jvp")
    rule.fname = fname  # type: ignore[attr-defined]
    return rule


def _custom_jvp_call_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, call_jaxpr: Jaxpr,
                         num_consts: int, jvp: Callable[..., Any]) -> tuple[Any, Any]:
    _check_no_closure_tangents(tangents[:num_consts], getattr(jvp, "fname", ""))
    return jvp(primals[num_consts:], tangents[num_consts:])  # type: ignore[no-any-return]


def _check_no_closure_tangents(tangents: Sequence[Any], fname: str) -> None:
    if any(type(t) is not Zero for t in tangents):
        raise _closure_error(fname)


def _custom_jvp_call_batch(vals: Sequence[Any], dims: Sequence[int | None], *,
                           call_jaxpr: Jaxpr, num_consts: int,
                           jvp: Callable[..., Any]) -> tuple[Any, Any]:
    vals, dims, size = batch_front(vals, dims)
    arg_dims = dims[num_consts:]
    n = len(arg_dims)

    def batched_jvp(primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
        ts = [Zero(_unbatched(t.aval, d)) if type(t) is Zero else t
              for t, d in zip(tangents, arg_dims)]
        t_dims = [None if type(t) is Zero else d for t, d in zip(ts, arg_dims)]

        def both(*pt: Any) -> list[Any]:
            outs, out_ts = jvp(pt[:n], pt[n:])
            return [*outs, *map(instantiate, out_ts)]
        res, res_dims = batch_flat(both, [*primals, *ts], [*arg_dims, *t_dims], size)
        res = [bdim_to_front(r, d, size) for r, d in zip(res, res_dims)]
        return res[:len(res) // 2], res[len(res) // 2:]
    batched_jvp.__name__ = f"vmap({getattr(jvp, '__name__', 'jvp')})"
    outs = custom_jvp_call_p.bind(*vals, call_jaxpr=batch_jaxpr(call_jaxpr, dims, size, True)[0],
                                  num_consts=num_consts, jvp=batched_jvp)
    return outs, [0] * len(outs)


jvp_rules[custom_jvp_call_p] = _custom_jvp_call_jvp
batch_rules[custom_jvp_call_p] = _custom_jvp_call_batch


# ---------------------------------------------------------------- custom_vjp

custom_vjp_call_p = primitive("custom_vjp_call", _call_impl, _call_shape, multiple_results=True)


def _lin_impl(*args: Any, fname: str, **_: Any) -> Any:
    raise NotDifferentiableError(
        f"can't apply forward-mode autodiff (jvp, jacfwd, linearize's f_jvp) to the custom_vjp "
        f"function {fname}: it only has a reverse-mode rule. Use grad/vjp/jacrev, or define it "
        f"with custom_jvp{at_user_line()}")


def _lin_shape(*avals: ShapedArray, out_avals: tuple[ShapedArray, ...],
               **_: Any) -> list[ShapedArray]:
    return list(out_avals)


# Linear in its operands after the first ``num_res`` (the residuals); the transpose calls bwd.
custom_vjp_lin_p = primitive("custom_vjp_lin", _lin_impl, _lin_shape, multiple_results=True)


class custom_vjp(_CustomFunction):
    """A function with a user-defined VJP: ``fwd`` saves residuals, ``bwd`` maps them and the
    output cotangent to one cotangent per argument (None for zero).

    >>> import fungrad, fungrad.lax as lax
    >>> @custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> clip_gradient.defvjp(lambda x: (x, None),
    ...                      lambda res, g: (lax.max(lax.min(g, 1.0), -1.0),))
    >>> float(fungrad.grad(lambda x: 5.0 * clip_gradient(x))(2.0))
    1.0
    """

    fwd: Callable[..., Any] | None = None
    bwd: Callable[..., Any] | None = None

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any],
               symbolic_zeros: bool = False) -> None:
        """``fwd(*args) -> (out, residuals)``; ``bwd(*nondiff_args, residuals, ct) -> tuple``."""
        if symbolic_zeros:
            raise NotImplementedError("custom_vjp.defvjp(symbolic_zeros=True) is not supported")
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = self.name
        if self.fwd is None or self.bwd is None:
            raise AttributeError(f"No VJP defined for custom_vjp function {name} using defvjp")
        call = _Traced(self, args, kwargs)
        route = _route(call.leaves)
        if route is None:
            return call.run()
        fwd, bwd = _flat_fwd(self.fwd, call, name), _flat_bwd(self.bwd, call, name)
        if route is _TRACE:
            jaxpr, consts = call.trace()
            outs = custom_vjp_call_p.bind(*consts, *call.leaves, call_jaxpr=jaxpr,
                                          num_consts=len(consts), fwd=fwd, bwd=bwd, fname=name)
        else:
            outs = _by_rule(route, call.leaves,  # type: ignore[arg-type]
                            functools.partial(_fwd_and_lin, fwd, bwd, name), name)
        return tree_unflatten(call.out_tree, outs)  # type: ignore[arg-type]


def _flat_fwd(fwd: Callable[..., Any], call: _Traced, fname: str) -> Callable[..., Any]:
    """``fwd`` on flat leaves: ``(outs, residual leaves, residual tree)``."""
    def flat(leaves: Sequence[Any]) -> tuple[list[Any], list[Any], Any]:
        result = fwd(*call.full_args(leaves))
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            raise TypeError(f"the custom_vjp fwd rule of {fname} must return a pair "
                            f"(output, residuals), got {type(result).__name__}")
        outs, out_tree = tree_flatten(result[0])
        outs = [as_leaf(o) for o in outs]
        call.outputs_like("the output of the custom_vjp fwd rule", outs, out_tree, fname)
        res, res_tree = tree_flatten(result[1])
        return outs, [as_leaf(r, f"a residual of {fname}'s fwd") for r in res], res_tree
    flat.__name__ = getattr(fwd, "__name__", "fwd")
    return flat


def _flat_bwd(bwd: Callable[..., Any], call: _Traced, fname: str) -> Callable[..., Any]:
    """``bwd`` on flat residuals and cotangents (``Zero`` allowed): one cotangent per leaf."""
    # (the arguments' types only: the pullback must not keep the arrays themselves)
    dyn = tree_unflatten(call.in_tree, [get_aval(x) for x in call.leaves])

    def flat(res: Sequence[Any], res_tree: Any, cts: Sequence[Any]) -> list[Any]:
        ct_tree = tree_unflatten(call.out_tree, [instantiate(c) for c in cts])  # type: ignore[arg-type]
        result = bwd(*call.nondiff, tree_unflatten(res_tree, res), ct_tree)
        if not (isinstance(result, (tuple, list)) and len(result) == len(dyn)):
            got = len(result) if isinstance(result, (tuple, list)) else type(result).__name__
            raise TypeError(f"the custom_vjp bwd rule of {fname} must return a tuple with one "
                            f"cotangent per differentiable argument ({len(dyn)}), got {got}")
        out: list[Any] = []
        for i, (ct, arg) in enumerate(zip(result, dyn)):
            arg_leaves, arg_tree = tree_flatten(arg)
            if ct is None:
                out += [Zero(a) for a in arg_leaves]
                continue
            ct_leaves, tree = tree_flatten(ct, is_leaf=lambda x: x is None)
            if tree != tree_flatten(arg, is_leaf=lambda x: x is None)[1]:
                raise TypeError(f"the custom_vjp bwd rule of {fname} returned a cotangent "
                                f"structured {tree} for argument {i}, structured {arg_tree}")
            for c, a in zip(ct_leaves, arg_leaves):
                out.append(Zero(a) if c is None else _ct_like(as_leaf(c), a, i, fname))
        return out
    flat.__name__ = getattr(bwd, "__name__", "bwd")
    return flat


def _ct_like(ct: Any, pa: ShapedArray, i: int, fname: str) -> Any:
    ca = get_aval(ct)
    if ca.shape != pa.shape:
        raise ValueError(f"the custom_vjp bwd rule of {fname} returned a cotangent of shape "
                         f"{ca.shape} for argument {i}, whose shape is {pa.shape}")
    if pa.dtype.kind not in "fc":
        return Zero(pa)
    return convert_element_type(ct, pa.dtype)


def _custom_vjp_call_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, call_jaxpr: Jaxpr,
                         num_consts: int, fwd: Callable[..., Any], bwd: Callable[..., Any],
                         fname: str) -> tuple[Any, Any]:
    _check_no_closure_tangents(tangents[:num_consts], fname)
    if all(type(t) is Zero for t in tangents[num_consts:]):
        outs = custom_vjp_call_p.bind(*primals, call_jaxpr=call_jaxpr, num_consts=num_consts,
                                      fwd=fwd, bwd=bwd, fname=fname)
        return outs, [Zero(get_aval(o)) for o in outs]
    return _fwd_and_lin(fwd, bwd, fname, primals[num_consts:], tangents[num_consts:])


def _fwd_and_lin(fwd: Callable[..., Any], bwd: Callable[..., Any], fname: str,
                 args: Sequence[Any], arg_ts: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """The JVP of a custom_vjp call with some nonzero tangents: ``fwd`` now, and the output
    tangent as ``custom_vjp_lin`` of the residuals and tangents, whose transpose is ``bwd``."""
    nonzero = tuple(type(t) is not Zero for t in arg_ts)
    outs, res, res_tree = fwd(args)
    out_ts = custom_vjp_lin_p.bind(
        *res, *[t for t in arg_ts if type(t) is not Zero], num_res=len(res), bwd=bwd,
        res_tree=res_tree, nonzero=nonzero, out_avals=tuple(get_aval(o) for o in outs),
        fname=fname)
    return outs, [t if get_aval(o).dtype.kind in "fc" else Zero(get_aval(o))
                  for o, t in zip(outs, out_ts)]


def _custom_vjp_lin_transpose(cts: Sequence[Any], *args: Any, num_res: int,
                              bwd: Callable[..., Any], res_tree: Any,
                              nonzero: tuple[bool, ...], **_: Any) -> list[Any]:
    in_cts = bwd(args[:num_res], res_tree, cts)
    return [None] * num_res + [c for c, nz in zip(in_cts, nonzero) if nz]


def _custom_vjp_call_batch(vals: Sequence[Any], dims: Sequence[int | None], *,
                           call_jaxpr: Jaxpr, num_consts: int, fwd: Callable[..., Any],
                           bwd: Callable[..., Any], fname: str) -> tuple[Any, Any]:
    if any(d is not None for d in dims[:num_consts]):
        raise NotImplementedError(
            f"vmap of the custom_vjp function {fname}, which closes over a batched value: "
            f"pass the value as an argument instead{at_user_line()}")
    vals, dims, size = batch_front(vals, dims)
    arg_dims = dims[num_consts:]

    def batched_fwd(args: Sequence[Any]) -> tuple[list[Any], list[Any], Any]:
        store: list[Any] = []

        def flat(*xs: Any) -> list[Any]:
            outs, res, res_tree = fwd(xs)
            store[:] = [len(outs), res_tree]
            return [*outs, *res]
        both, both_dims = batch_flat(flat, args, arg_dims, size)
        n_out, res_tree = store
        outs = [bdim_to_front(o, d, size) for o, d in zip(both[:n_out], both_dims[:n_out])]
        return outs, both[n_out:], (res_tree, tuple(both_dims[n_out:]))

    def batched_bwd(res: Sequence[Any], res_tree_dims: Any, cts: Sequence[Any]) -> list[Any]:
        res_tree, res_dims = res_tree_dims
        cts = [Zero(_unbatched(c.aval, 0)) if type(c) is Zero else c for c in cts]
        ct_dims = [None if type(c) is Zero else 0 for c in cts]
        zeros: list[Any] = []

        def flat(*rc: Any) -> list[Any]:
            in_cts = bwd(rc[:len(res)], res_tree, rc[len(res):])
            zeros[:] = [c if type(c) is Zero else None for c in in_cts]
            return [0.0 if type(c) is Zero else c for c in in_cts]
        in_cts, in_dims = batch_flat(flat, [*res, *cts], [*res_dims, *ct_dims], size)
        out = []
        for c, d, z, ad, a in zip(in_cts, in_dims, zeros, arg_dims, vals[num_consts:]):
            if z is not None:
                out.append(Zero(get_aval(a)))
            elif ad is None:
                out.append(c if d is None else reduce_sum(c, (d,)))
            else:
                out.append(bdim_to_front(c, d, size))
        return out

    batched_fwd.__name__ = f"vmap({getattr(fwd, '__name__', 'fwd')})"
    batched_bwd.__name__ = f"vmap({getattr(bwd, '__name__', 'bwd')})"
    outs = custom_vjp_call_p.bind(*vals, call_jaxpr=batch_jaxpr(call_jaxpr, dims, size, True)[0],
                                  num_consts=num_consts, fwd=batched_fwd, bwd=batched_bwd,
                                  fname=fname)
    return outs, [0] * len(outs)


def _lin_batch(vals: Sequence[Any], dims: Sequence[int | None], **params: Any) -> Any:
    return _lin_impl(**params)


jvp_rules[custom_vjp_call_p] = _custom_vjp_call_jvp
batch_rules[custom_vjp_lin_p] = _lin_batch
batch_rules[custom_vjp_call_p] = _custom_vjp_call_batch
transpose_rules[custom_vjp_lin_p] = _custom_vjp_lin_transpose

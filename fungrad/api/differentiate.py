"""Differentiation transforms: jvp, linearize, vjp, grad, value_and_grad, linear_transpose."""
from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np

from fungrad import core
from fungrad.api.util import (
    check_differentiable, check_scalar_output, check_tangent_dtype, finalize, finalize_tree,
    tangent_result,
)
from fungrad.api_util import flatten_fun, flatten_leaves, normalize_argnums, splice_args
from fungrad.core import get_aval
from fungrad.dtypes import float0_zeros, has_tangent_space
from fungrad.interpreters.ad import Zero, jvp_flat
from fungrad.interpreters.aliasing import detach, owners
from fungrad.interpreters.reverse import detach_outputs, linearize_flat, vjp_flat
from fungrad.lax.registry import instantiate
from fungrad.interpreters.staging import StagingTrace
from fungrad.interpreters.transpose import backward_pass
from fungrad.ir import Jaxpr, ShapedArray
from fungrad.tree_util import Partial, PyTreeDef, tree_flatten, tree_unflatten


def split_aux(out: Any, has_aux: bool, fname: str) -> tuple[Any, Any]:
    if not has_aux:
        return out, None
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError(f"{fname}(..., has_aux=True) needs the function to return a pair "
                        f"(output, aux), got {type(out).__name__}")
    return out[0], out[1]


def _with_aux(fun: Callable[..., Any], has_aux: bool, fname: str) -> Callable[..., Any]:
    """``fun`` returning ``(out, aux)`` always, so aux rides along as extra (undifferentiated) outputs."""
    def wrapped(*args: Any) -> Any:
        return split_aux(fun(*args), has_aux, fname)
    return wrapped


def _check_tangents(primals: Sequence[Any], tangents: Sequence[Any], what: str) -> None:
    for p, t in zip(primals, tangents):
        pa, ta = p if type(p) is ShapedArray else get_aval(p), get_aval(t)
        if pa.shape != ta.shape:
            raise ValueError(f"{what}: shape {ta.shape} does not match the primal's {pa.shape}")
        check_tangent_dtype(pa.dtype, ta.dtype, what)


def jvp(fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any],
        has_aux: bool = False) -> Any:
    """Forward mode: ``(fun(*primals), J @ tangents)``.

    >>> import fungrad, fungrad.numpy as fnp
    >>> fungrad.jvp(fnp.sin, (0.0,), (1.0,))
    (0.0, 1.0)
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples (or lists) of arguments")
    p_leaves, p_tree = flatten_leaves(tuple(primals), "a jvp primal")
    t_leaves, t_tree = flatten_leaves(tuple(tangents), "a jvp tangent")
    if p_tree != t_tree:
        raise TypeError(f"jvp: primal structure {p_tree} and tangent structure {t_tree} differ")
    _check_tangents(p_leaves, t_leaves, "jvp tangent")
    flat, out_tree = flatten_fun(_with_aux(fun, has_aux, "jvp"), p_tree)
    t_leaves = [t if has_tangent_space(get_aval(p).dtype) else Zero(get_aval(p))
                for p, t in zip(p_leaves, t_leaves)]
    outs, out_ts = jvp_flat(flat, p_leaves, t_leaves)
    callers = owners([*p_leaves, *t_leaves])
    outs = detach_outputs(list(zip(outs, out_ts)), callers)
    (out, aux) = tree_unflatten(out_tree(), outs)
    (out_t, _) = tree_unflatten(out_tree(), [detach(tangent_result(t), callers) for t in out_ts])
    result = (finalize_tree(out), finalize_tree(out_t))
    return result + (finalize_tree(aux),) if has_aux else result


def linearize(fun: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[..., Any]]:
    """``(fun(*primals), f_jvp)`` where ``f_jvp(*tangents)`` evaluates the linearized function.

    >>> import fungrad, fungrad.numpy as fnp
    >>> y, f_jvp = fungrad.linearize(fnp.exp, 0.0)
    >>> f_jvp(2.0)
    2.0
    """
    leaves, in_tree = flatten_leaves(primals, "a linearize primal")
    flat, out_store = flatten_fun(fun, in_tree)
    outs, linear = linearize_flat(flat, leaves, keep=True)
    out_tree = out_store()
    saved = owners(linear.consts)

    def f_jvp(*tangents: Any) -> Any:
        t_leaves, t_tree = flatten_leaves(tangents, "a tangent")
        if t_tree != in_tree:
            raise TypeError(f"linearize: tangent structure {t_tree} does not match {in_tree}")
        _check_tangents(leaves, t_leaves, "linearize tangent")
        outs = core.call_jaxpr(linear, *[t if has_tangent_space(t.dtype) else
                                         np.zeros(t.shape, get_aval(p).dtype)
                                         for p, t in zip(leaves, t_leaves)])
        taken = saved | owners(t_leaves)
        outs = [detach(o, taken) if has_tangent_space(get_aval(o).dtype) else
                float0_zeros(get_aval(o).shape) for o in outs]
        return finalize_tree(tree_unflatten(out_tree, outs))

    return finalize_tree(tree_unflatten(out_tree, outs)), f_jvp


def _pullback(linear: Jaxpr, out_tree: PyTreeDef, out_avals: Sequence[Any],
              in_tree: PyTreeDef, residuals: Sequence[Any], ct: Any) -> Any:
    """The cotangent of the primals for the output cotangent ``ct`` (see ``vjp``); it never
    shares memory with ``ct`` or with the residuals, which later calls reuse."""
    ct_leaves, ct_tree = flatten_leaves(ct, "a cotangent")
    if ct_tree != out_tree:
        raise TypeError(f"vjp: cotangent structure {ct_tree} does not match the output "
                        f"structure {out_tree}")
    _check_tangents(out_avals, ct_leaves, "vjp cotangent")
    extra = [Zero(a) for a in linear.out_avals[len(out_avals):]]
    taken = owners(residuals) | owners(ct_leaves)
    cts = [detach(tangent_result(c), taken)
           for c in backward_pass(linear, residuals, [*ct_leaves, *extra])]
    return finalize_tree(tree_unflatten(in_tree, cts))


def vjp(fun: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """Reverse mode: ``(fun(*primals), vjp_fun)`` where ``vjp_fun(ct)`` gives ``ct @ J`` per primal.

    ``vjp_fun`` is a ``tree_util.Partial`` whose leaves are the saved residuals, so it can be
    returned from ``jit`` and passed around as a pytree.

    >>> import fungrad, fungrad.numpy as fnp
    >>> y, vjp_fun = fungrad.vjp(fnp.sin, 0.0)
    >>> vjp_fun(1.0)
    (1.0,)
    """
    leaves, in_tree = flatten_leaves(primals, "a vjp primal")
    flat, both_store = flatten_fun(_with_aux(fun, has_aux, "vjp"), in_tree)
    outs, linear = linearize_flat(flat, leaves, keep=True)
    both_tree = both_store()
    out_and_aux = tree_unflatten(both_tree, outs)
    out = out_and_aux[0]
    out_leaves, out_tree = tree_flatten(out)
    program = Jaxpr(linear.constvars, linear.invars, linear.eqns, linear.outvars)
    vjp_fun = Partial(functools.partial(_pullback, program, out_tree,
                                        [get_aval(x) for x in out_leaves], in_tree),
                      list(linear.consts))
    if has_aux:
        return finalize_tree(out), vjp_fun, finalize_tree(out_and_aux[1])
    return finalize_tree(out), vjp_fun


def value_and_grad(fun: Callable[..., Any], argnums: int | Sequence[int] = 0,
                   has_aux: bool = False, holomorphic: bool = False,
                   allow_int: bool = False) -> Callable[..., Any]:
    """A function returning ``(fun(*args), grad(fun)(*args))`` (with aux: ``((value, aux), grad)``).

    >>> import fungrad, fungrad.numpy as fnp
    >>> fungrad.value_and_grad(lambda x: x ** 2)(3.0)
    (9.0, 6.0)
    >>> fungrad.value_and_grad(lambda z: z ** 2, holomorphic=True)(1j)
    ((-1+0j), 2j)
    """
    fname = "value_and_grad"

    @functools.wraps(fun)
    def value_and_grad_f(*args: Any, **kwargs: Any) -> Any:
        nums = normalize_argnums(argnums, len(args), fname)
        leaves, in_tree = flatten_leaves([args[i] for i in nums], "a differentiated argument")
        check_differentiable(leaves, "grad", allow_int, holomorphic)
        aux_store: list[Any] = []

        def flat(*xs: Any) -> list[Any]:
            dyn = tree_unflatten(in_tree, xs)
            out, aux = split_aux(fun(*splice_args(args, nums, dyn), **kwargs), has_aux, fname)
            check_scalar_output(out, "grad", holomorphic)
            aux_leaves, aux_tree = tree_flatten(aux)
            aux_store[:] = [aux_tree]
            return [out, *aux_leaves]

        outs, pullback = vjp_flat(flat, leaves)
        value = outs[0]
        ct = np.ones((), get_aval(value).dtype)
        cts = pullback([ct] + [Zero.like(a) for a in outs[1:]])
        others = [a for i, a in enumerate(args) if i not in nums]
        callers = owners([*leaves, *tree_flatten(others)[0]]) if others else owners(leaves)
        grads = [finalize(detach(tangent_result(c), callers)) for c in cts]
        g_tree = tree_unflatten(in_tree, grads)
        g_out = g_tree[0] if isinstance(argnums, int) else tuple(g_tree)
        if has_aux:
            aux = tree_unflatten(aux_store[0], outs[1:])
            return (value, finalize_tree(aux)), g_out
        return value, g_out

    return value_and_grad_f


def grad(fun: Callable[..., Any], argnums: int | Sequence[int] = 0,
         has_aux: bool = False, holomorphic: bool = False,
         allow_int: bool = False) -> Callable[..., Any]:
    """The gradient of a scalar-valued ``fun`` with respect to the arguments ``argnums``.

    ``fun`` must return a real float, unless ``holomorphic=True``: then inputs and output are
    complex and the result is the complex derivative ``df/dz``. A real-valued function of complex
    inputs gets JAX's convention, ``df/dx - i df/dy`` (for ``|z|**2``: ``2 conj(z)``).

    >>> import fungrad, fungrad.numpy as fnp
    >>> fungrad.grad(lambda x: fnp.sin(x) * x)(0.0)
    0.0
    >>> fungrad.grad(lambda z: z ** 2, holomorphic=True)(1 + 2j)
    (2+4j)
    >>> fungrad.grad(lambda z: fnp.abs(z) ** 2)(1 + 2j)
    (2-4j)
    """
    vg = value_and_grad(fun, argnums, has_aux, holomorphic, allow_int)

    @functools.wraps(fun)
    def grad_f(*args: Any, **kwargs: Any) -> Any:
        (value_aux, g) = vg(*args, **kwargs)
        return (g, value_aux[1]) if has_aux else g

    return grad_f


def linear_transpose(fun: Callable[..., Any], *primals: Any) -> Callable[..., Any]:
    """The transpose of the linear function ``fun``, at inputs shaped like ``primals``.

    >>> import fungrad, numpy as np
    >>> f_t = fungrad.linear_transpose(lambda x: 2.0 * x, np.ones(2))
    >>> f_t(np.array([1.0, 3.0]))
    (array([2., 6.]),)
    """
    leaves, in_tree = flatten_leaves(primals, "a linear_transpose primal")
    avals = [get_aval(x) for x in leaves]
    partial = StagingTrace(core.current_trace(), forward_known=True, record_source=False)
    with core.new_trace(partial):
        args = [partial.new_arg(a) for a in avals]
        flat, out_store = flatten_fun(fun, in_tree)
        outs = flat(*args)
        jaxpr = partial.build(outs)
    out_tree = out_store()

    def transposed(*cts: Any) -> Any:
        ct_leaves, ct_tree = flatten_leaves(cts[0] if len(cts) == 1 else cts, "a cotangent")
        if ct_tree != out_tree:
            raise TypeError(f"linear_transpose: cotangent structure {ct_tree} does not match "
                            f"the output structure {out_tree}")
        in_cts = backward_pass(jaxpr, jaxpr.consts, ct_leaves)
        return finalize_tree(tree_unflatten(in_tree, [
            instantiate(Zero(a)) if type(c) is Zero else c for c, a in zip(in_cts, avals)]))

    return transposed

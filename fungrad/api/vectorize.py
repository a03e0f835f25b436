"""vmap, and the Jacobians built on it: jacfwd, jacrev, hessian, hvp."""
from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np

from fungrad.api.differentiate import grad, jvp, split_aux
from fungrad.api.util import check_differentiable, check_output_dtype, finalize_tree
from fungrad.api_util import flatten_fun, flatten_leaves, normalize_argnums, splice_args
from fungrad.core import get_aval
from fungrad.interpreters.ad import Zero, jvp_flat
from fungrad.interpreters.aliasing import detach, owners
from fungrad.lax.registry import bdim_to_front, instantiate, moveaxis
from fungrad.interpreters.batching import batch_flat
from fungrad.interpreters.reverse import vjp_flat
from fungrad.tree_util import tree_flatten, tree_unflatten
from fungrad.lax.shape_ops import concatenate, reshape, transpose
from fungrad.lax.slicing import slice_in_dim


def _broadcast_prefix(prefix: Any, tree: Any, what: str) -> list[Any]:
    """One entry of ``prefix`` per leaf of ``tree``: an int/None applies to a whole subtree."""
    if prefix is None or isinstance(prefix, int):
        return [prefix] * len(tree_flatten(tree)[0])
    if isinstance(prefix, (tuple, list)) and isinstance(tree, (tuple, list)):
        if len(prefix) != len(tree):
            raise ValueError(f"vmap {what} has {len(prefix)} entries but there are "
                             f"{len(tree)} values to match")
        return [a for p, t in zip(prefix, tree) for a in _broadcast_prefix(p, t, what)]
    if isinstance(prefix, dict) and isinstance(tree, dict):
        if set(prefix) != set(tree):
            raise ValueError(f"vmap {what} keys {sorted(prefix)} do not match {sorted(tree)}")
        return [a for k in sorted(tree) for a in _broadcast_prefix(prefix[k], tree[k], what)]
    leaves_p, tree_p = tree_flatten(prefix, is_leaf=lambda x: x is None)
    children = tree_p.flatten_up_to(tree) if hasattr(tree_p, "flatten_up_to") else None
    if children is None:
        raise ValueError(f"vmap {what} {prefix!r} is not a prefix of the argument structure")
    return [a for p, t in zip(leaves_p, children) for a in _broadcast_prefix(p, t, what)]


def vmap(fun: Callable[..., Any], in_axes: Any = 0, out_axes: Any = 0,
         axis_name: Any = None, axis_size: int | None = None) -> Callable[..., Any]:
    """Vectorize ``fun`` over an axis of its inputs.

    ``axis_name`` names the mapped axis, so collectives inside ``fun`` (``lax.psum(x, name)``...)
    can act across it; vmaps nest, an inner name shadowing an equal outer one.

    >>> import fungrad, fungrad.numpy as fnp, numpy as np
    >>> fungrad.vmap(fnp.dot)(np.ones((4, 3)), np.ones((4, 3))).shape
    (4,)
    >>> fungrad.vmap(lambda x: x / fungrad.lax.psum(x, "i"), axis_name="i")(np.array([1., 3.]))
    array([0.25, 0.75])
    """
    if axis_name is not None:
        hash(axis_name)  # a TypeError now rather than at the first collective
    @functools.wraps(fun)
    def vmapped(*args: Any, **kwargs: Any) -> Any:
        axes_prefix = in_axes if not isinstance(in_axes, list) else tuple(in_axes)
        if isinstance(axes_prefix, tuple) and len(axes_prefix) != len(args):
            raise ValueError(f"vmap in_axes has {len(axes_prefix)} entries but the function "
                             f"was called with {len(args)} positional arguments")
        leaves, in_tree = flatten_leaves(args, "a vmapped argument")
        if isinstance(axes_prefix, tuple):
            axes = [a for p, x in zip(axes_prefix, args) for a in _broadcast_prefix(p, x, "in_axes")]
        else:
            axes = _broadcast_prefix(axes_prefix, args, "in_axes")
        dims: list[int | None] = []
        sizes: dict[int, list[str]] = {}
        for i, (x, ax) in enumerate(zip(leaves, axes)):
            if ax is None:
                dims.append(None)
                continue
            nd = get_aval(x).ndim
            if not -nd <= ax < nd:
                raise ValueError(f"vmap in_axes {ax} is out of range for an argument of rank {nd}")
            dims.append(ax % nd)
            sizes.setdefault(get_aval(x).shape[ax % nd], []).append(f"leaf {i} {get_aval(x)}")
        if len(sizes) > 1:
            detail = "; ".join(f"size {n}: {', '.join(w)}" for n, w in sizes.items())
            raise ValueError(f"vmap got inconsistent sizes for the mapped axes: {detail}")
        if not sizes and axis_size is None:
            raise ValueError("vmap needs at least one mapped input (in_axes not None) or axis_size")
        size = axis_size if not sizes else next(iter(sizes))
        if axis_size is not None and sizes and axis_size != size:
            raise ValueError(f"vmap axis_size={axis_size} but the mapped inputs have size {size}")
        flat, out_store = flatten_fun(fun, in_tree, lambda a: (a, kwargs),
                                      "the output of a vmapped function")
        # An unmapped Python scalar reaches the function as it is, so it stays weakly typed
        # (``f32_array * 2.0`` is float32, as without vmap).
        raw = tree_flatten(args)[0]
        leaves = [r if d is None and type(r) in (bool, int, float, complex) else x
                  for r, x, d in zip(raw, leaves, dims)]
        outs, out_dims = batch_flat(flat, leaves, dims, int(size),  # type: ignore[arg-type]
                                    axis_name)
        out_tree = out_store()
        out_ax = _broadcast_prefix(out_axes, tree_unflatten(out_tree, outs), "out_axes")
        final = []
        callers = owners(leaves)
        for o, d, ax in zip(outs, out_dims, out_ax):
            if ax is None:
                if d is not None:
                    raise ValueError("vmap out_axes=None, but the output depends on the mapped "
                                     "axis (it is batched)")
            else:
                nd = get_aval(o).ndim + (d is None)
                if not -nd <= ax < nd:
                    raise ValueError(f"vmap out_axes {ax} is out of range for an output of rank "
                                     f"{nd} (the batched output of rank {nd - 1} plus the mapped "
                                     f"axis)")
                o = moveaxis(bdim_to_front(o, d, int(size)), 0, ax)  # type: ignore[arg-type]
            # An output the mapped axis never touched may be a closed-over array itself.
            final.append(o.copy() if d is None and isinstance(o, np.ndarray) else detach(o, callers))
        return finalize_tree(tree_unflatten(out_tree, final))

    return vmapped


# ---------------------------------------------------------------- Jacobians

def _basis(leaves: Sequence[Any]) -> tuple[list[Any], int]:
    """Standard basis for the concatenated leaves: leaf k gets shape (N, *shape_k)."""
    sizes = [get_aval(x).size for x in leaves]
    n = sum(sizes)
    out, offset = [], 0
    for x, s in zip(leaves, sizes):
        a = get_aval(x)
        block = np.zeros((n, s), a.dtype)
        block[offset:offset + s] = np.eye(s, dtype=a.dtype)
        out.append(block.reshape((n,) + a.shape))
        offset += s
    return out, n


def _chunks(n: int, chunk_size: int | None) -> list[slice]:
    step = n if not chunk_size else max(1, int(chunk_size))
    return [slice(i, min(i + step, n)) for i in range(0, max(n, 1), step)] if n else [slice(0, 0)]


def _push_batched(f: Callable[..., list[Any]], basis: list[Any], n: int,
                  chunk_size: int | None) -> list[Any]:
    """Apply linear ``f`` to every basis row (vectorized, in chunks); outputs have the row axis first."""
    pieces: list[list[Any]] = []
    for sl in _chunks(n, chunk_size):
        rows = [b[sl] for b in basis]
        size = sl.stop - sl.start
        outs, dims = batch_flat(f, rows, [0] * len(rows), size)
        pieces.append([bdim_to_front(o, d, size) for o, d in zip(outs, dims)])
    if len(pieces) == 1:
        return pieces[0]
    return [concatenate([p[i] for p in pieces], 0) for i in range(len(pieces[0]))]


def _jac_blocks(rows: list[Any], row_leaves: Sequence[Any], col_leaves: Sequence[Any],
                rows_first: bool) -> list[list[Any]]:
    """Split stacked rows (N, *col_shape) into blocks [row leaf][col leaf] shaped out+in."""
    blocks: list[list[Any]] = []
    offset = 0
    for r in row_leaves:
        ra = get_aval(r)
        s = ra.size
        row_block = []
        for c in rows:
            ca = get_aval(c)
            rows_c = c if s == ca.shape[0] else _slice_rows(c, offset, offset + s)
            part = reshape(rows_c, ra.shape + ca.shape[1:])
            if not rows_first:
                nr, nc = len(ra.shape), len(ca.shape) - 1
                part = transpose(part, tuple(range(nr, nr + nc)) + tuple(range(nr)))
            row_block.append(part)
        blocks.append(row_block)
        offset += s
    return blocks


def _slice_rows(x: Any, start: int, stop: int) -> Any:
    return slice_in_dim(x, start, stop, axis=0)


def _jacobian(fun: Callable[..., Any], argnums: int | Sequence[int], has_aux: bool,
              holomorphic: bool, chunk_size: int | None, mode: str) -> Callable[..., Any]:
    fname = "jacfwd" if mode == "fwd" else "jacrev"

    @functools.wraps(fun)
    def jacfun(*args: Any, **kwargs: Any) -> Any:
        nums = normalize_argnums(argnums, len(args), fname)
        leaves, in_tree = flatten_leaves([args[i] for i in nums], "a differentiated argument")
        check_differentiable(leaves, fname, holomorphic=holomorphic, real_only=mode == "fwd")
        store: list[Any] = []

        def flat(*xs: Any) -> list[Any]:
            out, aux = split_aux(fun(*splice_args(args, nums, tree_unflatten(in_tree, xs)),
                                      **kwargs), has_aux, fname)
            out_leaves, out_tree = tree_flatten(out)
            aux_leaves, aux_tree = tree_flatten(aux)
            store[:] = [out_tree, aux_tree, len(out_leaves)]
            return list(out_leaves) + list(aux_leaves)

        if mode == "fwd":
            basis, n = _basis(leaves)
            outs: list[Any] = []

            def push(*ts: Any) -> list[Any]:
                o, t = jvp_flat(flat, leaves, list(ts))
                outs[:] = o
                return [instantiate(x) for x in t[:store[2]]]

            cols = _push_batched(push, basis, n, chunk_size)
            out_leaves = outs[:store[2]]
            for o in out_leaves:
                check_output_dtype(o, fname, holomorphic, real_only=False)
            # cols[i]: (N_in, *out_shape_i) -> blocks[in_leaf][out_leaf] shaped in+out; swap.
            blocks_t = _jac_blocks(cols, leaves, out_leaves, rows_first=False)
            blocks = [[blocks_t[j][i] for j in range(len(leaves))] for i in range(len(out_leaves))]
        else:
            outs, pullback = vjp_flat(flat, leaves)
            out_leaves = outs[:store[2]]
            for o in out_leaves:
                check_output_dtype(o, fname, holomorphic)
            aux_zero = [Zero(get_aval(a)) for a in outs[store[2]:]]
            basis, n = _basis(out_leaves)

            def pull(*cts: Any) -> list[Any]:
                return [instantiate(c) for c in pullback(list(cts) + aux_zero)]

            rows = _push_batched(pull, basis, n, chunk_size)
            blocks = _jac_blocks(rows, out_leaves, leaves, rows_first=True)
        out_tree, aux_tree = store[0], store[1]
        per_out = []
        for row in blocks:
            in_struct = tree_unflatten(in_tree, row)
            per_out.append(in_struct[0] if isinstance(argnums, int) else tuple(in_struct))
        jac = finalize_tree(tree_unflatten(out_tree, per_out))
        if has_aux:
            return jac, finalize_tree(tree_unflatten(aux_tree, outs[store[2]:]))
        return jac

    return jacfun


def jacfwd(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False,
           holomorphic: bool = False, chunk_size: int | None = None) -> Callable[..., Any]:
    """Jacobian by forward mode, pushing the whole input basis at once (``chunk_size`` bounds it).

    Inputs must be real unless ``holomorphic=True`` (complex inputs and outputs, ``df/dz``).

    >>> import fungrad, fungrad.numpy as fnp, numpy as np
    >>> fungrad.jacfwd(lambda x: x ** 2)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    >>> fungrad.jacfwd(lambda z: z ** 2, holomorphic=True)(np.array([1j]))
    array([[0.+2.j]])
    """
    return _jacobian(fun, argnums, has_aux, holomorphic, chunk_size, "fwd")


def jacrev(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False,
           holomorphic: bool = False, chunk_size: int | None = None) -> Callable[..., Any]:
    """Jacobian by reverse mode: one forward pass, the output basis pulled back at once.

    Outputs must be real unless ``holomorphic=True`` (complex inputs and outputs, ``df/dz``).

    >>> import fungrad, numpy as np
    >>> fungrad.jacrev(lambda x: x * 3.0)(np.array([1.0, 2.0]))
    array([[3., 0.],
           [0., 3.]])
    >>> fungrad.jacrev(lambda z: z ** 2, holomorphic=True)(np.array([1j]))
    array([[0.+2.j]])
    """
    return _jacobian(fun, argnums, has_aux, holomorphic, chunk_size, "rev")


jacobian = jacrev


def hessian(fun: Callable[..., Any], argnums: int | Sequence[int] = 0,
            has_aux: bool = False, holomorphic: bool = False) -> Callable[..., Any]:
    """Hessian of a scalar function, forward over reverse: ``jacfwd(jacrev(fun))``.

    >>> import fungrad, fungrad.numpy as fnp, numpy as np
    >>> fungrad.hessian(lambda x: fnp.sum(x ** 3))(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    >>> fungrad.hessian(lambda z: fnp.sum(z ** 3), holomorphic=True)(np.array([1j]))
    array([[0.+6.j]])
    """
    return jacfwd(jacrev(fun, argnums, has_aux, holomorphic), argnums, has_aux, holomorphic)


def hvp(fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> Any:
    """Hessian-vector product (forward over reverse) without forming the Hessian.

    >>> import fungrad, fungrad.numpy as fnp, numpy as np
    >>> fungrad.hvp(lambda x: fnp.sum(x ** 3), (np.array([1.0, 2.0]),), (np.ones(2),))
    array([ 6., 12.])
    """
    return jvp(grad(fun, argnums=tuple(range(len(primals)))), tuple(primals),
               tuple(tangents))[1][0 if len(primals) == 1 else slice(None)]

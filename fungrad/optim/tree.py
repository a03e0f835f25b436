"""Arithmetic on pytrees of arrays, the few helpers every optimizer needs (optax's ``optax.tree``).

Every function works on concrete NumPy arrays and on tracers alike, so it can run inside ``jit``,
``vmap`` and ``grad``. Functions over several trees demand that they have the same structure and
raise a ``ValueError`` naming both structures otherwise:

    >>> import numpy as np
    >>> params = {'w': np.array([3.0, 4.0]), 'b': np.array(0.0)}
    >>> float(global_norm(params))
    5.0
    >>> tree_add_scale(params, -0.5, params)['w']
    array([1.5, 2. ])
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

import fungrad.numpy as fnp
from fungrad.tree_util import tree_flatten, tree_leaves, tree_unflatten

PyTree = Any

__all__ = [
    "global_norm", "safe_increment", "tree_add", "tree_add_scale", "tree_all_finite",
    "tree_bias_correction", "tree_map_same", "tree_scale", "tree_sub", "tree_update_moment",
    "tree_vdot", "tree_where", "tree_zeros_like", "zero_count",
]

COUNT_DTYPE = np.int32  # step counters, as optax keeps them


def zero_count() -> Any:
    """A step counter at 0: an int32 scalar, as optax's.

        >>> zero_count()
        array(0, dtype=int32)
    """
    return np.zeros((), COUNT_DTYPE)


def tree_map_same(f: Callable[..., Any], tree: PyTree, *rest: PyTree, what: str = "trees") -> PyTree:
    """``tree_map`` that demands every tree in ``rest`` have exactly the structure of ``tree``.

        >>> tree_map_same(lambda a, b: a + b, [1.0, 2.0], [10.0, 20.0])
        [11.0, 22.0]
        >>> tree_map_same(lambda a, b: a + b, [1.0, 2.0], [10.0], what="updates and state")
        Traceback (most recent call last):
        ...
        ValueError: updates and state: the pytree structures differ: PyTreeDef([*, *]) and PyTreeDef([*]). ...
    """
    leaves, treedef = tree_flatten(tree)
    others = []
    for other in rest:
        other_leaves, other_def = tree_flatten(other)
        if other_def != treedef:
            raise ValueError(
                f"{what}: the pytree structures differ: {treedef} and {other_def}. Pass gradients with "
                "the structure of the params the optimizer state was built from (opt.init(params)).")
        others.append(other_leaves)
    return tree_unflatten(treedef, [f(*args) for args in zip(leaves, *others)])


def tree_zeros_like(tree: PyTree, dtype: Any = None) -> PyTree:
    """Zeros shaped like each leaf (of ``dtype`` if given).

        >>> tree_zeros_like({'a': np.ones(2)})
        {'a': array([0., 0.])}
    """
    return tree_map_same(lambda x: fnp.zeros_like(x, dtype=dtype), tree)


def tree_add(a: PyTree, b: PyTree) -> PyTree:
    """Leafwise ``a + b``.

        >>> tree_add([1.0], [2.0])
        [3.0]
    """
    return tree_map_same(lambda x, y: x + y, a, b, what="tree_add")


def tree_sub(a: PyTree, b: PyTree) -> PyTree:
    """Leafwise ``a - b``.

        >>> tree_sub([1.0], [2.0])
        [-1.0]
    """
    return tree_map_same(lambda x, y: x - y, a, b, what="tree_sub")


def tree_scale(scalar: Any, tree: PyTree) -> PyTree:
    """Every leaf times ``scalar``.

        >>> tree_scale(2.0, (1.0, 3.0))
        (2.0, 6.0)
    """
    return tree_map_same(lambda x: scalar * x, tree)


def tree_add_scale(a: PyTree, scalar: Any, b: PyTree) -> PyTree:
    """Leafwise ``a + scalar * b``.

        >>> tree_add_scale([1.0], 0.5, [4.0])
        [3.0]
    """
    return tree_map_same(lambda x, y: x + scalar * y, a, b, what="tree_add_scale")


def tree_vdot(a: PyTree, b: PyTree) -> Any:
    """The inner product of two trees seen as flat vectors (a scalar).

        >>> float(tree_vdot({'x': np.array([1.0, 2.0])}, {'x': np.array([3.0, 4.0])}))
        11.0
    """
    products = tree_leaves(tree_map_same(lambda x, y: fnp.sum(x * y), a, b, what="tree_vdot"))
    return sum(products[1:], products[0]) if products else fnp.asarray(0.0)


def global_norm(tree: PyTree) -> Any:
    """The Euclidean norm of all leaves together, ``sqrt(sum of squares)`` (optax's ``global_norm``).

        >>> float(global_norm([np.array([1.0, 2.0]), np.array(2.0)]))
        3.0
    """
    return fnp.sqrt(tree_vdot(tree, tree))


def tree_where(condition: Any, on_true: PyTree, on_false: PyTree) -> PyTree:
    """Leafwise ``where(condition, on_true, on_false)`` with one scalar condition, keeping dtypes.

        >>> tree_where(np.asarray(False), [np.array(1.0)], [np.array(2.0)])
        [array(2.)]
    """
    return tree_map_same(lambda t, f: fnp.asarray(fnp.where(condition, t, f), dtype=fnp.result_type(f)),
                         on_true, on_false, what="tree_where")


def tree_all_finite(tree: PyTree) -> Any:
    """A scalar bool: whether every entry of every leaf is finite.

        >>> bool(tree_all_finite([np.array([1.0, np.inf])]))
        False
    """
    flags = [fnp.all(fnp.isfinite(x)) for x in tree_leaves(tree)]
    return fnp.all(fnp.stack(flags)) if flags else fnp.asarray(True)


def tree_update_moment(updates: PyTree, moments: PyTree, decay: Any, order: int) -> PyTree:
    """The exponential moving average ``decay * m + (1 - decay) * g**order`` leafwise.

        >>> tree_update_moment([2.0], [1.0], 0.5, 2)
        [2.5]
    """
    return tree_map_same(lambda g, m: decay * m + (1 - decay) * _power(g, order), updates, moments,
                         what="updates and moments")


def _power(g: Any, order: int) -> Any:
    return g if order == 1 else g * g if order == 2 else g ** order


def tree_bias_correction(moments: PyTree, decay: Any, count: Any) -> PyTree:
    """Adam's debiasing: every moment divided by ``1 - decay**count``.

        >>> tree_bias_correction([0.1], 0.9, 1)
        [1.0000000000000002]
    """
    correction = 1 - decay ** count
    return tree_map_same(lambda m: m / correction, moments)


def safe_increment(count: Any) -> Any:
    """``count + 1``, staying at the largest value of its integer dtype instead of wrapping around.

        >>> safe_increment(np.asarray(2, np.int32))
        array(3, dtype=int32)
        >>> int(safe_increment(np.asarray(np.iinfo(np.int32).max, np.int32)))
        2147483647
    """
    largest = np.iinfo(fnp.result_type(count)).max
    return fnp.where(count < largest, count + 1, largest)

"""``fungrad.tree``: the short names for pytree utilities, as in ``jax.tree``.

>>> import fungrad
>>> fungrad.tree.map(lambda x: x * 2, {'a': 1, 'b': [2, 3]})
{'a': 2, 'b': [4, 6]}
>>> fungrad.tree.leaves({'a': 1, 'b': [2, 3]})
[1, 2, 3]
"""
from __future__ import annotations

from fungrad.tree_util import (
    PyTree, PyTreeDef, tree_all, tree_flatten, tree_flatten_with_path, tree_leaves,
    tree_leaves_with_path, tree_map, tree_map_with_path, tree_reduce, tree_structure,
    tree_transpose, tree_unflatten,
)

__all__ = ["all", "flatten", "flatten_with_path", "leaves", "leaves_with_path", "map",
           "map_with_path", "reduce", "structure", "transpose", "unflatten"]

all = tree_all  # noqa: A001 - JAX's name
flatten = tree_flatten
flatten_with_path = tree_flatten_with_path
leaves = tree_leaves
leaves_with_path = tree_leaves_with_path
map = tree_map  # noqa: A001 - JAX's name
map_with_path = tree_map_with_path
reduce = tree_reduce
structure = tree_structure
unflatten = tree_unflatten


def transpose(outer_treedef: PyTreeDef, inner_treedef: PyTreeDef | None,
              pytree_to_transpose: PyTree) -> PyTree:
    """An outer tree of inner trees as an inner tree of outer trees; ``inner_treedef=None``
    takes the structure of the first inner tree.

    >>> outer = structure([0, 0])
    >>> transpose(outer, None, [{'a': 1, 'b': 2}, {'a': 3, 'b': 4}])
    {'a': [1, 3], 'b': [2, 4]}
    """
    if inner_treedef is None:
        inner_trees = outer_treedef.flatten_up_to(pytree_to_transpose)
        if not inner_trees:
            raise ValueError("tree.transpose: give inner_treedef when there are no inner trees")
        inner_treedef = tree_structure(inner_trees[0])
    return tree_transpose(outer_treedef, inner_treedef, pytree_to_transpose)


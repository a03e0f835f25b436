"""Pytrees: nested containers whose leaves are arrays.

Every transform in fungrad takes and returns pytrees. A pytree is a tuple, list,
dict, namedtuple, ``None`` or a registered node type, nested to any depth;
anything else is a leaf. ``tree_flatten`` splits a pytree into its leaves and a
``PyTreeDef`` describing its shape, and ``tree_unflatten`` puts them back:

    >>> leaves, treedef = tree_flatten((1, {'b': [2, 3], 'a': None}))
    >>> leaves
    [1, 2, 3]
    >>> treedef
    PyTreeDef((*, {'a': None, 'b': [*, *]}))
    >>> tree_unflatten(treedef, [10, 20, 30])
    (10, {'a': None, 'b': [20, 30]})

Dicts are flattened in sorted key order, so ``{'a': 1, 'b': 2}`` and
``{'b': 2, 'a': 1}`` have the same structure. ``None`` is a node without
children: it has no leaves.

Inside, a structure is a *node*: ``None`` for a leaf, otherwise a plain tuple
``(node type, aux data, child nodes)``. Plain tuples make flattening cheap (it
runs on every ``jit`` call) and give equality and hashing for free.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import functools
from typing import Any, Callable, Iterable, Iterator, NamedTuple, Optional, Sequence, TypeVar

from fungrad.source_info import at_user_line

__all__ = [
    "DictKey",
    "FlattenedIndexKey",
    "GetAttrKey",
    "Partial",
    "PyTreeDef",
    "SequenceKey",
    "all_leaves",
    "keystr",
    "register_dataclass",
    "register_pytree_node",
    "register_pytree_node_class",
    "register_pytree_with_keys",
    "register_pytree_with_keys_class",
    "tree_all",
    "tree_flatten",
    "tree_flatten_with_path",
    "tree_leaves",
    "tree_leaves_with_path",
    "tree_map",
    "tree_map_with_path",
    "tree_reduce",
    "tree_structure",
    "tree_transpose",
    "tree_unflatten",
]

PyTree = Any
Leaf = Any
IsLeaf = Callable[[Any], bool]
T = TypeVar("T")

# A node of a tree structure: None for a leaf, else (node type, aux data, children).
_Node = Optional[tuple[type, Any, tuple["_Node", ...]]]

_LEAF: _Node = None
_NoneType = type(None)
_NONE_NODE: _Node = (_NoneType, None, ())
_BUILTIN_NODE_TYPES = (tuple, list, dict, _NoneType)


class _NodeHandler(NamedTuple):
    """How to take a registered node type apart and put it back together."""

    flatten: Callable[[Any], tuple[Iterable[Any], Any]]
    unflatten: Callable[[Any, tuple[Any, ...]], Any]


_registry: dict[type, _NodeHandler] = {}


# --------------------------------------------------------------------------- flattening


def tree_flatten(tree: PyTree, is_leaf: IsLeaf | None = None) -> tuple[list[Leaf], PyTreeDef]:
    """Split a pytree into its list of leaves and its structure.

    ``is_leaf``, if given, is asked about every subtree first; where it says
    True the subtree is kept whole as a leaf.

        >>> tree_flatten({'x': (1, 2), 'y': 3})
        ([1, 2, 3], PyTreeDef({'x': (*, *), 'y': *}))
        >>> tree_flatten([(1, 2), 3], is_leaf=lambda t: isinstance(t, tuple))[0]
        [(1, 2), 3]
    """
    leaves: list[Leaf] = []
    node = _flatten_into(tree, leaves, is_leaf)
    return leaves, PyTreeDef(node, len(leaves))


def _flatten_into(tree: PyTree, leaves: list[Leaf], is_leaf: IsLeaf | None) -> _Node:
    """Append the leaves of ``tree`` to ``leaves`` and return its node (the hot path)."""
    if is_leaf is not None and is_leaf(tree):
        leaves.append(tree)
        return _LEAF
    kind = type(tree)
    if kind is tuple or kind is list:  # plain loops: cheaper than comprehensions before Python 3.12
        children = []
        for child in tree:
            children.append(_flatten_into(child, leaves, is_leaf))
        return (kind, None, tuple(children))
    if kind is dict:
        keys = _sorted_keys(tree)
        children = []
        for key in keys:
            children.append(_flatten_into(tree[key], leaves, is_leaf))
        return (dict, keys, tuple(children))
    if tree is None:
        return _NONE_NODE
    handler = _registry.get(kind)
    if handler is not None:
        parts, aux = handler.flatten(tree)
        return (kind, aux, tuple([_flatten_into(part, leaves, is_leaf) for part in parts]))
    if _is_namedtuple_type(kind):
        return (kind, None, tuple([_flatten_into(part, leaves, is_leaf) for part in tree]))
    leaves.append(tree)
    return _LEAF


def _split_node(tree: PyTree) -> tuple[type, Any, Sequence[Any]] | None:
    """One level of a pytree: (node type, aux data, children), or None for a leaf."""
    kind = type(tree)
    if kind is tuple or kind is list:
        return kind, None, tree
    if kind is dict:
        keys = _sorted_keys(tree)
        return dict, keys, [tree[key] for key in keys]
    if tree is None:
        return _NoneType, None, ()
    handler = _registry.get(kind)
    if handler is not None:
        children, aux = handler.flatten(tree)
        return kind, aux, list(children)
    if _is_namedtuple_type(kind):
        return kind, None, tree
    return None


def _sorted_keys(mapping: dict[Any, Any]) -> tuple[Any, ...]:
    try:
        return tuple(sorted(mapping))
    except TypeError as error:
        raise ValueError(
            f"pytree dict keys must be sortable so that key order does not matter; "
            f"got keys {list(mapping)!r} ({error})"
        ) from None


def _is_namedtuple_type(kind: type) -> bool:
    return issubclass(kind, tuple) and hasattr(kind, "_fields")


def tree_leaves(tree: PyTree, is_leaf: IsLeaf | None = None) -> list[Leaf]:
    """The leaves of a pytree, left to right (dicts in sorted key order).

        >>> tree_leaves([1, {'b': 2, 'a': 3}, None])
        [1, 3, 2]
    """
    leaves: list[Leaf] = []
    _flatten_into(tree, leaves, is_leaf)
    return leaves


def tree_structure(tree: PyTree, is_leaf: IsLeaf | None = None) -> PyTreeDef:
    """The structure of a pytree, without its leaves.

        >>> tree_structure((1, [2, 3]))
        PyTreeDef((*, [*, *]))
    """
    return tree_flatten(tree, is_leaf)[1]


def all_leaves(iterable: Iterable[Any], is_leaf: IsLeaf | None = None) -> bool:
    """True if every element is a leaf rather than a container (``None`` is not a leaf).

        >>> all_leaves([1.0, 'a']), all_leaves([1.0, (2.0,)])
        (True, False)
    """
    return all((is_leaf is not None and is_leaf(x)) or _split_node(x) is None for x in iterable)


# --------------------------------------------------------------------------- structures


class PyTreeDef:
    """The structure of a pytree: immutable, hashable, comparable with ``==``.

        >>> treedef = tree_structure({'a': 1, 'b': (2, 3)})
        >>> treedef.num_leaves, treedef.num_nodes
        (3, 5)
        >>> treedef.unflatten(['x', 'y', 'z'])
        {'a': 'x', 'b': ('y', 'z')}
    """

    __slots__ = ("_node", "_num_leaves")
    _node: _Node
    _num_leaves: int

    def __init__(self, node: _Node, num_leaves: int) -> None:
        object.__setattr__(self, "_node", node)
        object.__setattr__(self, "_num_leaves", num_leaves)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("PyTreeDef is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("PyTreeDef is immutable")

    def __reduce__(self) -> tuple[type[PyTreeDef], tuple[_Node, int]]:
        return PyTreeDef, (self._node, self._num_leaves)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PyTreeDef):
            return NotImplemented
        try:
            return self._node == other._node
        except Exception:
            _compare_aux(self._node, other._node)  # raises, naming the node type
            raise

    def __hash__(self) -> int:
        try:
            return hash(self._node)
        except TypeError:  # unhashable aux data (a list, a dict): hash what can be hashed
            key, copied = _frozen(self._node)
        # ... and keep a copy of that aux data: a cache keyed on this structure (jit's) must not
        # change when the caller edits the aux data in place afterwards.
        object.__setattr__(self, "_node", copied)
        return hash(key)

    def __repr__(self) -> str:
        return f"PyTreeDef({_node_repr(self._node)})"

    @property
    def num_leaves(self) -> int:
        """How many leaves a tree of this structure has."""
        return self._num_leaves

    @property
    def num_nodes(self) -> int:
        """How many nodes (leaves, ``None`` and containers) the structure has."""
        return _count_nodes(self._node)

    def children(self) -> list[PyTreeDef]:
        """The structures of the immediate subtrees (empty for a leaf or ``None``).

            >>> tree_structure((1, [2, 3])).children()
            [PyTreeDef(*), PyTreeDef([*, *])]
        """
        if self._node is None:
            return []
        return [PyTreeDef(child, _count_leaves(child)) for child in self._node[2]]

    def unflatten(self, leaves: Iterable[Leaf]) -> PyTree:
        """Build a tree of this structure from its leaves; see ``tree_unflatten``."""
        return tree_unflatten(self, leaves)

    def flatten_up_to(self, tree: PyTree) -> list[PyTree]:
        """Flatten ``tree`` only as deep as this structure goes.

        Where this structure has a leaf, the matching part of ``tree`` (which
        may be a whole subtree) is returned as one item. Raises ValueError if
        ``tree`` does not have this structure as a prefix.

            >>> tree_structure((1, 2)).flatten_up_to(([3, 4], {'a': 5}))
            [[3, 4], {'a': 5}]
        """
        pieces: list[PyTree] = []
        try:
            _flatten_up_to(self._node, tree, pieces)
        except _StructureMismatch as mismatch:
            where = "".join(mismatch.path) or "the root"
            raise ValueError(
                f"tree structure mismatch at {where}: {mismatch.reason}.\n"
                f"  expected: {self}\n"
                f"  got:      {tree_structure(tree)}"
            ) from None
        return pieces


def _frozen(node: _Node) -> tuple[Any, _Node]:
    """``node`` with each unhashable aux datum replaced by its type (equal nodes hash alike),
    and ``node`` with a private copy of each.

    Lists, dicts and sets work as aux data (as in JAX); arrays do not, since they compare
    elementwise: hashing (a ``jit`` cache key) refuses them, naming the node type.
    """
    if node is None:
        return None, None
    kind, aux, children = node
    key, copied = aux, aux
    try:
        hash(aux)
    except TypeError:
        if _holds_array(aux):
            raise _aux_error(kind, "cannot be part of a jit cache key") from None
        key, copied = type(aux), copy.deepcopy(aux)
    pairs = [_frozen(child) for child in children]
    return (kind, key, tuple(k for k, _ in pairs)), (kind, copied, tuple(c for _, c in pairs))


def _holds_array(aux: Any) -> bool:
    """Does ``aux`` hold something with a ``shape`` (an array), directly or in a container?"""
    if isinstance(aux, dict):
        return any(_holds_array(v) for v in aux.values())
    if isinstance(aux, (list, tuple, set, frozenset)):
        return any(_holds_array(v) for v in aux)
    return hasattr(aux, "shape") and hasattr(aux, "dtype")


def _same_aux(kind: type, a: Any, b: Any) -> bool:
    """Are aux data ``a`` and ``b`` (of a node of type ``kind``) equal?"""
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:  # == gave no single truth value (a NumPy array)
        raise _aux_error(kind, "cannot be compared") from None


def _compare_aux(a: _Node, b: _Node) -> None:
    """Compare the aux data of two structures node by node: the error names the node type."""
    if a is not None and b is not None:
        _same_aux(a[0], a[1], b[1])
        for x, y in zip(a[2], b[2]):
            _compare_aux(x, y)


def _aux_error(kind: type, what: str) -> ValueError:
    return ValueError(
        f"the aux data of pytree node type {kind.__name__} holds an array, which {what}: "
        f"arrays compare elementwise, so two tree structures holding them are neither equal nor "
        f"unequal. Return arrays among the node's children from its flatten function (then "
        f"transforms see them), or make the aux data hashable static values (a tuple, e.g. "
        f"tuple(a.tolist())){at_user_line()}")


def _count_leaves(node: _Node) -> int:
    if node is None:
        return 1
    return sum([_count_leaves(child) for child in node[2]])


def _count_nodes(node: _Node) -> int:
    if node is None:
        return 1
    return 1 + sum([_count_nodes(child) for child in node[2]])


def _node_repr(node: _Node) -> str:
    if node is None:
        return "*"
    kind, aux, children = node
    parts = [_node_repr(child) for child in children]
    if kind is _NoneType:
        return "None"
    if kind is tuple:
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    if kind is list:
        return "[" + ", ".join(parts) + "]"
    if kind is dict:
        return "{" + ", ".join(f"{key!r}: {part}" for key, part in zip(aux, parts)) + "}"
    if kind not in _registry and _is_namedtuple_type(kind):
        fields = ", ".join(f"{name}={part}" for name, part in zip(kind._fields, parts))  # type: ignore[attr-defined]
        return f"{kind.__name__}({fields})"
    return f"CustomNode({kind.__name__}[{aux!r}], [{', '.join(parts)}])"


class _StructureMismatch(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str] = []


def _flatten_up_to(node: _Node, tree: PyTree, pieces: list[PyTree]) -> None:
    if node is None:
        pieces.append(tree)
        return
    kind, aux, child_nodes = node
    split = _split_node(tree)
    if split is None or split[0] is not kind:
        raise _StructureMismatch(f"expected {_describe(kind)}, got {type(tree).__name__}")
    _, tree_aux, children = split
    if tree_aux is not aux and not _same_aux(kind, tree_aux, aux):
        what = "keys" if kind is dict else "node data"
        raise _StructureMismatch(f"expected {_describe(kind)} with {what} {aux!r}, got {tree_aux!r}")
    if len(children) != len(child_nodes):
        raise _StructureMismatch(
            f"expected {_describe(kind)} of length {len(child_nodes)}, got length {len(children)}"
        )
    for index, (child_node, child) in enumerate(zip(child_nodes, children)):
        try:
            _flatten_up_to(child_node, child, pieces)
        except _StructureMismatch as mismatch:
            mismatch.path.insert(0, _child_label(kind, aux, index))
            raise


def _describe(kind: type) -> str:
    return "None" if kind is _NoneType else f"a {kind.__name__}"


def _child_label(kind: type, aux: Any, index: int) -> str:
    if kind is dict:
        return f"[{aux[index]!r}]"
    if kind not in _registry and _is_namedtuple_type(kind):
        return f".{kind._fields[index]}"  # type: ignore[attr-defined]
    return f"[{index}]"


# --------------------------------------------------------------------------- unflattening


def tree_unflatten(treedef: PyTreeDef, leaves: Iterable[Leaf]) -> PyTree:
    """Build a pytree of structure ``treedef`` from its leaves (the inverse of ``tree_flatten``).

        >>> leaves, treedef = tree_flatten({'a': 1, 'b': [2, None]})
        >>> tree_unflatten(treedef, ['x', 'y'])
        {'a': 'x', 'b': ['y', None]}
    """
    leaves = list(leaves)
    if len(leaves) != treedef.num_leaves:
        raise ValueError(
            f"tree_unflatten: {treedef} has {treedef.num_leaves} leaves, but got {len(leaves)}"
        )
    return _build(treedef._node, iter(leaves))


def _build(node: _Node, leaves: Iterator[Leaf]) -> PyTree:
    if node is None:
        return next(leaves)
    kind, aux, child_nodes = node
    children = [_build(child, leaves) for child in child_nodes]
    if kind is tuple:
        return tuple(children)
    if kind is list:
        return children
    if kind is dict:
        return dict(zip(aux, children))
    if kind is _NoneType:
        return None
    handler = _registry.get(kind)
    if handler is not None:
        return handler.unflatten(aux, tuple(children))
    return kind(*children)  # a namedtuple


# --------------------------------------------------------------------------- mapping


def tree_map(f: Callable[..., Any], tree: PyTree, *rest: PyTree, is_leaf: IsLeaf | None = None) -> PyTree:
    """Apply ``f`` to the leaves of ``tree`` (and the matching leaves of ``rest``).

    The result has the structure of ``tree``. Each tree in ``rest`` must have
    the structure of ``tree`` or be deeper (a whole subtree lines up with a
    leaf of ``tree``); otherwise ValueError names both structures.

        >>> tree_map(lambda x: x * 10, {'a': 1, 'b': (2, None)})
        {'a': 10, 'b': (20, None)}
        >>> tree_map(lambda x, y: x + y, [1, 2], [10, 20])
        [11, 22]
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    if not rest:
        return treedef.unflatten([f(leaf) for leaf in leaves])
    others: list[list[PyTree]] = []
    for position, other in enumerate(rest, start=2):
        try:
            others.append(treedef.flatten_up_to(other))
        except ValueError as error:
            raise ValueError(f"tree_map: tree {position} does not match the structure of tree 1: {error}") from None
    return treedef.unflatten([f(*args) for args in zip(leaves, *others)])


def tree_transpose(outer_treedef: PyTreeDef, inner_treedef: PyTreeDef, pytree_to_transpose: PyTree) -> PyTree:
    """Turn an outer tree of inner trees into an inner tree of outer trees.

        >>> outer, inner = tree_structure([0, 0]), tree_structure({'a': 0, 'b': 0})
        >>> tree_transpose(outer, inner, [{'a': 1, 'b': 2}, {'a': 3, 'b': 4}])
        {'a': [1, 3], 'b': [2, 4]}
    """
    inner_trees = outer_treedef.flatten_up_to(pytree_to_transpose)
    grid = [inner_treedef.flatten_up_to(inner) for inner in inner_trees]
    columns = [outer_treedef.unflatten(column) for column in zip(*grid)]
    if not grid:
        columns = [outer_treedef.unflatten([]) for _ in range(inner_treedef.num_leaves)]
    return inner_treedef.unflatten(columns)


# --------------------------------------------------------------------------- registration


def register_pytree_node(
    nodetype: type[T],
    flatten_func: Callable[[T], tuple[Iterable[Any], Any]],
    unflatten_func: Callable[[Any, tuple[Any, ...]], T],
) -> None:
    """Make ``nodetype`` a pytree node instead of a leaf.

    ``flatten_func(node)`` returns ``(children, aux_data)``, where ``aux_data``
    is hashable static data kept in the structure; ``unflatten_func(aux_data,
    children)`` rebuilds the node.

        >>> class Pair:
        ...     def __init__(self, first, second):
        ...         self.first, self.second = first, second
        >>> register_pytree_node(Pair, lambda p: ((p.first, p.second), None),
        ...                      lambda aux, children: Pair(*children))
        >>> tree_leaves(Pair(1, [2, 3]))
        [1, 2, 3]
    """
    if nodetype in _registry or nodetype in _BUILTIN_NODE_TYPES:
        raise ValueError(f"{nodetype.__name__} is already registered as a pytree node")
    _registry[nodetype] = _NodeHandler(flatten_func, unflatten_func)


def register_pytree_node_class(cls: type[T]) -> type[T]:
    """Class decorator: register a class with ``tree_flatten`` and ``tree_unflatten`` methods.

    ``tree_flatten(self)`` returns ``(children, aux_data)`` and the classmethod
    ``tree_unflatten(cls, aux_data, children)`` rebuilds an instance.

        >>> @register_pytree_node_class
        ... class Scaled:
        ...     def __init__(self, value, scale):
        ...         self.value, self.scale = value, scale
        ...     def tree_flatten(self):
        ...         return (self.value,), self.scale
        ...     @classmethod
        ...     def tree_unflatten(cls, scale, children):
        ...         return cls(children[0], scale)
        >>> tree_structure(Scaled(1.0, scale=2))
        PyTreeDef(CustomNode(Scaled[2], [*]))
    """
    flatten = getattr(cls, "tree_flatten", None)
    unflatten = getattr(cls, "tree_unflatten", None)
    if flatten is None or unflatten is None:
        raise TypeError(f"{cls.__name__} needs tree_flatten and tree_unflatten methods")
    register_pytree_node(cls, flatten, unflatten)
    return cls


def register_dataclass(
    nodetype: type[T],
    data_fields: Sequence[str] | None = None,
    meta_fields: Sequence[str] | None = None,
) -> type[T]:
    """Register a dataclass as a pytree node; usable as a class decorator.

    ``data_fields`` are children (leaves or subtrees); ``meta_fields`` are
    static, hashable values kept in the structure. Give both or neither: by
    default every field is data, except fields declared with
    ``field(metadata={'static': True})``, which are meta.

        >>> @register_dataclass
        ... @dataclasses.dataclass
        ... class Params:
        ...     w: float
        ...     b: float
        ...     name: str = dataclasses.field(default='layer', metadata={'static': True})
        >>> tree_map(lambda x: x * 2, Params(1.0, 2.0))
        Params(w=2.0, b=4.0, name='layer')
    """
    maybe_dataclass: Any = nodetype  # keeps mypy from narrowing nodetype away from type[T]
    if not dataclasses.is_dataclass(maybe_dataclass):
        raise TypeError(f"register_dataclass: {nodetype.__name__} is not a dataclass")
    init_fields = [f for f in dataclasses.fields(maybe_dataclass) if f.init]
    if data_fields is None and meta_fields is None:
        data_fields = [f.name for f in init_fields if not f.metadata.get("static", False)]
        meta_fields = [f.name for f in init_fields if f.metadata.get("static", False)]
    elif data_fields is None or meta_fields is None:
        raise TypeError("register_dataclass: give both data_fields and meta_fields, or neither")
    data, meta = tuple(data_fields), tuple(meta_fields)
    expected = sorted(f.name for f in init_fields)
    if sorted(data + meta) != expected:
        raise ValueError(
            f"register_dataclass: data_fields {list(data)} and meta_fields {list(meta)} must "
            f"together name each __init__ field of {nodetype.__name__} exactly once: {expected}"
        )

    def flatten(node: T) -> tuple[list[Any], tuple[Any, ...]]:
        return [getattr(node, name) for name in data], tuple(getattr(node, name) for name in meta)

    def unflatten(aux: Any, children: tuple[Any, ...]) -> T:
        return nodetype(**dict(zip(data, children)), **dict(zip(meta, aux)))

    register_pytree_node(nodetype, flatten, unflatten)
    _keys_of[nodetype] = lambda node: [(GetAttrKey(name), getattr(node, name)) for name in data]
    return nodetype


def _flatten_ordered_dict(d: collections.OrderedDict[Any, Any]) -> tuple[list[Any], tuple[Any, ...]]:
    return list(d.values()), tuple(d)


def _unflatten_ordered_dict(keys: tuple[Any, ...], values: tuple[Any, ...]) -> collections.OrderedDict[Any, Any]:
    return collections.OrderedDict(zip(keys, values))


def _flatten_defaultdict(d: collections.defaultdict[Any, Any]) -> tuple[list[Any], tuple[Any, tuple[Any, ...]]]:
    keys = _sorted_keys(d)
    return [d[key] for key in keys], (d.default_factory, keys)


def _unflatten_defaultdict(aux: tuple[Any, tuple[Any, ...]], values: tuple[Any, ...]) -> collections.defaultdict[Any, Any]:
    default_factory, keys = aux
    return collections.defaultdict(default_factory, zip(keys, values))


register_pytree_node(collections.OrderedDict, _flatten_ordered_dict, _unflatten_ordered_dict)
register_pytree_node(collections.defaultdict, _flatten_defaultdict, _unflatten_defaultdict)




# --------------------------------------------------------------------------- reductions

_NO_INITIALIZER = object()


def tree_reduce(function: Callable[[Any, Any], Any], tree: PyTree,
                initializer: Any = _NO_INITIALIZER, is_leaf: IsLeaf | None = None) -> Any:
    """Fold ``function`` over the leaves of ``tree``, left to right (``functools.reduce``).

        >>> tree_reduce(lambda a, b: a + b, {'x': 1, 'y': [2, 3]})
        6
        >>> tree_reduce(max, [], initializer=0)
        0
    """
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _NO_INITIALIZER:
        if not leaves:
            raise TypeError("tree_reduce of a tree without leaves needs an initializer")
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def tree_all(tree: PyTree, *, is_leaf: IsLeaf | None = None) -> bool:
    """Whether every leaf of ``tree`` is truthy.

        >>> tree_all({'a': True, 'b': [1, 2]}), tree_all([True, 0])
        (True, False)
    """
    return all(tree_leaves(tree, is_leaf))


# --------------------------------------------------------------------------- key paths


@dataclasses.dataclass(frozen=True)
class SequenceKey:
    """The position of a child of a tuple or list: ``[idx]``."""

    idx: int

    def __str__(self) -> str:
        return f"[{self.idx!r}]"


@dataclasses.dataclass(frozen=True)
class DictKey:
    """The key of a child of a dict: ``[key]``."""

    key: Any

    def __str__(self) -> str:
        return f"[{self.key!r}]"


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    """The attribute name of a child (namedtuples, dataclasses): ``.name``."""

    name: str

    def __str__(self) -> str:
        return f".{self.name}"


@dataclasses.dataclass(frozen=True)
class FlattenedIndexKey:
    """The position of a child among the flattened children of a custom node."""

    key: int

    def __str__(self) -> str:
        return f"[<flat index {self.key}>]"


KeyEntry = Any
KeyPath = tuple[KeyEntry, ...]

# How registered node types name their children: node -> [(key, child), ...].
_keys_of: dict[type, Callable[[Any], list[tuple[KeyEntry, Any]]]] = {
    collections.OrderedDict: lambda d: [(DictKey(k), v) for k, v in d.items()],
    collections.defaultdict: lambda d: [(DictKey(k), d[k]) for k in _sorted_keys(d)],
}


def _keyed_children(tree: PyTree) -> list[tuple[KeyEntry, Any]] | None:
    """The children of one node with their keys, or None for a leaf."""
    kind = type(tree)
    if kind is tuple or kind is list:
        return [(SequenceKey(i), child) for i, child in enumerate(tree)]
    if kind is dict:
        return [(DictKey(k), tree[k]) for k in _sorted_keys(tree)]
    if tree is None:
        return []
    keyed = _keys_of.get(kind)
    if keyed is not None:
        return keyed(tree)
    handler = _registry.get(kind)
    if handler is not None:
        return [(FlattenedIndexKey(i), child) for i, child in enumerate(handler.flatten(tree)[0])]
    if _is_namedtuple_type(kind):
        return [(GetAttrKey(name), child) for name, child in zip(kind._fields, tree)]
    return None


def _leaves_with_path(tree: PyTree, path: KeyPath, out: list[tuple[KeyPath, Leaf]],
                      is_leaf: IsLeaf | None) -> None:
    children = None if is_leaf is not None and is_leaf(tree) else _keyed_children(tree)
    if children is None:
        out.append((path, tree))
        return
    for key, child in children:
        _leaves_with_path(child, path + (key,), out, is_leaf)


def tree_leaves_with_path(tree: PyTree, is_leaf: IsLeaf | None = None) -> list[tuple[KeyPath, Leaf]]:
    """The leaves of ``tree``, each with its key path (a tuple of key entries).

        >>> tree_leaves_with_path({'a': [1, 2]})
        [((DictKey(key='a'), SequenceKey(idx=0)), 1), ((DictKey(key='a'), SequenceKey(idx=1)), 2)]
    """
    out: list[tuple[KeyPath, Leaf]] = []
    _leaves_with_path(tree, (), out, is_leaf)
    return out


def tree_flatten_with_path(tree: PyTree,
                           is_leaf: IsLeaf | None = None) -> tuple[list[tuple[KeyPath, Leaf]], PyTreeDef]:
    """Like ``tree_flatten``, with each leaf paired with its key path.

        >>> pairs, treedef = tree_flatten_with_path((1, {'w': 2}))
        >>> [keystr(path) for path, _ in pairs]
        ['[0]', "[1]['w']"]
    """
    return tree_leaves_with_path(tree, is_leaf), tree_structure(tree, is_leaf)


def tree_map_with_path(f: Callable[..., Any], tree: PyTree, *rest: PyTree,
                       is_leaf: IsLeaf | None = None) -> PyTree:
    """``tree_map`` where ``f`` also gets each leaf's key path first.

        >>> tree_map_with_path(lambda path, x: keystr(path) + '=' + str(x), {'a': 1, 'b': (2,)})
        {'a': "['a']=1", 'b': ("['b'][0]=2",)}
    """
    pairs, treedef = tree_flatten_with_path(tree, is_leaf)
    others = [treedef.flatten_up_to(other) for other in rest]
    return treedef.unflatten([f(path, leaf, *more) for (path, leaf), *more in zip(pairs, *others)])


def keystr(keys: KeyPath, *, simple: bool = False, separator: str = "") -> str:
    """A key path as a string: ``"['a'][0]"``, or ``"a/0"`` with ``simple=True, separator='/'``.

        >>> keystr((DictKey('a'), SequenceKey(0), GetAttrKey('w')))
        "['a'][0].w"
        >>> keystr((DictKey('a'), SequenceKey(0)), simple=True, separator='/')
        'a/0'
    """
    if not simple:
        return separator.join(str(k) for k in keys)
    return separator.join(str(_simple_key(k)) for k in keys)


def _simple_key(k: KeyEntry) -> Any:
    for field in ("key", "idx", "name"):
        if hasattr(k, field):
            return getattr(k, field)
    return k


def register_pytree_with_keys(
    nodetype: type[T],
    flatten_with_keys: Callable[[T], tuple[Iterable[tuple[KeyEntry, Any]], Any]],
    unflatten_func: Callable[[Any, tuple[Any, ...]], T],
    flatten_func: Callable[[T], tuple[Iterable[Any], Any]] | None = None,
) -> None:
    """Register a node type whose children have their own key entries.

    ``flatten_with_keys(node)`` returns ``([(key, child), ...], aux_data)``.

        >>> class Named:
        ...     def __init__(self, w): self.w = w
        >>> register_pytree_with_keys(Named, lambda n: ([(GetAttrKey('w'), n.w)], None),
        ...                           lambda aux, ch: Named(*ch))
        >>> [keystr(p) for p, _ in tree_leaves_with_path([Named(1.0)])]
        ['[0].w']
    """
    def flatten(node: T) -> tuple[list[Any], Any]:
        pairs, aux = flatten_with_keys(node)
        return [child for _, child in pairs], aux
    register_pytree_node(nodetype, flatten_func or flatten, unflatten_func)
    _keys_of[nodetype] = lambda node: list(flatten_with_keys(node)[0])


def register_pytree_with_keys_class(cls: type[T]) -> type[T]:
    """Class decorator: ``tree_flatten_with_keys`` and ``tree_unflatten`` methods (see above).

        >>> @register_pytree_with_keys_class
        ... class Layer:
        ...     def __init__(self, w): self.w = w
        ...     def tree_flatten_with_keys(self): return [(GetAttrKey('w'), self.w)], None
        ...     @classmethod
        ...     def tree_unflatten(cls, aux, children): return cls(*children)
        >>> tree_leaves(Layer(3.0))
        [3.0]
    """
    flatten = getattr(cls, "tree_flatten", None)
    register_pytree_with_keys(cls, cls.tree_flatten_with_keys,  # type: ignore[attr-defined]
                              cls.tree_unflatten, flatten)  # type: ignore[attr-defined]
    return cls


# --------------------------------------------------------------------------- Partial


class Partial(functools.partial):  # type: ignore[type-arg]
    """``functools.partial`` as a pytree: the bound arguments are its children, the function
    static. So a partially applied function can be passed to and returned from transforms.

        >>> import fungrad, fungrad.numpy as fnp
        >>> add_y = Partial(lambda x, y: x + y, np.ones(2))
        >>> fungrad.jit(lambda f, x: f(x))(add_y, np.zeros(2))
        array([1., 1.])
        >>> tree_leaves(add_y)
        [array([1., 1.])]
    """

    def __new__(cls, func: Callable[..., Any], *args: Any, **kw: Any) -> Partial:
        if isinstance(func, functools.partial):
            # functools.partial would merge an inner partial's arguments into ours (making
            # them leaves): keep the inner one whole, as static data.
            func = _StaticCallable(func)
        return super().__new__(cls, func, *args, **kw)


class _StaticCallable:
    """A callable passed through unchanged, compared and hashed as the one it wraps."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def __call__(self, *args: Any, **kw: Any) -> Any:
        return self.fn(*args, **kw)

    def __eq__(self, other: object) -> bool:
        return type(other) is _StaticCallable and self.fn == other.fn

    def __hash__(self) -> int:
        return hash(self.fn)

    def __repr__(self) -> str:
        return repr(self.fn)


def _flatten_partial(p: Partial) -> tuple[list[Any], Any]:
    keys = tuple(sorted(p.keywords))
    return [p.args, [p.keywords[k] for k in keys]], (p.func, keys)


def _unflatten_partial(aux: Any, children: tuple[Any, ...]) -> Partial:
    func, keys = aux
    args, values = children
    return Partial(func, *args, **dict(zip(keys, values)))


register_pytree_node(Partial, _flatten_partial, _unflatten_partial)

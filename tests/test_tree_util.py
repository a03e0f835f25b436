import collections
import dataclasses
import functools
import pickle
from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fungrad import tree_util as tu


class Point(NamedTuple):
    x: Any
    y: Any


@tu.register_pytree_node_class
class Box:
    """A custom node with one child and a static label."""

    def __init__(self, value: Any, label: int) -> None:
        self.value, self.label = value, label

    def __eq__(self, other: object) -> bool:
        return type(other) is Box and (self.value, self.label) == (other.value, other.label)

    def __repr__(self) -> str:
        return f"Box({self.value!r}, {self.label!r})"

    def tree_flatten(self) -> tuple[tuple[Any], int]:
        return (self.value,), self.label

    @classmethod
    def tree_unflatten(cls, label: int, children: tuple[Any, ...]) -> "Box":
        return cls(children[0], label)


@tu.register_dataclass
@dataclasses.dataclass
class Pair:
    a: Any
    b: Any


# --------------------------------------------------------------------------- a reference model
# An independent, slow description of the expected structure of the trees generated below.


def reference_children(tree: Any) -> list[Any] | None:
    """The children of a node in flattening order, or None for a leaf."""
    kind = type(tree)
    if kind in (tuple, list, Point):
        return list(tree)
    if kind is dict:
        return [tree[key] for key in sorted(tree)]
    if kind is collections.OrderedDict:
        return list(tree.values())
    if kind is Box:
        return [tree.value]
    if kind is Pair:
        return [tree.a, tree.b]
    if tree is None:
        return []
    return None


def reference_leaves(tree: Any) -> list[Any]:
    children = reference_children(tree)
    if children is None:
        return [tree]
    return [leaf for child in children for leaf in reference_leaves(child)]


def reference_num_nodes(tree: Any) -> int:
    children = reference_children(tree) or []
    return 1 + sum(reference_num_nodes(child) for child in children)


def skeleton(tree: Any) -> Any:
    """A hashable picture of the structure alone: node kind, static data, children."""
    children = reference_children(tree)
    if children is None:
        return "leaf"
    static = {dict: lambda: tuple(sorted(tree)), collections.OrderedDict: lambda: tuple(tree), Box: lambda: tree.label}
    aux = static.get(type(tree), lambda: None)()
    return (type(tree), aux, tuple(skeleton(child) for child in children))


def assert_same_tree(actual: Any, expected: Any) -> None:
    """Equal values and equal node types all the way down (so a dict is not an OrderedDict)."""
    assert type(actual) is type(expected), (actual, expected)
    children = reference_children(expected)
    if children is None:
        assert actual == expected
        return
    assert skeleton(actual) == skeleton(expected)
    for got, want in zip(reference_children(actual) or [], children):
        assert_same_tree(got, want)


leaves = st.integers(-99, 99) | st.text(alphabet="pq", max_size=2)
keys = st.text(alphabet="abcw", min_size=1, max_size=2)


def containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=3).map(tuple),
        st.lists(children, max_size=3),
        st.dictionaries(keys, children, max_size=3),
        st.dictionaries(keys, children, max_size=3).map(lambda d: collections.OrderedDict(reversed(d.items()))),
        st.builds(Point, children, children),
        st.builds(Box, children, st.integers(0, 2)),
        st.builds(Pair, children, children),
    )


trees = st.recursive(st.none() | leaves, containers, max_leaves=10)


# --------------------------------------------------------------------------- properties


@given(trees)
def test_flatten_then_unflatten_gives_back_the_tree(tree: Any) -> None:
    leaves, treedef = tu.tree_flatten(tree)
    assert_same_tree(tu.tree_unflatten(treedef, leaves), tree)


@given(trees)
def test_leaves_come_in_flattening_order(tree: Any) -> None:
    leaves, treedef = tu.tree_flatten(tree)
    assert leaves == reference_leaves(tree)
    assert tu.tree_leaves(tree) == leaves
    assert treedef.num_leaves == len(leaves)
    assert treedef.num_nodes == reference_num_nodes(tree)


@given(trees, trees)
def test_structures_are_equal_exactly_when_the_trees_have_the_same_shape(a: Any, b: Any) -> None:
    same = tu.tree_structure(a) == tu.tree_structure(b)
    assert same == (skeleton(a) == skeleton(b))
    if same:
        assert hash(tu.tree_structure(a)) == hash(tu.tree_structure(b))


class Tagged:
    """An unregistered class, so always a leaf: marks what tree_map produced."""

    def __init__(self, *values: Any) -> None:
        self.values = values


@given(trees)
def test_tree_map_keeps_structure_and_maps_every_leaf(tree: Any) -> None:
    mapped = tu.tree_map(Tagged, tree)
    assert tu.tree_structure(mapped) == tu.tree_structure(tree)
    assert [tagged.values for tagged in tu.tree_leaves(mapped)] == [(leaf,) for leaf in reference_leaves(tree)]


@given(trees)
def test_tree_map_over_two_trees_pairs_matching_leaves(tree: Any) -> None:
    negated = tu.tree_map(lambda leaf: -leaf if isinstance(leaf, int) else leaf + "!", tree)
    paired = tu.tree_map(Tagged, tree, negated)
    assert tu.tree_structure(paired) == tu.tree_structure(tree)
    pairs = [tagged.values for tagged in tu.tree_leaves(paired)]
    assert pairs == list(zip(reference_leaves(tree), reference_leaves(negated)))


@given(trees)
def test_children_describe_the_subtrees(tree: Any) -> None:
    treedef = tu.tree_structure(tree)
    children = reference_children(tree) or []
    assert treedef.children() == [tu.tree_structure(child) for child in children]
    assert [child.num_leaves for child in treedef.children()] == [len(reference_leaves(c)) for c in children]


@given(trees)
def test_structures_survive_pickling(tree: Any) -> None:
    treedef = tu.tree_structure(tree)
    assert pickle.loads(pickle.dumps(treedef)) == treedef


# --------------------------------------------------------------------------- builtin containers


def test_repr_reads_like_the_tree() -> None:
    assert repr(tu.tree_structure((1, {"a": 2, "b": [3, 4]}))) == "PyTreeDef((*, {'a': *, 'b': [*, *]}))"
    assert repr(tu.tree_structure((1,))) == "PyTreeDef((*,))"
    assert repr(tu.tree_structure(None)) == "PyTreeDef(None)"
    assert repr(tu.tree_structure(np.zeros(3))) == "PyTreeDef(*)"
    assert repr(tu.tree_structure(Point(1, (2, 3)))) == "PyTreeDef(Point(x=*, y=(*, *)))"
    assert repr(tu.tree_structure(Box(1, 7))) == "PyTreeDef(CustomNode(Box[7], [*]))"


def test_dicts_flatten_in_sorted_key_order_and_come_back_as_dicts() -> None:
    leaves, treedef = tu.tree_flatten({"b": 1, "a": 2, "c": 3})
    assert leaves == [2, 1, 3]
    rebuilt = tu.tree_unflatten(treedef, ["A", "B", "C"])
    assert type(rebuilt) is dict and rebuilt == {"a": "A", "b": "B", "c": "C"}
    assert tu.tree_structure({"a": 0, "b": 0}) == tu.tree_structure({"b": 0, "a": 0})


def test_dicts_with_different_keys_have_different_structures() -> None:
    assert tu.tree_structure({"a": 0}) != tu.tree_structure({"b": 0})


def test_unsortable_dict_keys_are_an_error() -> None:
    with pytest.raises(ValueError, match="sortable"):
        tu.tree_flatten({1: "x", "a": "y"})


def test_ordered_dicts_keep_insertion_order() -> None:
    tree = collections.OrderedDict([("b", 1), ("a", 2)])
    leaves, treedef = tu.tree_flatten(tree)
    assert leaves == [1, 2]
    assert tu.tree_unflatten(treedef, leaves) == tree
    assert treedef != tu.tree_structure({"b": 1, "a": 2})


def test_defaultdicts_keep_their_default_factory() -> None:
    tree = collections.defaultdict(list, {"b": 1, "a": 2})
    leaves, treedef = tu.tree_flatten(tree)
    assert leaves == [2, 1]
    rebuilt = tu.tree_unflatten(treedef, leaves)
    assert type(rebuilt) is collections.defaultdict and rebuilt.default_factory is list and rebuilt == tree


def test_none_is_a_node_without_leaves() -> None:
    assert tu.tree_leaves([None, 1, (None,)]) == [1]
    treedef = tu.tree_structure(None)
    assert (treedef.num_leaves, treedef.num_nodes, treedef.children()) == (0, 1, [])
    assert tu.tree_map(lambda x: x + 1, [None, 1]) == [None, 2]
    assert tu.tree_unflatten(treedef, []) is None


def test_is_leaf_can_make_none_and_containers_leaves() -> None:
    assert tu.tree_leaves([None, 1], is_leaf=lambda x: x is None) == [None, 1]
    leaves, treedef = tu.tree_flatten([(1, 2), [3]], is_leaf=lambda x: type(x) is tuple)
    assert leaves == [(1, 2), 3]
    assert repr(treedef) == "PyTreeDef([*, [*]])"


def test_arrays_strings_and_unregistered_objects_are_leaves() -> None:
    class MyDict(dict):  # type: ignore[type-arg]
        pass

    tree = [np.arange(3), "text", MyDict(a=1), object]
    found = tu.tree_leaves(tree)
    assert len(found) == 4 and all(got is want for got, want in zip(found, tree))
    assert tu.tree_structure(tree).num_leaves == 4


def test_namedtuples_are_nodes_distinct_from_tuples() -> None:
    assert tu.tree_leaves(Point(1, (2, 3))) == [1, 2, 3]
    assert tu.tree_structure(Point(1, 2)) != tu.tree_structure((1, 2))
    assert tu.tree_map(lambda v: v * 2, Point(1, 2)) == Point(2, 4)


def test_tuples_and_lists_are_different_structures() -> None:
    assert tu.tree_structure((1, 2)) != tu.tree_structure([1, 2])
    assert tu.tree_structure((1, 2)) != tu.tree_structure((1, 2, 3))
    assert tu.tree_structure([]) != tu.tree_structure(None)


def test_treedefs_are_immutable_and_usable_as_dict_keys() -> None:
    treedef = tu.tree_structure({"a": (1, 2)})
    with pytest.raises(AttributeError):
        treedef._node = None  # type: ignore[misc]
    cache = {treedef: "hit"}
    assert cache[tu.tree_structure({"a": (3, 4)})] == "hit"
    assert treedef != "not a treedef"


def test_num_nodes_counts_containers_none_and_leaves() -> None:
    assert tu.tree_structure(((1, 2), {"w": 3, "b": None})).num_nodes == 7
    assert tu.tree_structure(5).num_nodes == 1


def test_treedef_unflatten_method_and_children() -> None:
    treedef = tu.tree_structure((1, [2, 3]))
    assert treedef.unflatten("xyz") == ("x", ["y", "z"])
    assert [repr(child) for child in treedef.children()] == ["PyTreeDef(*)", "PyTreeDef([*, *])"]


# --------------------------------------------------------------------------- errors


def test_unflatten_with_the_wrong_number_of_leaves_is_an_error() -> None:
    treedef = tu.tree_structure((1, 2))
    with pytest.raises(ValueError, match=r"PyTreeDef\(\(\*, \*\)\) has 2 leaves, but got 3"):
        tu.tree_unflatten(treedef, [1, 2, 3])
    with pytest.raises(ValueError, match="but got 1"):
        tu.tree_unflatten(treedef, [1])


def test_tree_map_names_both_structures_when_they_differ() -> None:
    with pytest.raises(ValueError) as info:
        tu.tree_map(lambda x, y: x + y, {"a": (1, 2)}, {"a": (1, 2, 3)})
    message = str(info.value)
    assert "PyTreeDef({'a': (*, *)})" in message
    assert "PyTreeDef({'a': (*, *, *)})" in message
    assert "['a']" in message and "length 2" in message


def test_tree_map_reports_different_dict_keys_and_node_types() -> None:
    with pytest.raises(ValueError, match="keys"):
        tu.tree_map(lambda x, y: x, {"a": 1}, {"b": 1})
    with pytest.raises(ValueError, match=r"at \[1\]: expected a list, got tuple"):
        tu.tree_map(lambda x, y: x, (1, [2]), (1, (2,)))
    with pytest.raises(ValueError, match="tree 3"):
        tu.tree_map(lambda x, y, z: x, [1], [1], [1, 2])


def test_tree_map_lets_later_trees_be_deeper() -> None:
    result = tu.tree_map(lambda x, y: (x, y), (1, 2), ([3], {"a": 4}))
    assert result == ((1, [3]), (2, {"a": 4}))


def test_flatten_up_to_requires_none_to_match_none() -> None:
    with pytest.raises(ValueError, match="expected None"):
        tu.tree_structure([None]).flatten_up_to([1])


# --------------------------------------------------------------------------- registration


def test_register_pytree_node_with_functions() -> None:
    class Interval:
        def __init__(self, lo: Any, hi: Any, closed: bool) -> None:
            self.lo, self.hi, self.closed = lo, hi, closed

    tu.register_pytree_node(
        Interval, lambda i: ((i.lo, i.hi), i.closed), lambda closed, children: Interval(*children, closed)
    )
    doubled = tu.tree_map(lambda x: 2 * x, [Interval(1, 2, True)])
    assert (doubled[0].lo, doubled[0].hi, doubled[0].closed) == (2, 4, True)
    assert tu.tree_structure(Interval(0, 0, True)) != tu.tree_structure(Interval(0, 0, False))


def test_registering_a_type_twice_is_an_error() -> None:
    with pytest.raises(ValueError, match="already registered"):
        tu.register_pytree_node(Box, lambda b: ((), None), lambda aux, c: Box(None, 0))
    with pytest.raises(ValueError, match="already registered"):
        tu.register_pytree_node(tuple, lambda t: (t, None), lambda aux, c: tuple(c))


def test_register_pytree_node_class_needs_both_methods() -> None:
    class Half:
        def tree_flatten(self) -> tuple[tuple[()], None]:
            return (), None

    with pytest.raises(TypeError, match="tree_unflatten"):
        tu.register_pytree_node_class(Half)


def test_register_dataclass_default_fields_are_all_data() -> None:
    assert tu.tree_leaves(Pair(1, [2, 3])) == [1, 2, 3]
    assert tu.tree_map(lambda x: x + 1, Pair(1, 2)) == Pair(2, 3)


def test_register_dataclass_with_meta_fields() -> None:
    @functools.partial(tu.register_dataclass, data_fields=["w"], meta_fields=["activation"])
    @dataclasses.dataclass(frozen=True)
    class Layer:
        w: Any
        activation: str

    assert tu.tree_leaves(Layer(1.0, "relu")) == [1.0]
    assert tu.tree_structure(Layer(1.0, "relu")) != tu.tree_structure(Layer(1.0, "tanh"))
    assert tu.tree_map(lambda x: x * 3, Layer(1.0, "relu")) == Layer(3.0, "relu")


def test_register_dataclass_reads_static_metadata() -> None:
    @tu.register_dataclass
    @dataclasses.dataclass
    class Config:
        rate: float
        name: str = dataclasses.field(default="sgd", metadata={"static": True})

    leaves, treedef = tu.tree_flatten(Config(0.1, "adam"))
    assert leaves == [0.1]
    assert tu.tree_unflatten(treedef, [0.2]) == Config(0.2, "adam")


def test_register_dataclass_rejects_bad_field_lists() -> None:
    @dataclasses.dataclass
    class Two:
        a: int
        b: int

    with pytest.raises(ValueError, match="exactly once"):
        tu.register_dataclass(Two, data_fields=["a"], meta_fields=[])
    with pytest.raises(TypeError, match="both"):
        tu.register_dataclass(Two, data_fields=["a", "b"])
    with pytest.raises(TypeError, match="not a dataclass"):
        tu.register_dataclass(int)


# --------------------------------------------------------------------------- helpers


def test_all_leaves() -> None:
    assert tu.all_leaves([1, "a", np.ones(2)])
    assert not tu.all_leaves([1, (2,)])
    assert not tu.all_leaves([None])
    assert tu.all_leaves([(1, 2)], is_leaf=lambda x: type(x) is tuple)


def test_tree_transpose_swaps_outer_and_inner_structure() -> None:
    outer, inner = tu.tree_structure([0, 0, 0]), tu.tree_structure((0, {"a": 0}))
    tree = [(1, {"a": 2}), (3, {"a": 4}), (5, {"a": 6})]
    assert tu.tree_transpose(outer, inner, tree) == ([1, 3, 5], {"a": [2, 4, 6]})
    with pytest.raises(ValueError):
        tu.tree_transpose(outer, inner, tree[:2])

"""fungrad.tree, key paths, keystr and Partial, against jax.tree / jax.tree_util where installed."""
from __future__ import annotations

import collections
import dataclasses
from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jax_oracle import load_jax
import fungrad
import fungrad.numpy as fnp
from fungrad import tree_util as tu


class Pt(NamedTuple):
    x: Any
    y: Any


@dataclasses.dataclass
class Layer:
    w: Any
    b: Any


tu.register_dataclass(Layer, data_fields=["w", "b"], meta_fields=[])

leaves = st.integers(-5, 5)
trees = st.recursive(
    leaves | st.none(),
    lambda kids: st.lists(kids, max_size=3) | st.tuples(kids, kids)
    | st.dictionaries(st.sampled_from("abc"), kids, max_size=3)
    | st.builds(Pt, kids, kids),
    max_leaves=8)


@given(trees)
def test_paths_agree_with_leaves_and_rebuild(tree: Any) -> None:
    pairs, treedef = tu.tree_flatten_with_path(tree)
    assert [leaf for _, leaf in pairs] == tu.tree_leaves(tree)
    assert treedef == tu.tree_structure(tree)
    # each path leads to its leaf
    for path, leaf in pairs:
        node = tree
        for key in path:
            node = (node[key.idx] if isinstance(key, tu.SequenceKey) else node[key.key]
                    if isinstance(key, tu.DictKey) else getattr(node, key.name))
        assert node == leaf
    doubled = tu.tree_map_with_path(lambda p, x: (len(p), x * 2), tree)
    assert tu.tree_leaves(doubled) == [v for p, x in pairs for v in (len(p), x * 2)]


@given(trees)
def test_paths_and_keystr_match_jax(tree: Any) -> None:
    jtu = load_jax().tree_util
    jtree = _to_jax(tree)
    ours = [(tu.keystr(p), tu.keystr(p, simple=True, separator="/"), x)
            for p, x in tu.tree_leaves_with_path(tree)]
    theirs = [(jtu.keystr(p), jtu.keystr(p, simple=True, separator="/"), x)
              for p, x in jtu.tree_leaves_with_path(jtree)]
    assert ours == theirs


_JaxPt: Any = None


def _to_jax(tree: Any) -> Any:
    """The same tree with ``Pt`` replaced by an identical namedtuple unknown to fungrad
    (JAX treats namedtuples alike, whatever their class)."""
    if isinstance(tree, Pt):
        return Pt(_to_jax(tree.x), _to_jax(tree.y))
    if isinstance(tree, (list, tuple)):
        return type(tree)(_to_jax(t) for t in tree)
    if isinstance(tree, dict):
        return {k: _to_jax(v) for k, v in tree.items()}
    return tree


def test_key_entries_of_every_node_kind_match_jax() -> None:
    jtu = load_jax().tree_util
    jax = load_jax()
    tree = {"od": collections.OrderedDict(b=1, a=2), "nt": Pt(3, [4]), "l": [5, (6,)]}
    ours = [(tu.keystr(p), x) for p, x in tu.tree_leaves_with_path(tree)]
    theirs = [(jtu.keystr(p), x) for p, x in jtu.tree_leaves_with_path(tree)]
    assert ours == theirs
    # dataclasses registered with field names, custom nodes by flat index
    jlayer = jax.tree_util.register_dataclass(
        dataclasses.dataclass(type("JLayer", (), {"__annotations__": {"w": Any, "b": Any}})),
        data_fields=["w", "b"], meta_fields=[])
    assert [tu.keystr(p) for p, _ in tu.tree_leaves_with_path(Layer(1, 2))] == \
        [jtu.keystr(p) for p, _ in jtu.tree_leaves_with_path(jlayer(1, 2))] == [".w", ".b"]
    assert str(tu.FlattenedIndexKey(0)) == str(jtu.FlattenedIndexKey(0))
    assert repr(tu.SequenceKey(1)) == repr(jtu.SequenceKey(1))
    assert repr(tu.DictKey("a")) == repr(jtu.DictKey("a"))
    assert repr(tu.GetAttrKey("w")) == repr(jtu.GetAttrKey("w"))


def test_tree_namespace_matches_jax_tree() -> None:
    jax = load_jax()
    t = {"a": [1, 2], "b": (3, {"c": 4})}
    for name in ["leaves", "structure", "flatten"]:
        ours, theirs = getattr(fungrad.tree, name)(t), getattr(jax.tree, name)(t)
        assert str(ours).replace("PyTreeDef", "") == str(theirs).replace("PyTreeDef", "")
    assert fungrad.tree.map(lambda x, y: x * y, t, t) == jax.tree.map(lambda x, y: x * y, t, t)
    assert fungrad.tree.reduce(lambda a, b: a * 10 + b, t) == \
        jax.tree.reduce(lambda a, b: a * 10 + b, t)
    assert fungrad.tree.reduce(max, [], 7) == jax.tree.reduce(max, [], 7)
    assert fungrad.tree.all(t) == jax.tree.all(t) and not fungrad.tree.all([1, 0])
    outer = [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
    assert fungrad.tree.transpose(fungrad.tree.structure([0, 0]), None, outer) == \
        jax.tree.transpose(jax.tree.structure([0, 0]), None, outer)
    assert fungrad.tree.unflatten(fungrad.tree.structure(t), range(4)) == \
        jax.tree.unflatten(jax.tree.structure(t), range(4))
    mp = fungrad.tree.map_with_path(lambda p, x: fungrad.tree_util.keystr(p), t)
    assert mp == jax.tree.map_with_path(lambda p, x: jax.tree_util.keystr(p), t)


def test_reduce_of_empty_tree_needs_initializer() -> None:
    with pytest.raises(TypeError, match="initializer"):
        fungrad.tree.reduce(max, [])


def test_register_pytree_with_keys() -> None:
    class Named:
        def __init__(self, w: Any) -> None:
            self.w = w
    tu.register_pytree_with_keys(Named, lambda n: ([(tu.GetAttrKey("w"), n.w)], None),
                                 lambda aux, ch: Named(*ch))
    (path, leaf), = tu.tree_leaves_with_path({"n": Named(2.0)})
    assert tu.keystr(path) == "['n'].w" and leaf == 2.0
    assert fungrad.tree.map(lambda x: x + 1, Named(1.0)).w == 2.0


def test_dict_aux_data_works_under_jit() -> None:
    class Cfg:
        def __init__(self, a: Any, opts: dict[str, Any]) -> None:
            self.a, self.opts = a, opts
    tu.register_pytree_node(Cfg, lambda c: ((c.a,), c.opts), lambda o, ch: Cfg(ch[0], o))
    f = fungrad.jit(lambda c: c.a * c.opts["scale"])
    np.testing.assert_allclose(f(Cfg(np.ones(2), {"scale": 3.0})), 3.0)
    np.testing.assert_allclose(f(Cfg(np.ones(2), {"scale": 3.0})), 3.0)
    assert f.cache_info().hits == 1
    np.testing.assert_allclose(f(Cfg(np.ones(2), {"scale": 5.0})), 5.0)  # new aux: retrace
    assert hash(tu.tree_structure(Cfg(1, {"x": [1]}))) == hash(tu.tree_structure(Cfg(2, {"x": [1]})))


def test_partial_is_a_pytree_through_jit_and_vmap() -> None:
    p = tu.Partial(lambda x, y, scale=1.0: (x + y) * scale, np.ones(3), scale=np.float64(2.0))
    assert len(tu.tree_leaves(p)) == 2
    out = fungrad.jit(lambda f, x: f(x))(p, np.arange(3.0))
    np.testing.assert_allclose(out, (np.arange(3.0) + 1) * 2)
    back = fungrad.jit(lambda y: tu.Partial(lambda a, b: a * b, y))(np.ones(2))
    assert isinstance(back, tu.Partial)
    np.testing.assert_allclose(back(np.full(2, 4.0)), 4.0)
    vm = fungrad.vmap(lambda f, x: f(x), in_axes=(0, 0))(tu.Partial(fnp.multiply, np.arange(3.0)),
                                                         np.ones(3))
    np.testing.assert_allclose(vm, np.arange(3.0))


def test_vjp_pullback_is_a_partial_returned_from_jit_and_make_jaxpr() -> None:
    def f(x: Any) -> Any:
        return fungrad.vjp(lambda x: fnp.sin(x) * x, x)

    x = np.array([0.1, 0.5, 2.0])
    y, pullback = fungrad.jit(f)(x)
    assert isinstance(pullback, tu.Partial)
    np.testing.assert_allclose(pullback(np.ones(3))[0], np.cos(x) * x + np.sin(x))
    assert fungrad.make_jaxpr(f)(x).eqns  # traces to a program returning the residuals
    eager_y, eager_pb = f(x)
    np.testing.assert_allclose(eager_pb(np.ones(3))[0], pullback(np.ones(3))[0])
    with pytest.raises(ValueError, match="shape"):
        pullback(np.ones(2))
    jax = load_jax()
    _, jpb = jax.jit(lambda x: jax.vjp(lambda x: jax.numpy.sin(x) * x, x))(x)
    np.testing.assert_allclose(pullback(np.ones(3))[0], jpb(np.ones(3))[0], rtol=1e-12)

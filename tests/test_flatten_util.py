from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fungrad.flatten_util import ravel_pytree
from fungrad.tree_util import tree_leaves, tree_structure

# Values every dtype below holds exactly, so a trip through the promoted dtype is lossless.
DTYPES = [np.bool_, np.int8, np.int32, np.int64, np.float32, np.float64, np.complex64]


@st.composite
def small_arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
    elements = st.booleans() if dtype == np.bool_ else st.integers(-100, 100)
    return draw(hnp.arrays(dtype, shape, elements=elements))


array_trees = st.recursive(
    small_arrays(),
    lambda children: st.lists(children, max_size=3).map(tuple)
    | st.dictionaries(st.sampled_from("abcd"), children, max_size=3),
    max_leaves=6,
)


def assert_same_leaves(actual: Any, expected: Any) -> None:
    assert tree_structure(actual) == tree_structure(expected)
    for got, want in zip(tree_leaves(actual), tree_leaves(expected)):
        got, want = np.asarray(got), np.asarray(want)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


@given(array_trees)
def test_ravel_concatenates_leaves_in_the_promoted_dtype(tree: Any) -> None:
    flat, _ = ravel_pytree(tree)
    flat = np.asarray(flat)
    leaves = tree_leaves(tree)
    assert flat.ndim == 1
    assert flat.shape[0] == sum(leaf.size for leaf in leaves)
    if leaves:
        promoted = np.result_type(*leaves)
        assert flat.dtype == promoted
        np.testing.assert_array_equal(flat, np.concatenate([leaf.astype(promoted).ravel() for leaf in leaves]))


@given(array_trees)
def test_unravel_restores_structure_shapes_and_dtypes(tree: Any) -> None:
    flat, unravel = ravel_pytree(tree)
    assert_same_leaves(unravel(flat), tree)


def test_mixed_dtypes_round_trip() -> None:
    tree = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3),
        "b": np.int32(7),
        "c": [np.linspace(0.0, 1.0, 4)],
        "d": np.array([True, False]),
    }
    flat, unravel = ravel_pytree(tree)
    flat = np.asarray(flat)
    assert flat.dtype == np.float64 and flat.shape == (13,)
    np.testing.assert_array_equal(flat[:7], [0, 1, 2, 3, 4, 5, 7])
    np.testing.assert_array_equal(flat[-2:], [1.0, 0.0])
    assert_same_leaves(unravel(flat), {**tree, "b": np.asarray(tree["b"])})


def test_unravel_of_an_updated_vector_updates_every_leaf() -> None:
    tree = (np.ones((2, 2)), {"x": np.full(3, 2.0)})
    flat, unravel = ravel_pytree(tree)
    doubled = unravel(np.asarray(flat) * 2)
    np.testing.assert_array_equal(np.asarray(doubled[0]), np.full((2, 2), 2.0))
    np.testing.assert_array_equal(np.asarray(doubled[1]["x"]), np.full(3, 4.0))


def test_python_scalars_become_zero_dimensional_leaves() -> None:
    flat, unravel = ravel_pytree({"x": 1.5, "n": 2})
    assert np.asarray(flat).dtype == np.float64
    restored = unravel(flat)
    assert np.asarray(restored["x"]).shape == () and np.asarray(restored["x"]) == 1.5
    assert np.asarray(restored["n"]).dtype == np.asarray(2).dtype


def test_empty_tree_gives_an_empty_vector() -> None:
    flat, unravel = ravel_pytree({"nothing": None, "empty": ()})
    assert np.asarray(flat).shape == (0,)
    assert unravel(flat) == {"nothing": None, "empty": ()}


def test_single_dtype_unravel_casts_back_to_the_leaf_dtype() -> None:
    flat, unravel = ravel_pytree([np.ones(2, np.float32)])
    restored = unravel(np.asarray(flat).astype(np.float64) / 2)
    assert np.asarray(restored[0]).dtype == np.float32
    np.testing.assert_array_equal(np.asarray(restored[0]), [0.5, 0.5])


def test_unravel_rejects_wrong_shape_and_wrong_dtype() -> None:
    _, unravel = ravel_pytree([np.ones(3), np.arange(2)])
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        unravel(np.zeros(4))
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        unravel(np.zeros((5, 1)))
    with pytest.raises(TypeError, match="float64"):
        unravel(np.zeros(5, np.float32))


def test_unravel_functions_compare_equal_for_equal_layouts() -> None:
    _, first = ravel_pytree({"w": np.ones((2, 3)), "b": np.zeros(3)})
    _, second = ravel_pytree({"w": np.zeros((2, 3)), "b": np.ones(3)})
    _, other = ravel_pytree({"w": np.ones((3, 2)), "b": np.zeros(3)})
    assert first == second and hash(first) == hash(second)
    assert first != other


numbers_and_arrays = st.recursive(
    small_arrays() | st.floats() | st.integers(-2 ** 63, 2 ** 63 - 1) | st.booleans(),
    lambda children: st.lists(children, min_size=1, max_size=3).map(tuple)
    | st.dictionaries(st.sampled_from("abcd"), children, min_size=1, max_size=3),
    max_leaves=6,
)


@given(numbers_and_arrays, st.booleans())
def test_numpy_shortcut_gives_what_fungrad_numpy_gives(tree: Any, as_array: bool) -> None:
    """Numbers and native numeric arrays are raveled and cut up by NumPy directly: the same
    values, dtypes, types (``Array``), memory shared with the input or not, writeability and
    warnings as fungrad.numpy's path (taken when the shortcut is switched off)."""
    import warnings

    from fungrad import flatten_util
    from fungrad.array_type import Array

    def run() -> tuple[Any, Any, list[Any]]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            flat, unravel = ravel_pytree(tree)
            vector = np.array(flat).view(Array) if as_array else np.array(flat)
            return flat, (unravel(flat), unravel(vector), vector), [w.category for w in caught]

    fast = run()
    original = flatten_util._direct
    flatten_util._direct = lambda x: False
    try:
        slow = run()
    finally:
        flatten_util._direct = original
    assert fast[2] == slow[2]
    pairs = [(fast[0], slow[0])]
    for got, want in zip(fast[1][:2], slow[1][:2]):
        assert tree_structure(got) == tree_structure(want)
        pairs += list(zip(tree_leaves(got), tree_leaves(want)))
    for got, want in pairs:
        assert type(got) is type(want) is Array
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes() and got.flags.writeable == want.flags.writeable
    for leaf in tree_leaves(tree):
        if isinstance(leaf, np.ndarray):
            assert np.shares_memory(fast[0], leaf) == np.shares_memory(slow[0], leaf)
    for got, want in zip(tree_leaves(fast[1][1]), tree_leaves(slow[1][1])):
        assert np.shares_memory(got, fast[1][2]) == np.shares_memory(want, slow[1][2])


class _Subclass(np.ndarray):
    """A user's ndarray subclass: ravel_pytree takes its general path."""


@pytest.mark.parametrize("leaf", [np.arange(3.0), np.arange(3, dtype=">f8"),
                                  np.arange(3.0).view(_Subclass)])
@pytest.mark.parametrize("wrap", [lambda v: v, lambda v: {"a": v}, lambda v: [v]])
def test_the_flat_vector_shares_no_memory_with_a_leaf(leaf, wrap):
    leaf = leaf.copy()                   # (this case's own, as it is edited below)
    flat, unravel = ravel_pytree(wrap(leaf))
    assert not np.shares_memory(flat, leaf)
    before = np.array(flat)
    leaf[...] = 7.0                      # a later edit of the user's array leaves the vector be
    np.testing.assert_array_equal(flat, before)

"""Typed PRNG keys (``fungrad.random.key``): every sampler gives the bits it gives for the raw
``uint32[2]`` key, eagerly, under ``jit`` and over a batch under ``vmap``, and the bits
``jax.random`` gives for its own typed keys; the key array's shape, dtype, indexing, pytree
behaviour and errors."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from jax_oracle import load_jax
from test_surface_random import CASES

import fungrad
import fungrad.numpy as fnp
import fungrad.random as fr
from fungrad.dtypes import extended, prng_key

SEEDS = [0, 7, 2 ** 40 + 3]


def _raw(x: Any) -> Any:
    """Typed keys as their data; anything else as it is."""
    return fr.key_data(x) if isinstance(x, fr.KeyArray) else x


@pytest.mark.parametrize("name,program,exact", CASES, ids=[c[0] for c in CASES])
def test_typed_keys_give_the_raw_keys_bits(name: str, program: Any, exact: bool) -> None:
    typed_out = program(fr, fr.key(SEEDS[1]))
    assert isinstance(typed_out, fr.KeyArray) == (name in ("split", "split_shape", "fold_in"))
    np.testing.assert_array_equal(_raw(typed_out), program(fr, fr.PRNGKey(SEEDS[1])))
    batch = fr.split(fr.key(SEEDS[2]), 3)
    batched = fungrad.jit(fungrad.vmap(lambda k: _raw(program(fr, k))))(batch)
    expected = np.stack([program(fr, k) for k in fr.key_data(batch)])
    np.testing.assert_array_equal(batched, expected)


TYPED_JAX_CASES = [c for c in CASES if c[0] in (
    "split", "split_shape", "fold_in", "bits", "uniform", "normal", "randint", "permutation",
    "choice_no_replace", "categorical")]


@pytest.mark.parametrize("name,program,exact", TYPED_JAX_CASES,
                         ids=[c[0] for c in TYPED_JAX_CASES])
def test_typed_keys_match_jax_typed_keys(name: str, program: Any, exact: bool) -> None:
    jax = load_jax()
    theirs_keys = jax.random.split(jax.random.key(SEEDS[0]), 3)
    theirs = jax.vmap(lambda k: program(jax.random, k))(theirs_keys)
    if jax.dtypes.issubdtype(theirs.dtype, jax.dtypes.prng_key):
        theirs = jax.random.key_data(theirs)
    ours = fungrad.vmap(lambda k: _raw(program(fr, k)))(fr.split(fr.key(SEEDS[0]), 3))
    if exact:
        np.testing.assert_array_equal(ours, np.asarray(theirs))
    else:
        np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-12, atol=1e-12)


def test_scan_carries_a_typed_key_like_jax() -> None:
    jax = load_jax()

    def body(R: Any, lax: Any) -> Any:
        def step(k: Any, _: Any) -> Any:
            k, sub = R.split(k)
            return k, R.normal(sub, (2,))
        return step

    k, xs = fungrad.jit(lambda k: fungrad.lax.scan(body(fr, fungrad.lax), k, None, length=4))(
        fr.key(3))
    jk, jxs = jax.lax.scan(body(jax.random, jax.lax), jax.random.key(3), None, length=4)
    assert isinstance(k, fr.KeyArray)
    np.testing.assert_array_equal(fr.key_data(k), jax.random.key_data(jk))
    np.testing.assert_allclose(xs, jxs, rtol=1e-12)


def test_key_array_surface() -> None:
    jax = load_jax()
    k = fr.key(5)
    assert k.shape == () and k.ndim == 0 and k.size == 1
    assert str(k.dtype) == str(jax.random.key(5).dtype) == "key<fry>"
    assert fnp.issubdtype(k.dtype, prng_key) and fnp.issubdtype(k.dtype, extended)
    assert not fnp.issubdtype(k.dtype, np.integer) and not fnp.issubdtype(np.uint32, prng_key)
    assert fr.key_impl(k) == fr.key_impl(fr.PRNGKey(5)) == str(jax.random.key_impl(jax.random.key(5)))
    np.testing.assert_array_equal(fr.key_data(fr.wrap_key_data(fr.PRNGKey(5))), fr.PRNGKey(5))
    ks = fr.split(k, 4)
    assert ks.shape == (4,) and len(ks) == 4 and ks.reshape(2, 2).shape == (2, 2)
    np.testing.assert_array_equal(fr.key_data(ks[1:3]), fr.key_data(ks)[1:3])
    np.testing.assert_array_equal(fr.key_data(ks[..., 2]), fr.key_data(ks)[2])
    first, *rest = ks
    assert first.shape == () and len(rest) == 3
    np.testing.assert_array_equal(ks == ks[0], [True, False, False, False])
    # the pytree leaf is the data, so a typed key is a valid jit output and vmap input
    assert [leaf.shape for leaf in fungrad.tree_util.tree_leaves(ks)] == [(4, 2)]
    assert "overlaying" in repr(k)


def test_typed_key_errors_say_what_to_do() -> None:
    with pytest.raises(TypeError, match="key_data"):
        np.asarray(fr.key(0))
    with pytest.raises(TypeError, match=r"key array of shape \(2,\).*use fungrad.vmap"):
        fr.normal(fr.split(fr.key(0), 2), (3,))
    with pytest.raises(TypeError, match="scalar"):
        fr.key(np.array([1, 2]))
    with pytest.raises(NotImplementedError, match="threefry2x32"):
        fr.key(0, impl="rbg")
    with pytest.raises(TypeError, match="uint32"):
        fr.wrap_key_data(np.array([1, 2], np.int64))
    with pytest.raises(TypeError, match="already a typed key"):
        fr.wrap_key_data(fr.key(0))

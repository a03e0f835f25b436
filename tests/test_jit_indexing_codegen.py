"""jit's statements for gather and scatter-add: NumPy indexing, ``+=`` on provably unique indices,
``np.add.at`` otherwise. Each agrees with eager evaluation and with the generic statement (a call
of the primitive's impl), values and gradients, out-of-bounds and repeated indices included."""
import contextlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import fungrad
import fungrad.numpy as fnp
from fungrad import lax, nn
from fungrad.compiler.codegen import codegen_rules
from fungrad.lax.indexing import gather_p, scatter_add_p


@contextlib.contextmanager
def generic_statements():
    """Compile gather and scatter-add as calls of their impls (the generic path)."""
    saved = {p: codegen_rules.pop(p) for p in (gather_p, scatter_add_p)}
    try:
        yield
    finally:
        codegen_rules.update(saved)


def three_ways(f, *args):
    """``f(*args)`` eagerly, jitted with these rules, and jitted generically."""
    eager = f(*args)
    jitted = fungrad.jit(f)
    first, fast = jitted(*args), jitted(*args)   # a second call sees the same constants
    assert_all_close([first, fast])
    with generic_statements():
        generic = fungrad.jit(lambda *a: f(*a))(*args)
    return eager, fast, generic


def assert_all_close(results):
    eager, *others = results
    for other in others:
        for a, b in zip(fungrad.tree_util.tree_leaves(eager), fungrad.tree_util.tree_leaves(other)):
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


@st.composite
def logits_and_labels(draw, out_of_bounds=True):
    """Logits (B, C) and labels, repeats always possible, out-of-range ones sometimes."""
    b, c = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    lo, hi = (-2 * c, 2 * c) if out_of_bounds and draw(st.booleans()) else (-c, c - 1)
    y = np.array(draw(st.lists(st.integers(lo, hi), min_size=b, max_size=b)))
    z = np.random.default_rng(draw(st.integers(0, 99))).normal(size=(b, c))
    return z, y


def take_along_loss(z, y):
    return -fnp.mean(fnp.take_along_axis(nn.log_softmax(z), y[:, None], axis=1))


def arange_loss(z, y):
    return -fnp.mean(nn.log_softmax(z)[fnp.arange(z.shape[0]), y])


def one_hot_loss(z, y):
    return -fnp.mean(fnp.sum(nn.log_softmax(z) * nn.one_hot(y, z.shape[1]), axis=1))


@given(logits_and_labels(out_of_bounds=False), st.sampled_from([take_along_loss, arange_loss]))
def test_indexed_losses_value_and_grad(case, loss):
    z, y = case
    results = three_ways(fungrad.value_and_grad(loss), z, y)
    assert_all_close(results)
    n = z.shape[1]   # the one-hot form is the closed form
    assert_all_close([fungrad.value_and_grad(one_hot_loss)(z, np.where(y < 0, y + n, y)),
                      results[1]])


@given(logits_and_labels(), st.sampled_from(["clip", "fill"]))
def test_gather_out_of_bounds_labels(case, mode):
    """Traced out-of-range indices leave NumPy's indexing for the impl's clamping or filling."""
    z, y = case
    f = lambda z, y: lax.gather(z, (np.arange(z.shape[0]), y), mode=mode, fill_value=-1.0)
    results = three_ways(f, z, y)
    assert_all_close(results)
    n = z.shape[1]
    wrapped = np.where(y < 0, y + n, y)
    picked = z[np.arange(z.shape[0]), np.clip(wrapped, 0, n - 1)]
    want = picked if mode == "clip" else np.where((wrapped >= 0) & (wrapped < n), picked, -1.0)
    np.testing.assert_allclose(results[1], want)
    grads = three_ways(fungrad.grad(lambda z, y: fnp.sum(f(z, y) ** 2)), z, y)
    assert_all_close(grads)


@given(logits_and_labels(), st.sampled_from(["drop", "clip"]))
def test_scatter_add_repeated_and_out_of_bounds_indices(case, oob):
    x, i = case
    u = np.arange(1.0, 1.0 + i.size)
    f = lambda x, u, i: lax.scatter(x[0], (i,), u, mode="add", oob=oob)
    results = three_ways(f, x, u, i)
    assert_all_close(results)
    n = x.shape[1]
    want = x[0].copy()
    ok = (i >= -n) & (i < n) if oob == "drop" else np.ones(i.shape, bool)
    np.add.at(want, np.clip(np.where(i < 0, i + n, i), 0, n - 1)[ok], u[ok])
    np.testing.assert_allclose(results[1], want)


@given(logits_and_labels(out_of_bounds=False))
def test_constant_indices_pick_add_at_or_plus_equals(case):
    """A constant index with repeats must accumulate (``np.add.at``); a unique one may use ``+=``."""
    x, i = case
    n = x.shape[1]
    for idx in (i, np.arange(n) - n):   # as drawn (repeats possible); unique and negative
        u = np.arange(1.0, 1.0 + idx.size)
        rows = np.arange(idx.size) % x.shape[0]
        f = lambda x, u: lax.scatter(x, (rows, idx), u, mode="add")
        assert_all_close(three_ways(f, x, u))
        g = lambda x, u: lax.scatter(x[0], (idx,), u, mode="add")
        results = three_ways(g, x, u)
        want = x[0].copy()
        np.add.at(want, idx, u)
        np.testing.assert_allclose(results[1], want)
        source = fungrad.jit(g).lower(x, u).source
        unique = len(set((idx % n).tolist())) == idx.size
        assert ("+=" in source) == unique, source


@given(st.integers(1, 4), st.integers(1, 4), st.lists(st.integers(-8, 7), min_size=1, max_size=5))
def test_gather_mixed_with_slices_and_ints(rows, cols, idx):
    x = np.random.default_rng(rows * 10 + cols).normal(size=(rows, 3, cols))
    i = np.array(idx)
    f = lambda x, i: (fnp.sum(lax.gather(x, (slice(None), slice(1, None), i)) ** 2),
                      fnp.sum(lax.gather(x, (i, -1)) * 3.0))
    assert_all_close(three_ways(f, x, i))
    assert_all_close(three_ways(fungrad.grad(lambda x, i: sum(f(x, i))), x, i))


def test_indexed_loss_compiles_to_plain_indexing():
    """The backward pass of a picked log-probability: new zeros with the constant ``-1/B``
    assigned at the labels (no copy, no broadcast of the constant, no accumulation), and the
    row sums of that, which log_softmax's backward needs, known at compile time."""
    z, y = np.zeros((4, 3)), np.array([0, 2, 2, 1])
    source = fungrad.jit(fungrad.value_and_grad(arange_loss)).lower(z, y).source
    assert "] = " in source and "] += " not in source and "copy()" not in source, source
    assert "try:" in source and "except IndexError:" in source
    lowered = fungrad.jit(fungrad.value_and_grad(arange_loss)).lower(z, y)
    prims = [e.primitive.name for e in lowered.jaxpr.eqns]
    assert prims.count("reduce_sum") == 2 and "broadcast_in_dim" not in prims, prims


def closed_form_scatter(base, rows, cols, c, oob):
    """``base`` with ``c`` added at each (row, col) pair, as NumPy's ``add.at`` does after
    wrapping negative indices and then clamping (``clip``) or dropping (``drop``) the others."""
    out = base.copy()
    rows, cols = np.broadcast_arrays(rows, cols)
    wrap = [np.where(i < 0, i + n, i) for i, n in zip((rows, cols), base.shape)]
    if oob == "clip":
        wrap = [np.clip(i, 0, n - 1) for i, n in zip(wrap, base.shape)]
        ok = np.ones(rows.shape, bool)
    else:
        ok = np.all([(i >= 0) & (i < n) for i, n in zip(wrap, base.shape)], axis=0)
    np.add.at(out, (wrap[0][ok], wrap[1][ok]), c)
    return out


@settings(max_examples=80)
@given(st.integers(1, 5), st.integers(1, 4), st.data(),
       st.sampled_from([-0.0, 0.0, -0.125, 3.0, np.inf, np.nan]),
       st.sampled_from(["clip", "drop"]), st.booleans(), st.sampled_from([0, 1]))
def test_constant_scatter_into_zeros_and_its_sums(b, c, data, value, oob, zero_base, kept):
    """``zeros.at[rows, labels].add(value)`` with constant ``rows`` (repeats and negatives
    possible) and traced ``labels`` (out of range possible), and its sum over all axes but
    ``kept``: what jit's shortcuts (assignment into new zeros, the sum known at compile time)
    give equals eager evaluation, the generic statements and the closed form, to the sign of
    zero."""
    if data.draw(st.booleans()):   # distinct rows, some counted from the end
        rows = np.array(data.draw(st.lists(st.integers(0, b - 1), min_size=1, unique=True)))
        rows -= b * np.array(data.draw(st.lists(st.booleans(), min_size=rows.size,
                                                max_size=rows.size)))
    else:
        rows = np.array(data.draw(st.lists(st.integers(-b, b - 1), min_size=1, max_size=2 * b)))
    labels = np.array(data.draw(st.lists(st.integers(-2 * c, 2 * c), min_size=rows.size,
                                         max_size=rows.size)))
    base = np.zeros((b, c)) if zero_base else np.arange(b * c, dtype=float).reshape(b, c)

    def f(w, labels):
        picked = lax.scatter(fnp.asarray(base), (rows, labels), fnp.full(rows.shape, value),
                             mode="add", oob=oob)
        return picked, fnp.sum(picked, axis=1 - kept) * w

    w = np.ones(base.shape[kept])
    want = closed_form_scatter(base, rows, labels, value, oob)
    for scattered, summed in three_ways(f, w, labels):
        np.testing.assert_array_equal(scattered, want)
        np.testing.assert_array_equal(np.signbit(scattered), np.signbit(want))
        np.testing.assert_array_equal(summed, want.sum(axis=1 - kept))
        np.testing.assert_array_equal(np.signbit(summed), np.signbit(want.sum(axis=1 - kept)))


@given(logits_and_labels(out_of_bounds=False), st.sampled_from(["take_along_axis", "arange"]))
def test_indexed_losses_match_jax(case, form):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    z, y = case
    loss = {"take_along_axis": take_along_loss, "arange": arange_loss}[form]
    jnp, jnn = jax.numpy, jax.nn
    jax_loss = {
        "take_along_axis": lambda z, y: -jnp.mean(jnp.take_along_axis(jnn.log_softmax(z), y[:, None], axis=1)),
        "arange": lambda z, y: -jnp.mean(jnn.log_softmax(z)[jnp.arange(z.shape[0]), y]),
    }[form]
    assert_all_close([jax.jit(jax.value_and_grad(jax_loss))(z, y),
                      fungrad.jit(fungrad.value_and_grad(loss))(z, y)])

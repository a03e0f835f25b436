"""``fungrad.Array``: what every transform and ``fungrad.numpy`` function returns, a NumPy array
with JAX's ``.at`` and ``block_until_ready``; tracers count as Arrays; a scalar result is a 0-d
Array in every position of a tuple, as in JAX; inside, the engine computes on plain ndarrays."""
import io
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fungrad
import fungrad.numpy as fnp
import fungrad.random
import fungrad.scipy.linalg
import fungrad.scipy.special
import fungrad.scipy.stats
from fungrad import Array
from fungrad.core import concrete_or_none


def _jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


def is_result(x, shape=None, dtype=None):
    """A concrete fungrad result: exactly an Array, never a NumPy scalar or a plain ndarray."""
    assert type(x) is Array, type(x)
    if shape is not None:
        assert x.shape == shape
    if dtype is not None:
        assert x.dtype == dtype
    return True


def leaves(tree):
    return fungrad.tree_util.tree_leaves(tree)


# ---------------------------------------------------------------- every transform returns Arrays
f_scalar = lambda x, y: fnp.sum(fnp.sin(x) * y)  # noqa: E731
X, Y = np.array([0.5, 1.0, 2.0]), np.array([1.0, -2.0, 0.25])

TRANSFORMS = {
    "grad": lambda: fungrad.grad(f_scalar)(X, Y),
    "grad argnums": lambda: fungrad.grad(f_scalar, argnums=(0, 1))(X, Y),
    "value_and_grad": lambda: fungrad.value_and_grad(f_scalar)(X, Y),
    "value_and_grad aux": lambda: fungrad.value_and_grad(
        lambda x: (fnp.sum(x ** 2), {"m": fnp.max(x), "n": x * 2}), has_aux=True)(X),
    "vjp": lambda: (lambda o, pb: (o, pb(np.ones(3))))(*fungrad.vjp(fnp.sin, X)),
    "jvp": lambda: fungrad.jvp(fnp.sin, (X,), (Y,)),
    "jvp scalar": lambda: fungrad.jvp(lambda a: a * a, (2.0,), (1.0,)),
    "linearize": lambda: (lambda o, fj: (o, fj(Y)))(*fungrad.linearize(fnp.exp, X)),
    "linear_transpose": lambda: fungrad.linear_transpose(lambda x: 2.0 * x, X)(Y),
    "jit": lambda: fungrad.jit(lambda x, y: (x * y, fnp.sum(x), 3.0 * fnp.max(y)))(X, Y),
    "jit of a Python float": lambda: fungrad.jit(lambda a: a * 2.0)(1.5),
    "jit(grad)": lambda: fungrad.jit(fungrad.grad(f_scalar, argnums=(0, 1)))(X, Y),
    "vmap": lambda: fungrad.vmap(lambda x: (fnp.sum(x), x * 2))(np.ones((4, 3))),
    "vmap out_axes None": lambda: fungrad.vmap(lambda x: 3.0, in_axes=None, axis_size=2,
                                               out_axes=None)(1.0),
    "jacfwd": lambda: fungrad.jacfwd(fnp.sin)(X),
    "jacrev": lambda: fungrad.jacrev(fnp.sin)(X),
    "hessian": lambda: fungrad.hessian(lambda x: fnp.sum(x ** 3))(X),
    "hvp": lambda: fungrad.hvp(lambda x: fnp.sum(x ** 3), (X,), (Y,)),
    "grad of grad": lambda: fungrad.grad(fungrad.grad(fnp.sin))(0.3),
}


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_transforms_return_arrays(name):
    out = TRANSFORMS[name]()
    assert leaves(out)
    for leaf in leaves(out):
        assert is_result(leaf)


TRACER_TRANSFORMS = {
    "grad": lambda f: fungrad.grad(f)(X),
    "jvp": lambda f: fungrad.jvp(f, (X,), (Y,)),
    "vjp": lambda f: fungrad.vjp(f, X),
    "vmap": lambda f: fungrad.vmap(f)(np.ones((2, 3))),
    "jit": lambda f: fungrad.jit(f)(X),
    "make_jaxpr": lambda f: fungrad.make_jaxpr(f)(X),
    "jit(grad)": lambda f: fungrad.jit(fungrad.grad(f))(X),
}


@pytest.mark.parametrize("name", list(TRACER_TRANSFORMS))
def test_tracers_are_arrays(name):
    seen = []

    def f(x):
        seen.append(isinstance(x, fungrad.Array) and isinstance(x, fnp.ndarray))
        return fnp.sum(x * x)

    TRACER_TRANSFORMS[name](f)
    assert seen and all(seen)


def test_plain_ndarrays_and_other_values_are_not_arrays():
    # As in JAX: a NumPy array is not a jax.Array.
    assert not isinstance(np.ones(3), Array) and not isinstance(2.0, Array)
    assert not isinstance(np.float64(2.0), Array) and issubclass(Array, np.ndarray)


# ---------------------------------------------------------------- scalars: 0-d Arrays, like JAX
SCALAR_CASES = {
    "grad argnums": (lambda m: m.grad(lambda x, y: x * y, argnums=(0, 1)),
                     (2.0, np.float64(3.0))),
    "value_and_grad": (lambda m: m.value_and_grad(lambda x: x ** 2), (3.0,)),
    "jvp": (lambda m: lambda x: m.jvp(lambda a: a * a, (x,), (1.0,)), (2.0,)),
    "vjp": (lambda m: lambda x: (lambda o, pb: (o, *pb(1.0)))(*m.vjp(lambda a: a * a, x)),
            (2.0,)),
    "jit": (lambda m: m.jit(lambda x, y: (x * y, x + 1.0)), (2.0, 3.0)),
    "jit float32": (lambda m: m.jit(lambda x: (x * 2.0, x.sum())), (np.float32(2.0),)),
    "grad float32": (lambda m: m.grad(lambda x: x * 2.0), (np.float32(1.0),)),
    "vmap": (lambda m: m.vmap(lambda x: (x.sum(), x.max()), in_axes=1),
             (np.ones((2, 3)),)),
}


@pytest.mark.parametrize("name", list(SCALAR_CASES))
def test_scalar_results_are_0d_arrays_in_every_position_as_in_jax(name):
    make, args = SCALAR_CASES[name]
    ours = leaves(make(fungrad)(*args))
    for leaf in ours:
        assert is_result(leaf)
    jax = _jax()
    theirs = leaves(make(jax)(*args))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert isinstance(b, jax.Array) and a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-14)


def test_a_0d_array_works_where_a_scalar_did():
    g = fungrad.grad(lambda x: x * x)(1.5)
    assert is_result(g, (), np.float64)
    assert float(g) == 3.0 and g.item() == 3.0 and isinstance(g.item(), float)
    assert f"{g:.2f}" == "3.00" and f"{g}" == "3.0" and str(g) == "3.0"
    assert g == 3.0 and bool(g == 3.0) and g > 2 and np.isclose(g, 3.0)
    assert int(g) == 3 and complex(g) == 3 + 0j and round(float(g)) == 3
    assert repr(g) == "array(3.)" and repr(fnp.arange(2.0)) == "array([0., 1.])"
    assert [1, 2, 3, 4][fungrad.jit(lambda i: i + 1)(np.int64(2))] == 4   # __index__
    np.testing.assert_allclose(g, 3.0)
    assert type(g + 1.0) is Array and type(g * g) is Array  # NumPy keeps the subclass


# ---------------------------------------------------------------- fungrad.numpy function families
shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
dtypes = st.sampled_from([np.float64, np.float32, np.int64])


def arrays(dtype=dtypes, shape=shapes):
    return hnp.arrays(dtype, shape, elements=st.integers(-3, 3))


FAMILIES = {  # name: (fungrad.numpy call, the NumPy call that gives the same values)
    "sin": (lambda m, a: m.sin(a), None),
    "add": (lambda m, a: m.add(a, a), None),
    "multiply scalar": (lambda m, a: m.multiply(a, 2), None),
    "maximum": (lambda m, a: m.maximum(a, 0), None),
    "sum": (lambda m, a: m.sum(a), None),
    "mean axis": (lambda m, a: m.mean(a, axis=0), None),
    "max": (lambda m, a: m.max(a), None),
    "argmax": (lambda m, a: m.argmax(a), None),
    "cumsum": (lambda m, a: m.cumsum(a), None),
    "reshape": (lambda m, a: m.reshape(a, (-1,)), None),
    "transpose": (lambda m, a: m.transpose(a), None),
    "concatenate": (lambda m, a: m.concatenate([a, a]), None),
    "stack": (lambda m, a: m.stack([a, a]), None),
    "split": (lambda m, a: m.split(m.concatenate([a, a]), 2), None),
    "where": (lambda m, a: m.where(a > 0, a, 0), None),
    "take": (lambda m, a: m.take(a, [0, 0]), None),
    "nonzero": (lambda m, a: m.nonzero(a), None),
    "sort": (lambda m, a: m.sort(a), None),
    "argsort": (lambda m, a: m.argsort(a, kind="stable"), None),
    "dot": (lambda m, a: m.dot(m.ravel(a), m.ravel(a)), None),
    "einsum": (lambda m, a: m.einsum("i,i->", m.ravel(a), m.ravel(a)), None),
    "zeros_like": (lambda m, a: m.zeros_like(a), None),
    "ones": (lambda m, a: m.ones(a.shape, a.dtype), None),
    "full": (lambda m, a: m.full(a.shape, 2, a.dtype), None),
    "arange": (lambda m, a: m.arange(a.size), None),
    "linspace": (lambda m, a: m.linspace(0.0, 1.0, a.size), None),
    "eye": (lambda m, a: m.eye(a.shape[0]), None),
    "array": (lambda m, a: m.array(a), None),
    "asarray": (lambda m, a: m.asarray(a), None),
    "astype": (lambda m, a: m.astype(a, np.float32), lambda a: a.astype(np.float32)),
    "allclose-style": (lambda m, a: m.isclose(a, a), None),
    "array_equal": (lambda m, a: m.array_equal(a, a), None),
    "linalg.norm": (lambda m, a: m.linalg.norm(m.astype(a, float)), None),
    "linalg.det": (lambda m, a: m.linalg.det(m.eye(2) * 2.0), None),
    "linalg.eigh": (lambda m, a: m.linalg.eigh(m.eye(2) * 3.0), None),
    "linalg.slogdet": (lambda m, a: m.linalg.slogdet(m.eye(2) * 3.0), None),
}


@pytest.mark.parametrize("name", list(FAMILIES))
@given(a=arrays())
def test_numpy_functions_return_arrays_with_numpys_values_and_dtypes(name, a):
    ours_fn, numpy_fn = FAMILIES[name]
    ours = ours_fn(fnp, a)
    want = numpy_fn(a) if numpy_fn is not None else ours_fn(np, a)
    assert isinstance(ours, (tuple, list)) == isinstance(want, (tuple, list))
    for x, w in zip(leaves(ours) if isinstance(ours, (tuple, list)) else [ours],
                    leaves(tuple(want)) if isinstance(want, (tuple, list)) else [want]):
        assert is_result(x, np.shape(w), np.asarray(w).dtype)
        np.testing.assert_allclose(x, w, rtol=1e-6)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_numpy_functions_give_tracers_inside_transforms(name):
    ours_fn = FAMILIES[name][0]
    seen = []

    def f(x):
        out = ours_fn(fnp, x)
        seen.extend(isinstance(o, Array) for o in leaves(out))
        return fnp.sum(x)

    if name != "nonzero":   # (its shape depends on the values: not under jit)
        fungrad.jit(f)(np.arange(1.0, 5.0))
    fungrad.grad(f)(np.arange(1.0, 5.0))
    assert seen and all(seen)


# ---------------------------------------------------------------- x.at on results, against JAX
INDICES = [0, -1, (slice(1, None),), np.array([0, 0, 1]), np.array([0, 7]), (Ellipsis, 0),
           np.array([True, False, True, False])]
OPS = [("set", 5.0), ("add", 2.0), ("multiply", 3.0), ("mul", 3.0), ("min", 0.5),
       ("max", 2.5), ("divide", 4.0), ("power", 2.0), ("subtract", 1.5)]


@pytest.mark.parametrize("index", INDICES, ids=repr)
@pytest.mark.parametrize("op,value", OPS, ids=[o for o, _ in OPS])
def test_at_on_results_matches_jax_and_never_edits(op, value, index):
    jax = _jax()
    x = fnp.arange(1.0, 5.0)
    before = np.array(x)
    ours = getattr(x.at[index], op)(value)
    theirs = getattr(jax.numpy.arange(1.0, 5.0).at[index], op)(value)
    assert is_result(ours, theirs.shape, theirs.dtype)
    np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-14)
    np.testing.assert_array_equal(x, before)   # functional: x itself never changes
    assert not np.shares_memory(ours, x)


@given(a=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=5),
                    elements=st.floats(-4, 4)),
       data=st.data())
def test_at_get_apply_and_updates_against_numpy(a, data):
    x = fungrad.jit(lambda v: v * 1.0)(a)
    i = data.draw(st.integers(-a.shape[0], a.shape[0] - 1))
    expect = a.copy()
    expect[i] = np.sin(expect[i])
    np.testing.assert_allclose(x.at[i].apply(np.sin), expect)
    np.testing.assert_allclose(x.at[i].get(), a[i])
    dup = np.array([i, i])
    added = x.at[dup].add(1.0)     # repeated indices accumulate (a scatter-add)
    expect = a.copy()
    np.add.at(expect, dup, 1.0)
    np.testing.assert_allclose(added, expect)
    np.testing.assert_array_equal(x, a)
    assert is_result(x.at[i].get()) and is_result(added)


def test_at_get_fill_and_traced_values_match_jax():
    jax = _jax()
    x = fnp.arange(4.0)
    assert float(x.at[np.array([9])].get(mode="fill", fill_value=-1.0)[0]) == float(
        jax.numpy.arange(4.0).at[np.array([9])].get(mode="fill", fill_value=-1.0)[0])
    # a concrete Array updated with a traced value, under grad: d/dv sum(x.at[1].set(v)**2)
    g = fungrad.grad(lambda v: fnp.sum(x.at[1].set(v) ** 2))(3.0)
    assert is_result(g) and float(g) == 6.0
    np.testing.assert_array_equal(fnp.at(np.zeros(2))[0].set(1.0), [1.0, 0.0])


def test_block_until_ready():
    x = fungrad.jit(lambda a: a + 1.0)(np.ones(2))
    assert x.block_until_ready() is x
    tree = {"a": x, "b": (fnp.zeros(1),)}
    assert fungrad.block_until_ready(tree) is tree


# ---------------------------------------------------------------- NumPy interoperability, aliasing
def test_numpy_interoperability():
    x = fnp.linspace(0.0, 1.0, 5)
    y = pickle.loads(pickle.dumps(x))
    assert is_result(y) and np.array_equal(y, x)
    buf = io.BytesIO()
    np.save(buf, x)
    buf.seek(0)
    np.testing.assert_array_equal(np.load(buf), x)
    scipy = pytest.importorskip("scipy.linalg")
    assert scipy.norm(x) == np.linalg.norm(np.asarray(x))
    assert type(np.asarray(x)) is np.ndarray and np.shares_memory(np.asarray(x), x)
    assert x.flags.writeable and x.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert is_result(pickle.loads(pickle.dumps(fungrad.grad(lambda a: a * a)(2.0))), ())


@pytest.mark.parametrize("transform", [
    lambda a: fungrad.jit(lambda x: x)(a),
    lambda a: fungrad.vmap(lambda x: x)(a),
    lambda a: fungrad.jvp(lambda x: x, (a,), (a,))[0],
    lambda a: fungrad.jvp(lambda x: x, (a,), (a,))[1],
    lambda a: fungrad.vjp(lambda x: x, a)[0],
    lambda a: fungrad.vjp(lambda x: x, a)[1](a)[0],
    lambda a: fungrad.value_and_grad(lambda x: (x.sum(), x), has_aux=True)(a)[0][1],
    lambda a: fnp.array(a),
], ids=["jit", "vmap", "jvp out", "jvp tangent", "vjp out", "pullback", "aux", "array"])
@pytest.mark.parametrize("kind", ["ndarray", "Array"])
def test_results_never_alias_inputs(transform, kind):
    a = np.arange(3.0) if kind == "ndarray" else fnp.arange(3.0)
    out = transform(a)
    assert is_result(out) and out is not a and not np.shares_memory(out, a)


def test_array_inputs_reach_the_engine_as_plain_ndarrays():
    x = fnp.arange(3.0)
    seen = []

    def f(v):
        seen.append(type(concrete_or_none(v)))
        return fnp.sum(v * v)

    fungrad.grad(f)(x)
    fungrad.vjp(f, x)
    assert seen == [np.ndarray, np.ndarray]
    # jit: the compiled code is called with plain arrays (first call and fast path alike)
    got = []
    g = fungrad.jit(lambda v: v * 2.0)
    g(x)
    (entry,) = g._cache.values()          # (white box: record what the compiled code gets)
    compiled = entry.fn
    entry.fn = lambda *a: (got.extend(map(type, a)), compiled(*a))[1]
    g(x), g(np.arange(3.0)), g(x)
    assert got == [np.ndarray] * 3
    # and closed-over Arrays are copied into plain constants
    w = fnp.ones(3)
    h = fungrad.jit(lambda v: v @ w + fnp.sum(w))
    assert all(type(c) is np.ndarray for c in h.lower(x).jaxpr.consts)
    w[:] = 5.0   # captured at trace time, as for plain arrays
    assert float(h(x)) == 6.0


def test_jit_fast_path_takes_arrays_and_donation_tracks_them():
    f = fungrad.jit(lambda a, b: a * b)
    x = f(np.ones(2), np.ones(2))
    for _ in range(3):
        x = f(x, np.full(2, 2.0))
    assert is_result(x) and f.cache_info().misses == 1 and list(x) == [8.0, 8.0]
    step = fungrad.jit(lambda a: a * 2.0, donate_argnums=0)
    b = step(fnp.ones(2))
    c = step(b)                  # b's buffer is reused for c...
    assert np.shares_memory(b, c) and list(c) == [4.0, 4.0]
    with pytest.raises(fungrad.errors.InvalidArgumentError, match="donated"):
        step(b)                  # ...so b is used up, even though b is an Array view


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.int32])
def test_dtypes_are_preserved(dtype):
    a = np.ones(3, dtype)
    assert is_result(fungrad.jit(lambda x: x * 2)(a), (3,), np.dtype(dtype))
    assert is_result(fungrad.vmap(lambda x: x * 2)(a), (3,), np.dtype(dtype))
    assert is_result(fnp.sum(a), (), np.sum(a).dtype)
    if np.dtype(dtype).kind == "f":
        assert is_result(fungrad.grad(lambda x: fnp.sum(x * 2))(a), (3,), np.dtype(dtype))
        # results are strong (NumPy's 0-d arrays are, under NEP 50): float32 * f64 0-d is f64
        g = fungrad.grad(lambda x: x * 2.0)(dtype(1.0))
        assert is_result(g, (), np.dtype(dtype))


OTHER_NAMESPACES = {
    "scipy.special.gammaln": lambda: fungrad.scipy.special.gammaln(2.5),
    "scipy.special.logit (a custom_jvp)": lambda: fungrad.scipy.special.logit(0.3),
    "scipy.special.xlogy (a custom_jvp)": lambda: fungrad.scipy.special.xlogy(2.0, np.ones(3)),
    "scipy.special.logsumexp": lambda: fungrad.scipy.special.logsumexp(np.ones(3)),
    "scipy.linalg.solve": lambda: fungrad.scipy.linalg.solve(np.eye(2), np.ones(2)),
    "scipy.stats.norm.cdf": lambda: fungrad.scipy.stats.norm.cdf(np.ones(2)),
    "scipy.stats.gamma.cdf": lambda: fungrad.scipy.stats.gamma.cdf(1.5, 2.0),
    "random.normal": lambda: fungrad.random.normal(fungrad.random.PRNGKey(0), (3,)),
    "random.split": lambda: fungrad.random.split(fungrad.random.PRNGKey(0)),
    "random.key_data": lambda: fungrad.random.key_data(fungrad.random.key(0)),
}


@pytest.mark.parametrize("name", list(OTHER_NAMESPACES))
def test_scipy_and_random_return_arrays(name):
    out = OTHER_NAMESPACES[name]()
    assert isinstance(out, fungrad.Array) and type(out) is not np.ndarray

"""Complex numbers: the real/imag/conj/complex primitives, abs of complex, and holomorphic=.

Derivatives are checked against closed forms in JAX's convention: a holomorphic ``f`` has
``grad(f, holomorphic=True)(z) == f'(z)``; a real-valued ``f(x + iy)`` has gradient
``df/dx - i df/dy`` (``|z|**2`` -> ``2 conj(z)``). The last test repeats a few against JAX.
"""
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

import fungrad
import fungrad.numpy as fnp
from fungrad import lax
from fungrad.errors import NotDifferentiableError, ShapeError
from fungrad.test_util import check_grads

Z = np.array([1 + 2j, -0.5 + 0.3j, 2.0 - 1.5j])
X = np.array([1.0, -2.0, 0.5])
Y = np.array([3.0, 0.25, -1.0])

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
parts = st.integers(1, 5).flatmap(
    lambda n: st.tuples(*[arrays(np.float64, n, elements=finite)] * 2))


def _z(re_im):
    re, im = re_im
    return re + 1j * im


# ---------------------------------------------------------------- values

@given(parts)
def test_fnp_parts_match_numpy(re_im):
    z = _z(re_im)
    for name in ("real", "imag", "conj", "conjugate", "abs", "absolute", "angle"):
        got, want = getattr(fnp, name)(z), getattr(np, name)(z)
        assert got.dtype == want.dtype, name
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=0, err_msg=name)


def test_real_dtypes_keep_numpy_behaviour():
    for x in (X, X.astype(np.float32), np.arange(3)):
        for name in ("real", "imag", "conj", "abs", "angle"):
            got, want = getattr(fnp, name)(x), getattr(np, name)(x)
            assert got.dtype == want.dtype, (name, x.dtype)
            np.testing.assert_array_equal(got, want)


def test_tracer_methods_route_to_the_primitives():
    out = fungrad.jit(lambda z: (z.real, z.imag, z.conj(), z.conjugate(), abs(z)))(Z)
    for got, want in zip(out, (Z.real, Z.imag, Z.conj(), Z.conj(), np.abs(Z))):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype


def test_lax_complex_and_dtypes():
    np.testing.assert_array_equal(lax.complex(X, Y), X + 1j * Y)
    np.testing.assert_array_equal(lax.complex(X, 2.0), X + 2j)
    out = lax.complex(X.astype(np.float32), Y.astype(np.float32))
    assert out.dtype == np.complex64
    assert lax.real(out).dtype == lax.abs(out).dtype == np.float32
    inf = lax.complex(np.array([np.inf]), np.array([0.0]))  # no inf * 0j = nan
    assert inf[0].real == np.inf and inf[0].imag == 0


def test_shape_rules_reject_wrong_dtypes():
    """Checked when traced (eager lax calls run the NumPy implementation directly)."""
    for f in (lax.real, lax.imag, lax.conj):
        with pytest.raises(ShapeError, match="complex operand"):
            fungrad.make_jaxpr(f)(X)
    with pytest.raises(ShapeError, match="floating-point parts"):
        fungrad.make_jaxpr(lax.complex)(Z, Z)
    with pytest.raises(ShapeError, match="one dtype"):
        fungrad.make_jaxpr(lax.complex)(X, Y.astype(np.float32))


def test_abstract_types():
    jaxpr = fungrad.make_jaxpr(lambda z: (lax.real(z), lax.abs(z), lax.conj(z)))(Z)
    assert [str(v.aval.dtype) for v in jaxpr.outvars] == ["float64", "float64", "complex128"]


# ---------------------------------------------------------------- transposes (JAX's convention)

def test_linear_transpose_of_each_primitive():
    ct = np.array([1.0, 2.0, -3.0])
    w = np.array([1 + 1j, 2 - 1j, 0.5j])
    (r,) = fungrad.linear_transpose(lax.real, Z)(ct)
    np.testing.assert_array_equal(r, ct + 0j)
    (i,) = fungrad.linear_transpose(lax.imag, Z)(ct)
    np.testing.assert_array_equal(i, -1j * ct)
    (c,) = fungrad.linear_transpose(lax.conj, Z)(w)
    np.testing.assert_array_equal(c, np.conj(w))
    cx, cy = fungrad.linear_transpose(lax.complex, X, Y)(w)
    np.testing.assert_array_equal(cx, w.real)
    np.testing.assert_array_equal(cy, -w.imag)


def test_transpose_pairs_with_real_part_of_product():
    """<w, f(dz)> == <f^T(w), dz> with the pairing Re(a * b) of JAX's cotangents."""
    rng = np.random.default_rng(0)
    dz = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    w_re, w_c = rng.standard_normal(3), rng.standard_normal(3) + 1j * rng.standard_normal(3)
    for f, w in ((lax.real, w_re), (lax.imag, w_re), (lax.conj, w_c), (lambda z: 2j * z, w_c)):
        (ft_w,) = fungrad.linear_transpose(f, dz)(w)
        np.testing.assert_allclose(np.sum((w * f(dz)).real), np.sum((ft_w * dz).real))


def test_complex_transpose_unbroadcasts():
    cx, cy = fungrad.vjp(lambda x, y: lax.complex(x, y), X, np.array(2.0))[1](Z)
    np.testing.assert_array_equal(cx, Z.real)
    np.testing.assert_allclose(cy, -Z.imag.sum())


# ---------------------------------------------------------------- derivatives

def test_holomorphic_grad_of_square():
    g = fungrad.grad(lambda z: fnp.sum(z ** 2), holomorphic=True)(Z)
    np.testing.assert_allclose(g, 2 * Z)
    v, g = fungrad.value_and_grad(lambda z: fnp.sum(fnp.exp(z)), holomorphic=True)(Z)
    np.testing.assert_allclose(v, np.exp(Z).sum())
    np.testing.assert_allclose(g, np.exp(Z))


@given(parts)
def test_grad_of_abs_squared_is_twice_conj(re_im):
    z = _z(re_im)
    g = fungrad.grad(lambda z: fnp.sum(fnp.abs(z) ** 2))(z)
    np.testing.assert_allclose(g, 2 * np.conj(z), rtol=1e-12, atol=1e-12)


def test_grad_of_real_and_imag_parts():
    g = fungrad.grad(lambda z: fnp.sum(fnp.real(z) ** 2 + 3 * fnp.imag(z)))(Z)
    np.testing.assert_allclose(g, 2 * Z.real - 3j)
    g = fungrad.grad(lambda z: fnp.sum(fnp.real(fnp.conj(z) * z)))(Z)
    np.testing.assert_allclose(g, 2 * np.conj(Z))


def test_grad_of_abs_and_angle():
    r = np.abs(Z)
    np.testing.assert_allclose(fungrad.grad(lambda z: fnp.sum(fnp.abs(z)))(Z), np.conj(Z) / r)
    # angle = atan2(y, x): d/dx = -y/r^2, d/dy = x/r^2, gradient d/dx - i d/dy
    g = fungrad.grad(lambda z: fnp.sum(fnp.angle(z)))(Z)
    np.testing.assert_allclose(g, (-Z.imag - 1j * Z.real) / r ** 2)


def test_abs_jvp_first_and_second_order():
    t = np.array([0.3 - 1j, 2 + 1j, -1j])
    _, dt = fungrad.jvp(lax.abs, (Z,), (t,))
    np.testing.assert_allclose(dt, (np.conj(Z) * t).real / np.abs(Z))
    # second order along t: (|t|^2 - (Re(conj(z) t) / |z|)^2) / |z|
    d2 = fungrad.jvp(lambda z: fungrad.jvp(lax.abs, (z,), (t,))[1], (Z,), (t,))[1]
    a = (np.conj(Z) * t).real / np.abs(Z)
    np.testing.assert_allclose(d2, (np.abs(t) ** 2 - a ** 2) / np.abs(Z))
    # at 0 the tangent is 0 (JAX's choice), not nan
    _, d0 = fungrad.jvp(lax.abs, (np.array([0j]),), (np.array([1 + 1j]),))
    np.testing.assert_array_equal(d0, [0.0])


def test_second_order_reverse_of_abs_cubed():
    """grad |z|^3 = 3 |z| conj(z); then grad of its real part, 3 (x |z| + x^2 / |z|, ...)."""
    g = fungrad.grad(lambda z: fnp.sum(fnp.abs(z) ** 3))(Z)
    np.testing.assert_allclose(g, 3 * np.abs(Z) * np.conj(Z))
    h = fungrad.grad(lambda z: fnp.sum(fungrad.grad(lambda w: fnp.sum(fnp.abs(w) ** 3))(z).real))(Z)
    x, y, r = Z.real, Z.imag, np.abs(Z)
    np.testing.assert_allclose(h, 3 * (r + x ** 2 / r) - 1j * 3 * x * y / r)


def test_check_grads_through_complex_intermediates():
    """Real-in, real-out functions built from the primitives: finite differences apply."""
    def f(x, y):
        z = lax.complex(x, y)
        return fnp.real(fnp.exp(z) * fnp.conj(z)) + fnp.abs(z * z) + fnp.imag(z ** 3)

    check_grads(f, (X, Y), order=2)
    check_grads(lambda x: fnp.angle(lax.complex(fnp.cos(x), x)), (X,), order=2)


def test_jacobians_and_hessian():
    jf = fungrad.jacfwd(lambda z: z ** 2, holomorphic=True)(Z)
    jr = fungrad.jacrev(lambda z: z ** 2, holomorphic=True)(Z)
    np.testing.assert_allclose(jf, np.diag(2 * Z))
    np.testing.assert_allclose(jr, np.diag(2 * Z))
    h = fungrad.hessian(lambda z: fnp.sum(z ** 3), holomorphic=True)(Z)
    np.testing.assert_allclose(h, np.diag(6 * Z))
    # real inputs, complex outputs: forward mode needs no holomorphic=
    np.testing.assert_allclose(fungrad.jacfwd(lambda x: fnp.exp(1j * x))(X),
                               np.diag(1j * np.exp(1j * X)))
    # complex inputs, real output: reverse mode rows are gradients
    np.testing.assert_allclose(fungrad.jacrev(lambda z: fnp.abs(z))(Z),
                               np.diag(np.conj(Z) / np.abs(Z)))


# ---------------------------------------------------------------- errors

def test_grad_of_complex_output_needs_holomorphic():
    with pytest.raises(NotDifferentiableError, match="holomorphic=True.*real part"):
        fungrad.grad(lambda z: fnp.sum(z ** 2))(Z)
    with pytest.raises(TypeError, match="real-valued outputs"):
        fungrad.jacrev(lambda z: z ** 2)(Z)


@pytest.mark.parametrize("transform", [fungrad.grad, fungrad.value_and_grad, fungrad.jacfwd,
                                       fungrad.jacrev, fungrad.hessian])
def test_holomorphic_needs_complex_inputs_and_outputs(transform):
    with pytest.raises(NotDifferentiableError, match="requires inputs of complex"):
        transform(lambda z: fnp.sum(z ** 2), holomorphic=True)(X)
    with pytest.raises(NotDifferentiableError, match="requires outputs of complex"):
        transform(lambda z: fnp.sum(fnp.abs(z)), holomorphic=True)(Z)


def test_jacfwd_of_complex_inputs_needs_holomorphic():
    with pytest.raises(NotDifferentiableError, match="real-valued inputs"):
        fungrad.jacfwd(lambda z: fnp.abs(z))(Z)
    with pytest.raises(NotDifferentiableError, match="real-valued inputs"):
        fungrad.hessian(lambda z: fnp.sum(fnp.abs(z) ** 2))(Z)


def test_grad_keyword_positions_match_jax():
    import inspect
    for f in (fungrad.grad, fungrad.value_and_grad):
        assert list(inspect.signature(f).parameters) == ["fun", "argnums", "has_aux", "holomorphic",
                                                         "allow_int"]
    for f in (fungrad.jacfwd, fungrad.jacrev):
        assert list(inspect.signature(f).parameters)[:4] == ["fun", "argnums", "has_aux",
                                                             "holomorphic"]


# ---------------------------------------------------------------- vmap and jit

def test_vmap_and_jit_of_the_primitives():
    zs = np.stack([Z, 2 * Z])
    for f in (lax.real, lax.imag, lax.conj, lax.abs):
        np.testing.assert_array_equal(fungrad.vmap(f)(zs), f(zs))
        np.testing.assert_array_equal(fungrad.jit(f)(zs), f(zs))
    xs, ys = np.stack([X, Y]), np.stack([Y, X])
    np.testing.assert_array_equal(fungrad.vmap(lax.complex)(xs, ys), xs + 1j * ys)
    np.testing.assert_array_equal(fungrad.vmap(lax.complex, (0, None))(xs, Y), xs + 1j * Y)
    np.testing.assert_array_equal(fungrad.jit(lax.complex)(X, Y), X + 1j * Y)


def test_vmap_and_jit_of_gradients():
    f = lambda z: fnp.sum(fnp.abs(z) ** 2 + fnp.real(z) * fnp.imag(z))  # noqa: E731
    want = 2 * np.conj(Z) + Z.imag - 1j * Z.real
    np.testing.assert_allclose(fungrad.jit(fungrad.grad(f))(Z), want)
    zs = np.stack([Z, -Z])
    got = fungrad.vmap(fungrad.grad(f))(zs)
    np.testing.assert_allclose(got[1], 2 * np.conj(-Z) - Z.imag + 1j * Z.real)
    g = fungrad.grad(lambda z: fnp.sum(z ** 2), holomorphic=True)
    np.testing.assert_allclose(fungrad.jit(g)(Z), 2 * Z)


def test_grad_through_real_to_complex_promotion_is_quiet() -> None:
    """``1j * x`` promotes a real x to complex: its cotangent comes back as the real part
    (no ComplexWarning from casting), and the values are the closed forms."""
    x = np.array([0.3, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g_re = fungrad.grad(lambda v: fnp.sum(fnp.real(fnp.exp(1j * v))))(x)
        g_im = fungrad.grad(lambda v: fnp.sum(fnp.imag(fnp.exp(1j * v)) * 2.0))(x)
    np.testing.assert_allclose(g_re, -np.sin(x), rtol=1e-15)
    np.testing.assert_allclose(g_im, 2 * np.cos(x), rtol=1e-15)


# ---------------------------------------------------------------- JAX, when installed

def test_against_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    programs = [
        (lambda m: lambda z: m.sum(m.abs(z) ** 2), {}),
        (lambda m: lambda z: m.sum(m.real(z) ** 2 + 3 * m.imag(z)), {}),
        (lambda m: lambda z: m.sum(m.angle(z) * m.abs(z) ** 3), {}),
        (lambda m: lambda z: m.sum(m.real(m.conj(z) * m.exp(z))), {}),
        (lambda m: lambda z: m.sum(m.sin(z) * z ** 3), dict(holomorphic=True)),
    ]
    for make, kw in programs:
        np.testing.assert_allclose(fungrad.grad(make(fnp), **kw)(Z), jax.grad(make(jnp), **kw)(Z),
                                   rtol=1e-12)
    w = np.array([1 + 1j, 2 - 1j, 0.5j])
    np.testing.assert_allclose(fungrad.linear_transpose(lax.imag, Z)(X)[0],
                               jax.linear_transpose(jax.lax.imag, Z)(X)[0])
    np.testing.assert_allclose(fungrad.linear_transpose(lax.complex, X, Y)(w),
                               jax.linear_transpose(jax.lax.complex, X, Y)(w))
    f2 = lambda m, g: lambda z: m.sum(g(lambda w: m.sum(m.abs(w) ** 3))(z).real)  # noqa: E731
    np.testing.assert_allclose(fungrad.grad(f2(fnp, fungrad.grad))(Z),
                               jax.grad(f2(jnp, jax.grad))(Z), rtol=1e-12)
    np.testing.assert_allclose(fungrad.jvp(lax.abs, (Z,), (w,))[1], jax.jvp(jnp.abs, (Z,), (w,))[1])
    np.testing.assert_allclose(fungrad.hessian(lambda z: fnp.sum(z ** 3), holomorphic=True)(Z),
                               jax.hessian(lambda z: jnp.sum(z ** 3), holomorphic=True)(Z))
    np.testing.assert_allclose(fungrad.jacrev(fnp.abs)(Z), jax.jacrev(jnp.abs)(Z))

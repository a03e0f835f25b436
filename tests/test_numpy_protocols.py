"""NumPy functions on tracers (``__array_function__``/``__array_ufunc__``) and the clear errors
around them: traced indices into NumPy arrays, eager broadcasting failures."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import fungrad
import fungrad.numpy as fnp
from fungrad.errors import BroadcastError, TracerArrayConversionError
from tests.jax_oracle import load_jax

W = np.arange(6.0).reshape(2, 3) / 7.0
X = np.linspace(-1.0, 1.5, 6).reshape(2, 3)

# (name, program in terms of a NumPy-like module ``m``: np, fungrad.numpy or jax.numpy)
PROGRAMS: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("sum_sin", lambda m, x: m.sum(m.sin(x))),
    ("exp_times_2", lambda m, x: m.sum(m.exp(x) * 2)),
    ("mean_axis0", lambda m, x: m.sum(m.mean(x, axis=0) ** 2)),
    ("dot", lambda m, x: m.sum(m.tanh(m.dot(W, x.T)))),
    ("ufunc_two_args", lambda m, x: m.sum(m.maximum(x, 0.2) * m.add(x, W))),
    ("linalg_norm", lambda m, x: m.linalg.norm(x)),
]


def _np_prog(prog: Callable[[Any, Any], Any]) -> Callable[[Any], Any]:
    return lambda x: prog(np, x)


def _fnp_prog(prog: Callable[[Any, Any], Any]) -> Callable[[Any], Any]:
    return lambda x: prog(fnp, x)


@pytest.mark.parametrize("name, prog", PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_numpy_functions_dispatch_under_transforms(name: str, prog: Any) -> None:
    f_np, f_fnp = _np_prog(prog), _fnp_prog(prog)
    expected_value = prog(np, X)  # plain NumPy, no tracers
    np.testing.assert_allclose(fungrad.jit(f_np)(X), expected_value, rtol=1e-12)
    expected_grad = fungrad.grad(f_fnp)(X)
    np.testing.assert_allclose(fungrad.grad(f_np)(X), expected_grad, rtol=1e-12)
    np.testing.assert_allclose(fungrad.jit(fungrad.grad(f_np))(X), expected_grad, rtol=1e-12)
    rows = fungrad.vmap(f_np)(X)
    np.testing.assert_allclose(rows, [prog(np, r) for r in X], rtol=1e-12)
    # a finite-difference check that the dispatched gradient is the derivative
    eps, e = 1e-6, np.zeros_like(X)
    e[1, 2] = 1.0
    fd = (prog(np, X + eps * e) - prog(np, X - eps * e)) / (2 * eps)
    np.testing.assert_allclose(fungrad.grad(f_np)(X)[1, 2], fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name, prog", PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_values_and_gradients_match_jax(name: str, prog: Any) -> None:
    jax = load_jax()
    jnp = jax.numpy
    # JAX arrays meet np.* through __array__ (no tracing), so JAX's program uses jnp: the
    # comparison is of values, not of mechanism.
    np.testing.assert_allclose(fungrad.grad(_np_prog(prog))(X),
                               jax.grad(lambda x: prog(jnp, x))(X), rtol=1e-12)
    np.testing.assert_allclose(fungrad.vmap(_np_prog(prog))(X),
                               jax.vmap(lambda x: prog(jnp, x))(X), rtol=1e-12)


def test_numpy_function_fungrad_lacks_names_it() -> None:
    with pytest.raises(TypeError, match=r"(?s)np\.fft\.hfft .*fungrad\.numpy has no hfft.*test_numpy_protocols"):
        fungrad.grad(lambda x: np.fft.hfft(x).sum())(X[0])


@pytest.mark.parametrize("transform", [fungrad.grad, fungrad.jit, fungrad.vmap])
def test_ufunc_methods_and_out_buffers_are_refused(transform: Any) -> None:
    with pytest.raises(TypeError, match=r"np\.add\.reduce .*fnp\.sum"):
        transform(lambda x: np.add.reduce(x))(X[0])
    with pytest.raises(TypeError, match=r"np\.sin\(\.\.\., out=\.\.\.\).*immutable"):
        transform(lambda x: np.sin(x, out=np.empty(3)))(X[0])

    def in_place(x: Any) -> Any:
        buf = np.ones(3)
        buf += x  # np.add(buf, x, out=buf)
        return buf.sum()
    with pytest.raises(TypeError, match=r"np\.add\(\.\.\., out=\.\.\.\)"):
        transform(in_place)(X[0])


def test_numpy_array_operand_on_the_left_still_traces() -> None:
    # ndarray + tracer now goes through __array_ufunc__ (it used to defer to __radd__)
    g = fungrad.grad(lambda x: (W[0] * x + W[0]).sum())(X[0])
    np.testing.assert_allclose(g, W[0])
    assert type(fungrad.jit(lambda x: W[0] - x)(X[0])) is fungrad.Array


def test_plain_numpy_has_no_protocol_hooks() -> None:
    # the protocols live on tracers only: eager results are Arrays with NumPy's own hooks
    assert type(fnp.sin(X)) is fungrad.Array
    assert fungrad.Array.__array_ufunc__ is np.ndarray.__array_ufunc__
    assert not hasattr(np.ndarray, "__array_ufunc__") or np.ndarray.__array_ufunc__ is not \
        fungrad.core.Tracer.__array_ufunc__


@pytest.mark.parametrize("transform, arg", [(fungrad.jit, np.int64(1)),
                                            (fungrad.vmap, np.arange(3)),
                                            (fungrad.jit, np.array([1, 2]))])
def test_numpy_array_indexed_by_traced_index(transform: Any, arg: Any) -> None:
    table = np.arange(5.0) ** 2
    with pytest.raises(TracerArrayConversionError,
                       match=r"(?s)fnp\.take\(arr, i, axis=0\).*\n  at .*test_numpy_protocols"):
        transform(lambda i: table[i])(arg)
    # the advice works, and gives NumPy's values
    np.testing.assert_array_equal(transform(lambda i: fnp.take(table, i, axis=0))(arg), table[arg])


def _add_ones4(x: Any) -> Any:
    return fnp.sum(fnp.add(x, np.ones(4)))


@pytest.mark.parametrize("mode", ["eager", "grad", "vjp", "vmap", "jit"])
def test_broadcast_errors_name_shapes_operation_and_line(mode: str) -> None:
    run = {"eager": lambda: _add_ones4(np.ones(3)),
           "grad": lambda: fungrad.grad(_add_ones4)(np.ones(3)),
           "vjp": lambda: fungrad.vjp(_add_ones4, np.ones(3)),
           "vmap": lambda: fungrad.vmap(_add_ones4)(np.ones((2, 3))),
           "jit": lambda: fungrad.jit(_add_ones4)(np.ones(3))}[mode]
    # (under vmap: the shapes of one example, as the user wrote them; see test_broadcast_errors)
    with pytest.raises(BroadcastError, match=r"add: operand shapes \(3,\) and \(4,\) do not "
                                             r"broadcast together.*expand_dims.*"
                                             r"\n  at .*test_numpy_protocols.py:\d+ \(_add_ones4\)"):
        run()
    with pytest.raises(ValueError):  # still a ValueError, as NumPy raises
        run()


def test_plain_fungrad_numpy_broadcast_error() -> None:
    with pytest.raises(BroadcastError, match=r"mul: operand shapes \(2, 3\) and \(2,\).*\n  at "
                                             r".*test_numpy_protocols"):
        fnp.multiply(np.ones((2, 3)), np.ones(2))

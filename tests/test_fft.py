"""``fungrad.numpy.fft`` / ``lax.fft``: values against NumPy, derivatives against finite
differences (complex values split into real and imaginary parts) and against JAX's vjp and jvp
with the same complex cotangents, and the transforms under vmap and jit."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jax_oracle import load_jax
import fungrad
import fungrad.numpy as fnp
from fungrad import lax
from fungrad.test_util import check_grads

# (name, kwargs, input is complex) covering 1-D, N-D, lengths s/n (crop and pad), axes, norms
CASES = [
    ("fft", {}, True), ("fft", {"n": 3, "axis": 0}, True), ("fft", {"n": 7, "norm": "ortho"}, False),
    ("ifft", {"n": 6}, True), ("ifft", {"norm": "forward", "axis": 0}, True),
    ("rfft", {}, False), ("rfft", {"n": 3}, False), ("rfft", {"n": 8, "axis": 0, "norm": "ortho"}, False),
    ("irfft", {}, True), ("irfft", {"n": 7}, True), ("irfft", {"axis": 0, "norm": "forward"}, True),
    ("fftn", {}, True), ("fftn", {"s": (3, 6), "axes": (0, 1)}, False), ("ifftn", {"axes": (0,)}, True),
    ("rfftn", {}, False), ("rfftn", {"s": (5, 3), "axes": (0, 1), "norm": "ortho"}, False),
    ("irfftn", {}, True), ("irfftn", {"s": (4, 5), "axes": (0, 1)}, True),
    ("fft2", {}, True), ("ifft2", {"norm": "ortho"}, True), ("rfft2", {}, False),
    ("irfft2", {"s": (4, 3)}, True),
]


def _input(complex_: bool, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 5))
    return x + 1j * rng.standard_normal((4, 5)) if complex_ else x


def _call(module: Any, name: str, kwargs: dict[str, Any]) -> Callable[[Any], Any]:
    return lambda x: getattr(module.fft, name)(x, **kwargs)


@pytest.mark.parametrize("name,kwargs,complex_", CASES)
def test_values_match_numpy(name: str, kwargs: dict[str, Any], complex_: bool) -> None:
    x = _input(complex_)
    ours, theirs = _call(fnp, name, kwargs)(x), _call(np, name, kwargs)(x)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


def _split(f: Callable[[Any], Any], complex_: bool) -> Callable[..., Any]:
    """``f`` as a real function of real arrays: complex values as (real, imaginary) parts."""
    def real_f(re: Any, im: Any) -> Any:
        y = f(re + 1j * im) if complex_ else f(re + 0 * im)
        return fnp.stack([fnp.real(y), fnp.imag(y)])
    return real_f


@pytest.mark.parametrize("name,kwargs,complex_", CASES)
def test_derivatives_match_finite_differences(name: str, kwargs: dict[str, Any],
                                              complex_: bool) -> None:
    x = _input(True, seed=1)
    check_grads(_split(_call(fnp, name, kwargs), complex_), (x.real, x.imag), order=2)


@pytest.mark.parametrize("name,kwargs,complex_", CASES)
def test_vjp_and_jvp_match_jax(name: str, kwargs: dict[str, Any], complex_: bool) -> None:
    jax = load_jax()
    import jax.numpy as jnp
    x = _input(complex_, seed=2)
    y, pullback = fungrad.vjp(_call(fnp, name, kwargs), x)
    y_jax, pullback_jax = jax.vjp(_call(jnp, name, kwargs), x)
    np.testing.assert_allclose(y, y_jax, atol=1e-12)
    ct = _input(np.iscomplexobj(y), seed=3)
    ct = np.resize(ct, y.shape)
    np.testing.assert_allclose(pullback(ct)[0], pullback_jax(ct)[0], atol=1e-12)
    t = _input(complex_, seed=4)
    np.testing.assert_allclose(fungrad.jvp(_call(fnp, name, kwargs), (x,), (t,))[1],
                               jax.jvp(_call(jnp, name, kwargs), (x,), (t,))[1], atol=1e-12)


@given(st.sampled_from(CASES), st.integers(0, 2))
def test_vmap_and_jit_agree_with_a_loop(case: Any, axis: int) -> None:
    name, kwargs, complex_ = case
    batch = np.stack([_input(complex_, seed=s) for s in range(3)], axis=axis)
    f = _call(fnp, name, kwargs)
    expected = np.stack([f(np.take(batch, i, axis)) for i in range(3)])
    np.testing.assert_allclose(fungrad.vmap(f, in_axes=axis)(batch), expected, atol=1e-12)
    np.testing.assert_allclose(fungrad.jit(f)(batch[0] if axis == 0 else np.take(batch, 0, axis)),
                               expected[0], atol=1e-12)


def test_float32_stays_single_precision() -> None:
    x = np.ones(4, np.float32)
    assert fnp.fft.fft(x).dtype == np.complex64
    assert fnp.fft.rfft(x).dtype == np.complex64
    assert fnp.fft.irfft(fnp.fft.rfft(x)).dtype == np.float32


def test_shift_and_frequencies_match_numpy() -> None:
    x = np.arange(12.0).reshape(3, 4)
    for axes in (None, 0, (1,), (0, 1)):
        np.testing.assert_array_equal(fnp.fft.fftshift(x, axes), np.fft.fftshift(x, axes))
        np.testing.assert_array_equal(fnp.fft.ifftshift(x, axes), np.fft.ifftshift(x, axes))
    np.testing.assert_array_equal(fnp.fft.fftfreq(5, 0.1), np.fft.fftfreq(5, 0.1))
    np.testing.assert_array_equal(fnp.fft.rfftfreq(6), np.fft.rfftfreq(6))
    g = fungrad.grad(lambda v: fnp.sum(fnp.fft.fftshift(v) * np.arange(4.0)))(np.zeros(4))
    np.testing.assert_array_equal(g, np.fft.ifftshift(np.arange(4.0)))


def test_lax_fft_takes_jax_types_and_checks_its_operand() -> None:
    x = np.arange(4.0)
    np.testing.assert_allclose(lax.fft(x, lax.FftType.RFFT, (4,)), np.fft.rfft(x))
    np.testing.assert_allclose(lax.fft(x + 0j, "FftType.FFT", [4]), np.fft.fft(x))
    with pytest.raises(ValueError, match="unknown fft_type"):
        lax.fft(x, "dct", (4,))
    with pytest.raises(Exception, match="complex operand"):
        lax.fft(x, "fft", (4,))
    with pytest.raises(Exception, match="trailing axes"):
        lax.fft(x + 0j, "fft", (5,))


def test_bad_arguments_raise_clearly() -> None:
    with pytest.raises(TypeError, match="rfft takes real input"):
        fnp.fft.rfft(np.ones(3) + 1j)
    with pytest.raises(ValueError, match="norm must be"):
        fnp.fft.fft(np.ones(3), norm="both")
    with pytest.raises(ValueError, match="repeated axes"):
        fnp.fft.fftn(np.ones((2, 2)), axes=(0, 0))
    with pytest.raises(ValueError, match="out of bounds"):
        fnp.fft.fft(np.ones(3), axis=2)

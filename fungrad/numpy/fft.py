"""``fungrad.numpy.fft``: NumPy's discrete Fourier transforms on fungrad values (``jax.numpy.fft``).

Every transform is ``fungrad.lax.fft`` over the chosen axes (moved last, cropped or zero-padded
to the lengths ``s``/``n``), scaled for ``norm`` (``"backward"``, the default, ``"ortho"`` or
``"forward"``), so each is differentiable, batches and compiles under jit.

>>> import fungrad, fungrad.numpy as fnp
>>> fnp.fft.fft(np.array([1.0, 0.0, 0.0, 0.0]))
array([1.+0.j, 1.+0.j, 1.+0.j, 1.+0.j])
>>> fungrad.grad(lambda x: fnp.fft.rfft(x)[0].real)(np.array([1.0, 2.0, 3.0]))
array([1., 1., 1.])
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from fungrad.core import get_aval
from fungrad.lax.complex_ops import complex_dtype, real_dtype
from fungrad.lax.fourier import fft as lax_fft
from fungrad.lax.shape_ops import pad
from fungrad.lax.slicing import slice_in_dim
from fungrad.numpy.manipulation import moveaxis, roll
from fungrad.numpy.promotion import asarray, asarray_of

__all__ = [
    "fft", "fft2", "fftfreq", "fftn", "fftshift", "ifft", "ifft2", "ifftn", "ifftshift", "irfft",
    "irfft2", "irfftn", "rfft", "rfft2", "rfftfreq", "rfftn",
]

_NORMS = (None, "backward", "ortho", "forward")


def _resize(a: Any, axis: int, n: int) -> Any:
    """``a`` cut or zero-padded to length ``n`` along ``axis``."""
    have = get_aval(a).shape[axis]
    if n < 1:
        raise ValueError(f"fft: invalid number of data points ({n}); it must be at least 1")
    if n < have:
        return slice_in_dim(a, 0, n, axis=axis)
    if n > have:
        config = [(0, 0, 0)] * get_aval(a).ndim
        config[axis] = (0, n - have, 0)
        return pad(a, np.zeros((), get_aval(a).dtype), config)
    return a


def _transform(kind: str, a: Any, s: Sequence[int] | None, axes: Sequence[int] | None,
               norm: str | None) -> Any:
    if norm not in _NORMS:
        raise ValueError(f"fft: norm must be one of 'backward', 'ortho', 'forward' (or None), "
                         f"got {norm!r}")
    a = asarray(a)
    ndim = get_aval(a).ndim
    if axes is None:
        axes = list(range(ndim)) if s is None else list(range(ndim - len(s), ndim))
    axes = [int(ax) % ndim if -ndim <= int(ax) < ndim else _bad_axis(ax, ndim) for ax in axes]
    if len(set(axes)) != len(axes):
        raise ValueError(f"fft: repeated axes {axes}; each axis may be transformed once")
    shape = get_aval(a).shape
    if s is None:
        s = [shape[ax] for ax in axes]
        if kind == "irfft":
            s[-1] = 2 * (shape[axes[-1]] - 1)
    s = [int(n) for n in s]
    if len(s) != len(axes):
        raise ValueError(f"fft: s has {len(s)} entries but there are {len(axes)} axes")
    dtype = get_aval(a).dtype
    if kind == "rfft":
        if dtype.kind == "c":
            raise TypeError("rfft takes real input (as in JAX); use fft for complex input")
        a = asarray_of(a, real_dtype(complex_dtype(np.result_type(dtype, np.float32)))
                       if dtype.kind != "f" else dtype)
    else:
        a = asarray_of(a, complex_dtype(np.result_type(dtype, np.float32)))
    inputs = list(s)
    if kind == "irfft":
        inputs[-1] = s[-1] // 2 + 1
    for ax, n in zip(axes, inputs):
        a = _resize(a, ax, n)
    last = list(range(ndim - len(axes), ndim))
    out = moveaxis(lax_fft(moveaxis(a, axes, last), kind, s), last, axes)
    size = math.prod(s)
    inverse = kind in ("ifft", "irfft")
    if norm == "ortho":
        out = out * (math.sqrt(size) if inverse else 1 / math.sqrt(size))
    elif norm == "forward":
        out = out * (size if inverse else 1 / size)
    return out


def _bad_axis(axis: Any, ndim: int) -> int:
    raise ValueError(f"fft: axis {axis} is out of bounds for an array of dimension {ndim}")


def _one(kind: str, a: Any, n: int | None, axis: int, norm: str | None) -> Any:
    return _transform(kind, a, None if n is None else [n], [axis], norm)


def fft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """The 1-D discrete Fourier transform along ``axis``.

    >>> fft(np.array([0.0, 1.0]))
    array([ 1.+0.j, -1.+0.j])
    """
    return _one("fft", a, n, axis, norm)


def ifft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """The inverse of ``fft``.

    >>> ifft(np.array([1.0, -1.0]))
    array([0.+0.j, 1.+0.j])
    """
    return _one("ifft", a, n, axis, norm)


def rfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """The DFT of real input: the ``n//2 + 1`` non-negative frequency terms.

    >>> rfft(np.array([1.0, 1.0, 1.0]))
    array([3.+0.j, 0.+0.j])
    """
    return _one("rfft", a, n, axis, norm)


def irfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """The inverse of ``rfft`` (``n`` output points, ``2 * (m - 1)`` by default).

    >>> irfft(np.array([3.0, 0.0]), n=3)
    array([1., 1., 1.])
    """
    return _one("irfft", a, n, axis, norm)


def fftn(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
         norm: str | None = None) -> Any:
    """The N-D DFT over ``axes`` (all, or the last ``len(s)``, by default).

    >>> fftn(np.ones((2, 2)))
    array([[4.+0.j, 0.+0.j],
           [0.+0.j, 0.+0.j]])
    """
    return _transform("fft", a, s, axes, norm)


def ifftn(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str | None = None) -> Any:
    """The inverse of ``fftn``.

    >>> ifftn(np.array([[4.0, 0.0], [0.0, 0.0]])).real
    array([[1., 1.],
           [1., 1.]])
    """
    return _transform("ifft", a, s, axes, norm)


def rfftn(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str | None = None) -> Any:
    """The N-D DFT of real input (the last axis halved, as ``rfft``).

    >>> rfftn(np.ones((2, 2)))
    array([[4.+0.j, 0.+0.j],
           [0.+0.j, 0.+0.j]])
    """
    return _transform("rfft", a, s, axes, norm)


def irfftn(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
           norm: str | None = None) -> Any:
    """The inverse of ``rfftn``.

    >>> irfftn(np.array([[4.0, 0.0], [0.0, 0.0]]))
    array([[1., 1.],
           [1., 1.]])
    """
    return _transform("irfft", a, s, axes, norm)


def fft2(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
         norm: str | None = None) -> Any:
    """``fftn`` over the last two axes.

    >>> fft2(np.ones((1, 2)))
    array([[2.+0.j, 0.+0.j]])
    """
    return _transform("fft", a, s, axes, norm)


def ifft2(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
          norm: str | None = None) -> Any:
    """``ifftn`` over the last two axes.

    >>> ifft2(np.array([[2.0, 0.0]])).real
    array([[1., 1.]])
    """
    return _transform("ifft", a, s, axes, norm)


def rfft2(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
          norm: str | None = None) -> Any:
    """``rfftn`` over the last two axes.

    >>> rfft2(np.ones((1, 2)))
    array([[2.+0.j, 0.+0.j]])
    """
    return _transform("rfft", a, s, axes, norm)


def irfft2(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
           norm: str | None = None) -> Any:
    """``irfftn`` over the last two axes.

    >>> irfft2(np.array([[2.0, 0.0]]))
    array([[1., 1.]])
    """
    return _transform("irfft", a, s, axes, norm)


def _shift(x: Any, axes: int | Sequence[int] | None, sign: int) -> Any:
    x = asarray(x)
    shape = get_aval(x).shape
    if axes is None:
        axes = tuple(range(len(shape)))
    elif isinstance(axes, int):
        axes = (axes,)
    return roll(x, [sign * (shape[ax] // 2) for ax in axes], tuple(axes))


def fftshift(x: Any, axes: int | Sequence[int] | None = None) -> Any:
    """The zero-frequency term moved to the middle.

    >>> fftshift(np.arange(5))
    array([3, 4, 0, 1, 2])
    """
    return _shift(x, axes, 1)


def ifftshift(x: Any, axes: int | Sequence[int] | None = None) -> Any:
    """The inverse of ``fftshift``.

    >>> ifftshift(np.array([3, 4, 0, 1, 2]))
    array([0, 1, 2, 3, 4])
    """
    return _shift(x, axes, -1)


def fftfreq(n: int, d: float = 1.0, *, dtype: Any = None) -> Any:
    """The sample frequencies of ``fft`` (NumPy's).

    >>> fftfreq(4)
    array([ 0.  ,  0.25, -0.5 , -0.25])
    """
    out = np.fft.fftfreq(n, d)
    return out if dtype is None else out.astype(dtype)


def rfftfreq(n: int, d: float = 1.0, *, dtype: Any = None) -> Any:
    """The sample frequencies of ``rfft`` (NumPy's).

    >>> rfftfreq(4)
    array([0.  , 0.25, 0.5 ])
    """
    out = np.fft.rfftfreq(n, d)
    return out if dtype is None else out.astype(dtype)

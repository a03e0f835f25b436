"""The discrete Fourier transform over the trailing axes, ``lax.fft``, with all its rules.

One primitive, ``fft``, with ``fft_type`` one of ``"fft"``, ``"ifft"`` (complex to complex),
``"rfft"`` (real to the non-negative half of the spectrum) and ``"irfft"`` (back), over the last
``len(fft_lengths)`` axes, normalized as NumPy's defaults are (the inverse divides by the size).

Every type is linear over the reals, so the JVP transforms the tangent. The transposes use JAX's
pairing of a complex cotangent ``w`` with a tangent ``dz``, ``Re(sum(w * dz))``:

* the DFT matrix is symmetric, so ``fft`` and ``ifft`` are their own transposes;
* ``rfft`` is "embed as complex, full fft, keep the first ``n//2 + 1`` bins": its transpose pads
  the cotangent back to ``n`` bins with zeros, applies ``fft`` and keeps the real part;
* ``irfft`` is ``Re((1/N) sum_j c_j x_j w^(jk))`` with ``c_j = 2`` for the bins that stand for a
  conjugate pair and 1 for the zero (and, for even ``n``, the Nyquist) bin; paired with a real
  cotangent ``t`` that is ``Re(sum_j x_j (c_j / N) conj(rfft(t))_j)``, so the transpose is
  ``conj(c * rfft(t)) / N``.
"""
from __future__ import annotations

import enum
import math
from typing import Any, Callable, Sequence

import numpy as np

from fungrad.core import get_aval
from fungrad.errors import ShapeError
from fungrad.interpreters.batching import batch_rules
from fungrad.interpreters.transpose import aval_of
from fungrad.ir import ShapedArray
from fungrad.lax.complex_ops import complex_dtype, conj, real, real_dtype
from fungrad.lax.elementwise import convert_element_type, mul
from fungrad.lax.registry import deflinear, deftranspose, moveaxis, primitive
from fungrad.lax.shape_ops import pad


class FftType(enum.IntEnum):
    """The four transforms ``lax.fft`` computes (JAX's names and values)."""

    FFT = 0
    IFFT = 1
    RFFT = 2
    IRFFT = 3


_NUMPY: dict[str, Callable[..., Any]] = {"fft": np.fft.fftn, "ifft": np.fft.ifftn, "rfft": np.fft.rfftn, "irfft": np.fft.irfftn}


def _impl(x: Any, *, fft_type: str, fft_lengths: tuple[int, ...]) -> Any:
    axes = tuple(range(-len(fft_lengths), 0))
    out = _NUMPY[fft_type](np.asarray(x), s=fft_lengths, axes=axes)
    return out.astype(_shape(get_aval(x), fft_type=fft_type, fft_lengths=fft_lengths).dtype,
                      copy=False)


def _shape(x: ShapedArray, *, fft_type: str, fft_lengths: tuple[int, ...]) -> ShapedArray:
    k = len(fft_lengths)
    if not 1 <= k <= x.ndim:
        raise ShapeError(f"fft: {k} fft_lengths for an operand of rank {x.ndim}; give 1 to "
                         f"{x.ndim} lengths, one per trailing axis")
    lead, trailing = x.shape[:x.ndim - k], x.shape[x.ndim - k:]
    expected = fft_lengths[:-1] + (fft_lengths[-1] // 2 + 1,) if fft_type == "irfft" else fft_lengths
    if trailing != expected:
        raise ShapeError(f"fft ({fft_type}): the trailing axes of the operand {x} must be "
                         f"{expected} for fft_lengths {fft_lengths}")
    if fft_type == "rfft":
        if x.dtype.kind != "f":
            raise ShapeError(f"fft (rfft) takes a real floating-point operand, got {x.dtype}")
        return ShapedArray(lead + fft_lengths[:-1] + (fft_lengths[-1] // 2 + 1,),
                           complex_dtype(x.dtype))
    if x.dtype.kind != "c":
        raise ShapeError(f"fft ({fft_type}) takes a complex operand, got {x.dtype}")
    if fft_type == "irfft":
        return ShapedArray(lead + fft_lengths, real_dtype(x.dtype))
    return x


fft_p = primitive("fft", _impl, _shape)
deflinear(fft_p)


def fft(x: Any, fft_type: FftType | str, fft_lengths: Sequence[int]) -> Any:
    """The DFT of type ``fft_type`` over the last ``len(fft_lengths)`` axes of ``x``.

    >>> fft(np.array([1.0, 2.0, 3.0, 4.0]), "rfft", (4,))
    array([10.+0.j, -2.+2.j, -2.+0.j])
    >>> fft(fft(np.array([1j, 2.0]), "fft", (2,)), FftType.IFFT, (2,))
    array([0.+1.j, 2.+0.j])
    """
    if isinstance(fft_type, FftType):
        name = fft_type.name.lower()
    elif isinstance(fft_type, str) and fft_type.lower().rsplit(".", 1)[-1] in _NUMPY:
        name = fft_type.lower().rsplit(".", 1)[-1]
    else:
        raise ValueError(f"fft: unknown fft_type {fft_type!r}; use one of FftType.FFT, IFFT, "
                         "RFFT, IRFFT (or the strings 'fft', 'ifft', 'rfft', 'irfft')")
    return fft_p.bind(x, fft_type=name, fft_lengths=tuple(int(n) for n in fft_lengths))


def _transpose(ct: Any, x: Any, *, fft_type: str, fft_lengths: tuple[int, ...]) -> Any:
    if fft_type in ("fft", "ifft"):
        return fft(ct, fft_type, fft_lengths)
    if fft_type == "rfft":
        n, m = fft_lengths[-1], get_aval(ct).shape[-1]
        full = pad(ct, np.zeros((), get_aval(ct).dtype),
                   [(0, 0, 0)] * (get_aval(ct).ndim - 1) + [(0, n - m, 0)])
        return convert_element_type(real(fft(full, "fft", fft_lengths)), aval_of(x).dtype)
    n, size = fft_lengths[-1], math.prod(fft_lengths)
    weights = np.full(n // 2 + 1, 2.0 / size, real_dtype(aval_of(x).dtype))
    weights[0] /= 2
    if n % 2 == 0:
        weights[-1] /= 2
    return conj(mul(fft(ct, "rfft", fft_lengths), weights.astype(aval_of(x).dtype)))


deftranspose(fft_p, _transpose)


def _batch(vals: Any, dims: Any, *, fft_type: str, fft_lengths: tuple[int, ...]) -> tuple[Any, int]:
    return fft_p.bind(moveaxis(vals[0], dims[0], 0), fft_type=fft_type, fft_lengths=fft_lengths), 0


batch_rules[fft_p] = _batch

"""``conv_general_dilated``: N-d convolution (cross-correlation, as in JAX and XLA) with strides,
padding, input (lhs) and kernel (rhs) dilation, feature and batch groups, any axis layout.

The primitive's params are canonical: ``dimension_numbers = (lhs_spec, rhs_spec, out_spec)``,
each the axis numbers of (batch, feature, spatial...) for lhs and out and of (out feature, in
feature, spatial...) for rhs; ``padding`` explicit ``(lo, hi)`` pairs (negative crops).

- impl: dilate and pad the input, take strided windows (a view), contract with ``einsum``.
- JVP: bilinear (one convolution per operand's tangent).
- transpose, with respect to either operand: another ``conv_general_dilated`` (the roles of
  strides and dilations swap, the kernel is reversed), so gradients of gradients work.
- batching: the vmapped axis is folded into the batch axis (lhs), the output features (rhs)
  or the feature groups (both); the remaining cases run one convolution per example.
- jit: compiled through its impl.

>>> x = np.arange(5.0).reshape(1, 1, 5)
>>> conv_general_dilated(x, np.ones((1, 1, 2)), (1,), "VALID")
array([[[1., 3., 5., 7.]]])
"""
from __future__ import annotations

import string
from typing import Any, NamedTuple, Sequence

import numpy as np

from fungrad.core import get_aval
from fungrad.errors import ShapeError
from fungrad.interpreters.batching import batch_rules
from fungrad.interpreters.transpose import aval_of
from fungrad.ir import ShapedArray
from fungrad.lax.elementwise import convert_element_type
from fungrad.lax.registry import defjvp, deftranspose, primitive
from fungrad.lax.shape_ops import concatenate, expand_dims, reshape, rev, transpose
from fungrad.lax.slicing import index_in_dim

Spec = tuple[int, ...]
Pads = tuple[tuple[int, int], ...]


class ConvDimensionNumbers(NamedTuple):
    """Axis numbers: ``lhs_spec`` (batch, feature, spatial...), ``rhs_spec`` (out feature, in
    feature, spatial...), ``out_spec`` (batch, feature, spatial...)."""

    lhs_spec: Spec
    rhs_spec: Spec
    out_spec: Spec


def conv_dimension_numbers(lhs_shape: Sequence[int], rhs_shape: Sequence[int],
                           dimension_numbers: Any) -> ConvDimensionNumbers:
    """Canonical dimension numbers from None (``NC...``, ``OI...``, ``NC...``), strings such as
    ``('NHWC', 'HWIO', 'NHWC')`` (spatial axes matched by letter) or a ``ConvDimensionNumbers``.

    >>> conv_dimension_numbers((1, 5, 5, 3), (3, 3, 3, 8), ("NHWC", "HWIO", "NHWC"))
    ConvDimensionNumbers(lhs_spec=(0, 3, 1, 2), rhs_spec=(3, 2, 0, 1), out_spec=(0, 3, 1, 2))
    """
    nd = len(lhs_shape)
    if len(rhs_shape) != nd:
        raise ShapeError(f"conv: lhs and rhs must have the same rank, got shapes "
                         f"{tuple(lhs_shape)} and {tuple(rhs_shape)}")
    if dimension_numbers is None:
        spec = tuple(range(nd))
        return ConvDimensionNumbers(spec, spec, spec)
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        return dimension_numbers
    lhs_s, rhs_s, out_s = dimension_numbers
    if not all(isinstance(s, str) for s in dimension_numbers):
        return ConvDimensionNumbers(*(tuple(int(d) for d in s) for s in dimension_numbers))
    for s, pair in ((lhs_s, "NC"), (rhs_s, "OI"), (out_s, "NC")):
        if len(s) != nd or len(set(s)) != nd or not set(pair) <= set(s):
            raise ValueError(f"conv: dimension_numbers {dimension_numbers} must name each of the "
                             f"{nd} axes once, with {pair[0]} and {pair[1]} in {s!r}")
    spatial_rhs = [c for c in rhs_s if c not in "OI"]
    if sorted(spatial_rhs) != sorted(c for c in lhs_s if c not in "NC") or \
            sorted(spatial_rhs) != sorted(c for c in out_s if c not in "NC"):
        raise ValueError(f"conv: the spatial letters of {dimension_numbers} must agree")

    def perm(s: str, pair: str) -> Spec:
        return (s.index(pair[0]), s.index(pair[1])) + tuple(s.index(c) for c in spatial_rhs)
    return ConvDimensionNumbers(perm(lhs_s, "NC"), perm(rhs_s, "OI"), perm(out_s, "NC"))


def _dilate(n: int, d: int) -> int:
    return 0 if n == 0 else 1 + d * (n - 1)


def _out_spatial(lhs_sp: Sequence[int], rhs_sp: Sequence[int], strides: Sequence[int],
                 padding: Pads, lhs_dil: Sequence[int], rhs_dil: Sequence[int]) -> list[int]:
    out = []
    for n, k, s, (lo, hi), ld, rd in zip(lhs_sp, rhs_sp, strides, padding, lhs_dil, rhs_dil):
        size = _dilate(n, ld) + lo + hi - _dilate(k, rd)
        out.append(0 if size < 0 else size // s + 1)
    return out


# ---------------------------------------------------------------- impl

def _conv_impl(lhs: Any, rhs: Any, *, window_strides: Spec, padding: Pads, lhs_dilation: Spec,
               rhs_dilation: Spec, dimension_numbers: ConvDimensionNumbers,
               feature_group_count: int, batch_group_count: int,
               preferred_element_type: np.dtype[Any] | None) -> Any:
    lspec, rspec, ospec = dimension_numbers
    x, w = np.asarray(lhs).transpose(lspec), np.asarray(rhs).transpose(rspec)
    if preferred_element_type is not None:
        x, w = x.astype(preferred_element_type), w.astype(preferred_element_type)
    else:
        x, w = x, w.astype(x.dtype, copy=False)
    nsp = x.ndim - 2
    if any(d > 1 for d in lhs_dilation):  # zeros between the input's elements
        shape = x.shape[:2] + tuple(_dilate(n, d) for n, d in zip(x.shape[2:], lhs_dilation))
        z = np.zeros(shape, x.dtype)
        z[(slice(None), slice(None)) + tuple(slice(None, None, d) for d in lhs_dilation)] = x
        x = z
    crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(padding, x.shape[2:]))
    x = x[(slice(None), slice(None)) + crop]
    x = np.pad(x, [(0, 0), (0, 0)] + [(max(lo, 0), max(hi, 0)) for lo, hi in padding])
    window = [_dilate(k, d) for k, d in zip(w.shape[2:], rhs_dilation)]
    out_sp = _out_spatial(x.shape[2:], w.shape[2:], window_strides, ((0, 0),) * nsp, (1,) * nsp,
                          rhs_dilation)
    n, o = x.shape[0] // batch_group_count, w.shape[0]
    if any(s == 0 for s in out_sp) or any(s == 0 for s in window):
        out = np.zeros((n, o, *out_sp), x.dtype)
    else:
        win = np.lib.stride_tricks.sliding_window_view(x, window, axis=tuple(range(2, 2 + nsp)))
        win = win[(slice(None), slice(None))
                  + tuple(slice(None, None, s) for s in window_strides)
                  + tuple(slice(None, None, d) for d in rhs_dilation)]
        out = _contract(win, w, feature_group_count, batch_group_count)
    return np.ascontiguousarray(out.transpose(np.argsort(ospec)))


def _contract(win: np.ndarray, w: np.ndarray, groups: int, batch_groups: int) -> np.ndarray:
    """``out[n, o, p...] = sum over c, k... of win[n, c, p..., k...] w[o, c, k...]``, by groups."""
    nsp = w.ndim - 2
    sp, ks = string.ascii_letters[:nsp], string.ascii_letters[nsp:2 * nsp]
    n, c = win.shape[:2]
    o = w.shape[0]
    if batch_groups > 1:
        xg = win.reshape((batch_groups, n // batch_groups) + win.shape[1:])
        wg = w.reshape((batch_groups, o // batch_groups) + w.shape[1:])
        out = np.einsum(f"GNC{sp}{ks},GOC{ks}->NGO{sp}", xg, wg, optimize=True)
    else:
        xg = win.reshape((n, groups, c // groups) + win.shape[2:])
        wg = w.reshape((groups, o // groups) + w.shape[1:])
        out = np.einsum(f"NGC{sp}{ks},GOC{ks}->NGO{sp}", xg, wg, optimize=True)
    return out.reshape((out.shape[0], o) + out.shape[3:])  # type: ignore[no-any-return]


def _conv_shape(lhs: ShapedArray, rhs: ShapedArray, *, window_strides: Spec, padding: Pads,
                lhs_dilation: Spec, rhs_dilation: Spec, dimension_numbers: ConvDimensionNumbers,
                feature_group_count: int, batch_group_count: int,
                preferred_element_type: np.dtype[Any] | None) -> ShapedArray:
    lspec, rspec, ospec = dimension_numbers
    nd = lhs.ndim

    def error(why: str) -> ShapeError:
        return ShapeError(f"conv_general_dilated of {lhs} and {rhs}: {why}")
    if rhs.ndim != nd or nd < 2:
        raise error("lhs and rhs need the same rank, at least 2")
    for spec in dimension_numbers:
        if sorted(spec) != list(range(nd)):
            raise error(f"dimension_numbers {tuple(dimension_numbers)} must be permutations")
    nsp = nd - 2
    for name, v in (("window_strides", window_strides), ("lhs_dilation", lhs_dilation),
                    ("rhs_dilation", rhs_dilation)):
        if len(v) != nsp or any(d < 1 for d in v):
            raise error(f"{name} {v} needs {nsp} positive entries")
    if len(padding) != nsp:
        raise error(f"padding {padding} needs {nsp} (lo, hi) pairs")
    if lhs.dtype != rhs.dtype:
        raise error("operands must have one dtype")
    g, b = feature_group_count, batch_group_count
    if g < 1 or b < 1 or (g > 1 and b > 1):
        raise error("feature_group_count and batch_group_count must be positive, one of them 1")
    n, c = lhs.shape[lspec[0]], lhs.shape[lspec[1]]
    o, i = rhs.shape[rspec[0]], rhs.shape[rspec[1]]
    if c != i * g:
        raise error(f"lhs features ({c}) must be rhs input features ({i}) times "
                    f"feature_group_count ({g})")
    if o % g or o % b or n % b:
        raise error(f"rhs output features ({o}) must divide by the group counts, and the "
                    f"batch ({n}) by batch_group_count ({b})")
    sp = _out_spatial([lhs.shape[d] for d in lspec[2:]], [rhs.shape[d] for d in rspec[2:]],
                      window_strides, padding, lhs_dilation, rhs_dilation)
    canonical = (n // b, o, *sp)
    shape = [0] * nd
    for axis, size in zip(ospec, canonical):
        shape[axis] = size
    return ShapedArray(tuple(shape), preferred_element_type or lhs.dtype)


conv_general_dilated_p = primitive("conv_general_dilated", _conv_impl, _conv_shape)


# ---------------------------------------------------------------- the public functions

def _padding(padding: Any, lhs_sp: Sequence[int], window: Sequence[int],
             strides: Sequence[int]) -> Pads:
    if not isinstance(padding, str):
        pads = tuple((int(lo), int(hi)) for lo, hi in padding)
        return pads
    kind = padding.upper()
    if kind == "VALID":
        return tuple((0, 0) for _ in lhs_sp)
    if kind not in ("SAME", "SAME_LOWER"):
        raise ValueError(f"conv: padding must be 'VALID', 'SAME', 'SAME_LOWER' or (lo, hi) pairs, "
                         f"got {padding!r}")
    out = []
    for n, k, s in zip(lhs_sp, window, strides):
        total = max(0, (-(-n // s) - 1) * s + k - n)
        small, big = total // 2, total - total // 2
        out.append((small, big) if kind == "SAME" else (big, small))
    return tuple(out)


def conv_general_dilated(lhs: Any, rhs: Any, window_strides: Sequence[int], padding: Any,
                         lhs_dilation: Sequence[int] | None = None,
                         rhs_dilation: Sequence[int] | None = None,
                         dimension_numbers: Any = None, feature_group_count: int = 1,
                         batch_group_count: int = 1, precision: Any = None,
                         preferred_element_type: Any = None) -> Any:
    """A general N-d convolution (JAX's ``lax.conv_general_dilated``; ``precision`` is
    accepted and ignored: NumPy computes in the operands' dtype).

    >>> x = np.ones((1, 4, 4, 1))                           # NHWC
    >>> k = np.ones((3, 3, 1, 2))                           # HWIO
    >>> conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))[0, :, :, 0]
    array([[4., 6., 6., 4.],
           [6., 9., 9., 6.],
           [6., 9., 9., 6.],
           [4., 6., 6., 4.]])
    """
    la, ra = get_aval(lhs), get_aval(rhs)
    dn = conv_dimension_numbers(la.shape, ra.shape, dimension_numbers)
    nsp = la.ndim - 2
    lhs_dil = (1,) * nsp if lhs_dilation is None else tuple(int(d) for d in lhs_dilation)
    rhs_dil = (1,) * nsp if rhs_dilation is None else tuple(int(d) for d in rhs_dilation)
    strides = tuple(int(s) for s in window_strides)
    if len(strides) != nsp or len(rhs_dil) != nsp or len(lhs_dil) != nsp:
        raise ShapeError(f"conv: window_strides, lhs_dilation and rhs_dilation need {nsp} entries "
                         f"(one per spatial axis), got {strides}, {lhs_dil}, {rhs_dil}")
    if isinstance(padding, str) and any(d != 1 for d in lhs_dil):
        raise ValueError("conv: string padding is not defined with lhs_dilation (a transposed "
                         "convolution): give explicit (lo, hi) pairs, as JAX requires")
    window = [_dilate(ra.shape[d], r) for d, r in zip(dn.rhs_spec[2:], rhs_dil)]
    pads = _padding(padding, [la.shape[d] for d in dn.lhs_spec[2:]], window, strides)
    pref = None if preferred_element_type is None else np.dtype(preferred_element_type)
    params = dict(window_strides=strides, padding=pads, lhs_dilation=lhs_dil,
                  rhs_dilation=rhs_dil, dimension_numbers=dn,
                  feature_group_count=int(feature_group_count),
                  batch_group_count=int(batch_group_count), preferred_element_type=pref)
    _conv_shape(la, ra, **params)  # type: ignore[arg-type]  # checked up front, also eagerly
    return conv_general_dilated_p.bind(lhs, rhs, **params)


def conv(lhs: Any, rhs: Any, window_strides: Sequence[int], padding: Any, precision: Any = None,
         preferred_element_type: Any = None) -> Any:
    """Convolution of ``lhs`` (N, C, spatial...) with ``rhs`` (O, I, spatial...).

    >>> conv(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), (1, 1), "VALID")[0, 0]
    array([[4., 4.],
           [4., 4.]])
    """
    return conv_general_dilated(lhs, rhs, window_strides, padding,
                                preferred_element_type=preferred_element_type)


def conv_with_general_padding(lhs: Any, rhs: Any, window_strides: Sequence[int], padding: Any,
                              lhs_dilation: Sequence[int] | None,
                              rhs_dilation: Sequence[int] | None, precision: Any = None,
                              preferred_element_type: Any = None) -> Any:
    """``conv`` with explicit padding and dilations (JAX's name)."""
    return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                                preferred_element_type=preferred_element_type)


# ---------------------------------------------------------------- derivatives

def _bind(lhs: Any, rhs: Any, **params: Any) -> Any:
    return conv_general_dilated_p.bind(lhs, rhs, **params)


defjvp(conv_general_dilated_p,
       lambda t, ans, lhs, rhs, **params: _bind(t, rhs, **params),
       lambda t, ans, lhs, rhs, **params: _bind(lhs, t, **params))


def _swap(spec: Spec) -> Spec:
    return (spec[1], spec[0]) + tuple(spec[2:])


def _split_axis(x: Any, axis: int, first: int) -> Any:
    """Axis ``axis`` of size ``first * m`` becomes two axes (first, m)."""
    shape = list(get_aval(x).shape)
    shape[axis:axis + 1] = [first, shape[axis] // first]
    return reshape(x, shape)


def _merge_axis(x: Any, src: int, dst: int) -> Any:
    """Axis ``src`` folded into axis ``dst`` (numbered without ``src``) as its major part."""
    nd = get_aval(x).ndim
    perm = [i for i in range(nd) if i != src]
    perm.insert(dst, src)
    x = transpose(x, perm)
    shape = list(get_aval(x).shape)
    shape[dst:dst + 2] = [shape[dst] * shape[dst + 1]]
    return reshape(x, shape)


def _conv_lhs_transpose(ct: Any, lhs: Any, rhs: Any, *, window_strides: Spec, padding: Pads,
                        lhs_dilation: Spec, rhs_dilation: Spec,
                        dimension_numbers: ConvDimensionNumbers, feature_group_count: int,
                        batch_group_count: int, preferred_element_type: Any) -> Any:
    lspec, rspec, ospec = dimension_numbers
    la, ra, ca = aval_of(lhs), get_aval(rhs), get_aval(ct)
    groups = max(feature_group_count, batch_group_count)
    if groups > 1:  # the group axis moves from the kernel's output to its input features
        rhs = _merge_axis(_split_axis(rhs, rspec[0], groups), rspec[0], rspec[1])
    pads = []
    for n, k, o, (lo, _), ld, rd, s in zip([la.shape[d] for d in lspec[2:]],
                                            [ra.shape[d] for d in rspec[2:]],
                                            [ca.shape[d] for d in ospec[2:]], padding,
                                            lhs_dilation, rhs_dilation, window_strides):
        before = _dilate(k, rd) - lo - 1
        pads.append((before, _dilate(n, ld) + _dilate(k, rd) - 1 - _dilate(o, s) - before))
    out = _bind(convert_element_type(ct, ra.dtype), rev(rhs, rspec[2:]),
                window_strides=lhs_dilation, padding=tuple(pads), lhs_dilation=window_strides,
                rhs_dilation=rhs_dilation,
                dimension_numbers=ConvDimensionNumbers(ospec, _swap(rspec), lspec),
                feature_group_count=groups, batch_group_count=1, preferred_element_type=None)
    if batch_group_count > 1:  # the groups were features of the transposed conv: back to batch
        out = _merge_axis(_split_axis(out, lspec[1], batch_group_count), lspec[1], lspec[0])
    return convert_element_type(out, la.dtype)


def _conv_rhs_transpose(ct: Any, lhs: Any, rhs: Any, *, window_strides: Spec, padding: Pads,
                        lhs_dilation: Spec, rhs_dilation: Spec,
                        dimension_numbers: ConvDimensionNumbers, feature_group_count: int,
                        batch_group_count: int, preferred_element_type: Any) -> Any:
    lspec, rspec, ospec = dimension_numbers
    la, ra, ca = get_aval(lhs), aval_of(rhs), get_aval(ct)
    pads = []
    for n, k, o, (lo, _), ld, rd, s in zip([la.shape[d] for d in lspec[2:]],
                                            [ra.shape[d] for d in rspec[2:]],
                                            [ca.shape[d] for d in ospec[2:]], padding,
                                            lhs_dilation, rhs_dilation, window_strides):
        pads.append((lo, _dilate(o, s) - _dilate(n, ld) + _dilate(k, rd) - lo - 1))
    out = _bind(lhs, convert_element_type(ct, la.dtype), window_strides=rhs_dilation,
                padding=tuple(pads), lhs_dilation=lhs_dilation, rhs_dilation=window_strides,
                dimension_numbers=ConvDimensionNumbers(_swap(lspec), _swap(ospec), _swap(rspec)),
                feature_group_count=batch_group_count, batch_group_count=feature_group_count,
                preferred_element_type=None)
    return convert_element_type(out, ra.dtype)


deftranspose(conv_general_dilated_p, _conv_lhs_transpose, _conv_rhs_transpose)


# ---------------------------------------------------------------- batching

def _conv_batch(vals: Sequence[Any], dims: Sequence[int | None],
                **params: Any) -> tuple[Any, int]:
    lhs, rhs = vals
    ld, rd = dims
    lspec, rspec, ospec = params["dimension_numbers"]
    plain = params["feature_group_count"] == 1 and params["batch_group_count"] == 1
    if rd is None and params["batch_group_count"] == 1:  # examples join the batch axis
        size = get_aval(lhs).shape[ld]  # type: ignore[index]
        out = _bind(_merge_axis(lhs, ld, lspec[0]), rhs, **params)  # type: ignore[arg-type]
        return _split_axis(out, ospec[0], size), ospec[0]
    if ld is None and plain:  # examples join the kernel's output features
        size = get_aval(rhs).shape[rd]  # type: ignore[index]
        out = _bind(lhs, _merge_axis(rhs, rd, rspec[0]), **params)  # type: ignore[arg-type]
        return _split_axis(out, ospec[1], size), ospec[1]
    if ld is not None and rd is not None and plain:  # one feature group per example
        size = get_aval(lhs).shape[ld]
        out = _bind(_merge_axis(lhs, ld, lspec[1]), _merge_axis(rhs, rd, rspec[0]),
                    **{**params, "feature_group_count": size})
        return _split_axis(out, ospec[1], size), ospec[1]
    # grouped convolutions with a batched kernel: one convolution per example
    size = get_aval(lhs if ld is not None else rhs).shape[ld if ld is not None else rd]  # type: ignore[index]
    outs = [_bind(lhs if ld is None else index_in_dim(lhs, i, ld, keepdims=False),
                  rhs if rd is None else index_in_dim(rhs, i, rd, keepdims=False), **params)
            for i in range(size)]
    return concatenate([expand_dims(o, (0,)) for o in outs], 0), 0


batch_rules[conv_general_dilated_p] = _conv_batch

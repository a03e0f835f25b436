"""``fungrad.lax``: the primitives, as functions (no dtype promotion, like ``jax.lax``)."""
from fungrad.lax.elementwise import (
    abs, acos, acosh, add, asin, asinh, atan, atan2, atanh, bitwise_and, bitwise_not, bitwise_or,
    bitwise_xor, cbrt, ceil, convert_element_type, cos, cosh, div, eq, erf, exp, expm1, floor, ge, gt,
    integer_pow, is_finite, le, log, log1p, logistic, lt, max, min, mul, ne, neg, nextafter, pow,
    rem, round, rsqrt, select, sign, sin, sinh, sqrt, sub, tan, tanh,
)
from fungrad.lax.complex_ops import complex, conj, imag, real
from fungrad.lax.bits import (
    bitcast_convert_type, shift_left, shift_right_arithmetic, shift_right_logical,
)
from fungrad.lax.special import digamma, erf_inv, erfc, lgamma, ndtri, polygamma
from fungrad.lax.incomplete import betainc, igamma, igamma_grad_a, igammac
from fungrad.lax.bessel import bessel_i0e, bessel_i1e
from fungrad.lax.shape_ops import (
    broadcast_in_dim, broadcast_to, broadcasted_iota, clamp, concatenate, expand_dims, full, iota,
    pad, reduce_sum, reshape, rev, squeeze, transpose,
)
from fungrad.lax.indexing import gather, scatter
from fungrad.lax.slicing import (
    dynamic_index_in_dim, dynamic_slice, dynamic_slice_in_dim, dynamic_update_index_in_dim,
    dynamic_update_slice, dynamic_update_slice_in_dim, index_in_dim, slice, slice_in_dim,
)
from fungrad.lax.dot import dot, dot_general
from fungrad.lax.convolution import (
    ConvDimensionNumbers, conv, conv_dimension_numbers, conv_general_dilated,
    conv_with_general_padding,
)
from fungrad.lax.reductions import (
    argmax, argmin, reduce_and, reduce_max, reduce_min, reduce_or, reduce_prod,
)
from fungrad.lax.cumulative import cummax, cummin, cumprod, cumsum
from fungrad.lax.fourier import FftType, fft
from fungrad.lax.sorting import argsort, sort, top_k
from fungrad.lax.ad_prims import stop_gradient
from fungrad.lax.collectives import (
    all_gather, all_to_all, axis_index, pmax, pmean, pmin, ppermute, psum, psum_scatter,
)
from fungrad.lax import linalg as linalg
from fungrad.lax.control_flow import cond, fori_loop, map, scan, switch, while_loop

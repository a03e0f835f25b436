"""``fungrad.random``: JAX's key-based random numbers, the same streams bit for bit.

A key is a ``uint32[2]`` array (what ``jax.random.PRNGKey`` returns) or a typed key array
(``key``, as ``jax.random.key``: dtype ``key<fry>`` over the same data); every function takes
either and gives the same bits, and never changes it: ``split`` or ``fold_in`` make new ones. Bits come from the threefry2x32 hash of
a counter, laid out as JAX lays them out by default (``jax_threefry_partitionable=True``, the
default since JAX 0.5), so ``split``, ``fold_in``, ``bits``, ``uniform``, ``randint``,
``bernoulli``, ``permutation`` and ``choice`` give exactly JAX's values for the same key and
dtype; samplers that apply transcendental functions (``normal`` through ``erf_inv``, ``gumbel``
through ``log``...) agree to a few ulps. Everything is made of primitives, so it runs under
``jit``, ``vmap`` (e.g. over a batch of keys) and ``grad`` (with respect to parameters such as
``mean`` or bounds where the sampler is differentiable).

JAX's default dtypes with ``jax_enable_x64`` are fungrad's: float64 and int64. The examples
below print the values ``jax.random`` gives for the same calls.

>>> import fungrad
>>> key = fungrad.random.PRNGKey(0)
>>> key
array([0, 0], dtype=uint32)
>>> k1, k2 = fungrad.random.split(key)
>>> fungrad.random.randint(k1, (3,), 0, 10)
array([6, 2, 0])
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

import fungrad.numpy as fnp
from fungrad import lax
from fungrad.core import get_aval
from fungrad.dtypes import KeyDType
from fungrad.lax.bits import (bitcast_convert_type, shift_left, shift_right_logical,
                              threefry2x32)
from fungrad.lax.special import erf_inv
from fungrad.numpy.promotion import asarray
from fungrad.tree_util import register_pytree_node_class
from fungrad.numpy.array_methods import wrap_namespace

__all__ = ["KeyArray", "PRNGKey", "key", "key_data", "key_impl", "wrap_key_data", "split", "fold_in", "bits", "uniform",
           "normal", "randint", "bernoulli", "categorical", "permutation", "choice",
           "truncated_normal", "gumbel", "exponential", "laplace", "logistic", "cauchy",
           "rademacher", "lognormal", "multivariate_normal", "threefry_2x32"]

Shape = Sequence[int]
_U32 = np.dtype(np.uint32)


# ---------------------------------------------------------------- keys

def PRNGKey(seed: Any) -> Any:
    """A key from an integer seed: its high and low 32 bits (as JAX does for 64-bit seeds).

    >>> PRNGKey(2 ** 32 + 5)
    array([1, 5], dtype=uint32)
    """
    seed = asarray(seed)
    if get_aval(seed).shape:
        raise TypeError(f"PRNGKey: the seed must be a scalar, got shape {get_aval(seed).shape}")
    if get_aval(seed).dtype.kind not in "iub":
        raise TypeError(f"PRNGKey: the seed must be an integer, got {get_aval(seed).dtype}")
    seed = lax.convert_element_type(seed, np.int64)
    hi = lax.convert_element_type(shift_right_logical(seed, np.int64(32)), _U32)
    lo = lax.convert_element_type(lax.bitwise_and(seed, np.int64(0xFFFFFFFF)), _U32)
    return lax.concatenate([lax.reshape(hi, (1,)), lax.reshape(lo, (1,))], 0)


_IMPL = "threefry2x32"


class KeyArray:
    """An array of typed PRNG keys, as ``jax.random.key`` makes them: shape ``key_shape``,
    dtype ``key<fry>``, over ``uint32`` data of shape ``key_shape + (2,)``.

    It is a pytree whose one leaf is that data, so it passes through ``jit``, ``vmap`` (its
    key axes are the data's leading axes), ``lax.scan`` and friends; ``key_data`` and
    ``wrap_key_data`` convert. Every ``fungrad.random`` function accepts it wherever it
    accepts a raw ``uint32[2]`` key and gives the same bits; ``split`` and ``fold_in`` of a
    typed key return typed keys.

    >>> from fungrad.dtypes import prng_key
    >>> keys = split(key(0), 3)
    >>> keys.shape, keys.dtype, fnp.issubdtype(keys.dtype, prng_key)
    ((3,), key<fry>, True)
    >>> key_data(keys[1])
    array([ 928981903, 3453687069], dtype=uint32)
    """

    __slots__ = ("_data",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, data: Any) -> None:
        self._data = data

    @property
    def dtype(self) -> KeyDType:
        return KeyDType(_IMPL)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(get_aval(self._data).shape[:-1])

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a scalar key array")
        return self.shape[0]

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self)))

    def __getitem__(self, index: Any) -> KeyArray:
        index = index if isinstance(index, tuple) else (index,)
        # the data's last axis (the two words of a key) is never indexed
        return KeyArray(self._data[index + ((slice(None),) if Ellipsis in index else (Ellipsis,))])

    def reshape(self, *shape: Any) -> KeyArray:
        shape = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape
        return KeyArray(fnp.reshape(self._data, tuple(shape) + (2,)))

    def ravel(self) -> KeyArray:
        return self.reshape(-1)

    def __eq__(self, other: object) -> Any:
        if not isinstance(other, KeyArray):
            return NotImplemented
        return fnp.all(fnp.equal(self._data, other._data), axis=-1)

    def __ne__(self, other: object) -> Any:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else fnp.logical_not(equal)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError("a typed PRNG key array cannot be converted to a NumPy array (its dtype "
                        "is key<fry>). Use fungrad.random.key_data(keys) for the uint32 data")

    def __repr__(self) -> str:
        return f"Array({self.shape}, dtype={self.dtype}) overlaying:\n{self._data}"

    def tree_flatten(self) -> tuple[tuple[Any], None]:
        return (self._data,), None

    @classmethod
    def tree_unflatten(cls, aux: None, children: Sequence[Any]) -> KeyArray:
        return cls(children[0])


register_pytree_node_class(KeyArray)


def _check_impl(name: str, impl: Any) -> None:
    if impl is not None and str(impl) != _IMPL:
        raise NotImplementedError(f"random.{name}: only the {_IMPL!r} generator is implemented, "
                                  f"got impl={impl!r}")


def key(seed: Any, *, impl: Any = None) -> KeyArray:
    """A typed key from an integer seed (``jax.random.key``): a scalar of dtype ``key<fry>``
    whose data is ``PRNGKey(seed)``.

    >>> key(1)
    Array((), dtype=key<fry>) overlaying:
    [0 1]
    """
    _check_impl("key", impl)
    return KeyArray(PRNGKey(seed))


def key_data(keys: Any) -> Any:
    """The ``uint32`` data of keys, shape ``keys.shape + (2,)`` (raw keys are their own data).

    >>> key_data(key(3))
    array([0, 3], dtype=uint32)
    """
    return _check_keys("key_data", keys, batched=True)


def wrap_key_data(key_bits_array: Any, *, impl: Any = None) -> KeyArray:
    """Typed keys from their ``uint32`` data of shape ``(..., 2)``.

    >>> wrap_key_data(np.array([0, 3], np.uint32)).shape
    ()
    """
    _check_impl("wrap_key_data", impl)
    if isinstance(key_bits_array, KeyArray):
        raise TypeError("random.wrap_key_data: the argument is already a typed key array")
    return KeyArray(_check_keys("wrap_key_data", key_bits_array, batched=True))


def key_impl(keys: Any) -> str:
    """The name of the generator behind ``keys`` (always ``'threefry2x32'`` in fungrad).

    >>> key_impl(key(0)), key_impl(PRNGKey(0))
    ('threefry2x32', 'threefry2x32')
    """
    _check_keys("key_impl", keys, batched=True)
    return _IMPL


def _check_keys(name: str, keys: Any, batched: bool = False) -> Any:
    """The ``uint32`` data of one key (or of a batch of keys, when ``batched``): typed keys
    are unwrapped, raw keys checked."""
    if isinstance(keys, KeyArray):
        if not batched and keys.shape:
            raise TypeError(f"random.{name}: expected one key, got a key array of shape "
                            f"{keys.shape} (for a batch of keys, use fungrad.vmap)")
        keys = keys._data
    keys = asarray(keys)
    a = get_aval(keys)
    if a.dtype != _U32 or not a.shape or a.shape[-1] != 2 or (not batched and a.shape != (2,)):
        want = "uint32 keys of shape (..., 2)" if batched else "one key, a uint32 array of shape (2,)"
        hint = "" if batched else " (for a batch of keys, use fungrad.vmap)"
        raise TypeError(f"random.{name}: expected {want}, got {a}{hint}")
    return keys


def _halves(k: Any) -> tuple[Any, Any]:
    return (lax.reshape(lax.slice_in_dim(k, 0, 1), ()),
            lax.reshape(lax.slice_in_dim(k, 1, 2), ()))


def _counters(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The high and low 32 bits of a uint64 iota of ``shape``."""
    n = math.prod(shape)
    iota = np.arange(n, dtype=np.uint64).reshape(shape)
    return (iota >> np.uint64(32)).astype(_U32), (iota & np.uint64(0xFFFFFFFF)).astype(_U32)


def _hash_counters(k: Any, shape: tuple[int, ...]) -> list[Any]:
    k1, k2 = _halves(k)
    hi, lo = _counters(shape)
    return threefry2x32(k1, k2, hi, lo)


def split(key: Any, num: int | Shape = 2) -> Any:
    """``num`` new keys (an integer or a shape), stacked along new leading axes.

    >>> split(PRNGKey(0), 2).shape
    (2, 2)
    """
    typed = isinstance(key, KeyArray)
    key = _check_keys("split", key)
    shape = (int(num),) if isinstance(num, (int, np.integer)) else tuple(int(n) for n in num)
    b1, b2 = _hash_counters(key, shape)
    out = lax.concatenate([lax.expand_dims(b1, (len(shape),)),
                           lax.expand_dims(b2, (len(shape),))], len(shape))
    return KeyArray(out) if typed else out


def threefry_2x32(keypair: Any, count: Any) -> Any:
    """The threefry hash of ``count`` (uint32, any shape) under ``keypair``, JAX's layout:
    the flattened counts are split in two halves that form the counter pairs.

    >>> threefry_2x32(PRNGKey(0), np.uint32([0, 1]))
    array([ 928981903, 3453687069], dtype=uint32)
    """
    count = asarray(count)
    shape = get_aval(count).shape
    flat = lax.reshape(count, (math.prod(shape),))
    n = math.prod(shape)
    if n % 2:
        flat = lax.concatenate([flat, np.zeros(1, _U32)], 0)
    half = (n + 1) // 2
    k1, k2 = _halves(keypair)
    x1, x2 = threefry2x32(k1, k2, lax.slice_in_dim(flat, 0, half),
                          lax.slice_in_dim(flat, half, 2 * half))
    out = lax.concatenate([x1, x2], 0)
    return lax.reshape(lax.slice_in_dim(out, 0, n), shape)


def fold_in(key: Any, data: Any) -> Any:
    """A new key that depends on ``key`` and the integer ``data`` (a scalar).

    >>> fold_in(PRNGKey(0), 1).dtype
    dtype('uint32')
    """
    typed = isinstance(key, KeyArray)
    key = _check_keys("fold_in", key)
    data = asarray(data)
    if get_aval(data).shape:
        raise TypeError(f"random.fold_in: data must be a scalar, got shape {get_aval(data).shape}"
                        "; use fungrad.vmap for batches")
    data = lax.reshape(lax.convert_element_type(data, _U32), (1,))
    out = threefry_2x32(key, lax.concatenate([np.zeros(1, _U32), data], 0))
    return KeyArray(out) if typed else out


# ---------------------------------------------------------------- bits and uniforms

def _shape(name: str, shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        raise TypeError(f"random.{name}: shape must be a sequence of ints, got {shape!r}; "
                        f"write ({shape},)")
    return tuple(int(d) for d in shape)


def _random_bits(key: Any, width: int, shape: tuple[int, ...]) -> Any:
    b1, b2 = _hash_counters(key, shape)
    if width == 64:
        u64 = np.dtype(np.uint64)
        hi = shift_left(lax.convert_element_type(b1, u64), np.uint64(32))
        return lax.bitwise_or(hi, lax.convert_element_type(b2, u64))
    bits = lax.bitwise_xor(b1, b2)
    return bits if width == 32 else lax.convert_element_type(bits, np.dtype(f"uint{width}"))


def bits(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Uniformly random bits: unsigned integers of ``dtype``'s width (default uint64).

    >>> bits(PRNGKey(0), (2,), np.uint32)
    array([4070199207, 4202968722], dtype=uint32)
    """
    key = _check_keys("bits", key)
    dtype = np.dtype(np.uint64 if dtype is None else dtype)
    if dtype.kind != "u":
        raise TypeError(f"random.bits: dtype must be an unsigned integer type, got {dtype}")
    return _random_bits(key, dtype.itemsize * 8, _shape("bits", shape))


def _float_dtype(name: str, dtype: Any) -> np.dtype[Any]:
    out: np.dtype[Any] = np.dtype(np.float64 if dtype is None else dtype)
    if out.kind != "f":
        raise TypeError(f"random.{name}: dtype must be a float type, got {out}")
    return out


def _uniform(key: Any, shape: tuple[int, ...], dtype: np.dtype[Any], minval: Any,
             maxval: Any) -> Any:
    info = np.finfo(dtype)
    nbits, nmant = info.bits, info.nmant
    raw = _random_bits(key, nbits, shape)
    udtype = np.dtype(f"uint{nbits}")
    mantissa = shift_right_logical(raw, udtype.type(nbits - nmant))
    one_bits = np.array(1.0, dtype).view(udtype)
    floats = lax.sub(bitcast_convert_type(lax.bitwise_or(mantissa, one_bits), dtype),
                     np.array(1.0, dtype))
    lo = lax.convert_element_type(asarray(minval), dtype)
    hi = lax.convert_element_type(asarray(maxval), dtype)
    return fnp.maximum(lo, fnp.add(fnp.multiply(floats, fnp.subtract(hi, lo)), lo))


def uniform(key: Any, shape: Shape = (), dtype: Any = None, minval: Any = 0.0,
            maxval: Any = 1.0) -> Any:
    """Uniform floats in ``[minval, maxval)``.

    >>> uniform(PRNGKey(0), (2,))
    array([0.41845711, 0.21629545])
    """
    key = _check_keys("uniform", key)
    return _uniform(key, _shape("uniform", shape), _float_dtype("uniform", dtype), minval, maxval)


def normal(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Standard normal samples: ``sqrt(2) erf_inv(u)`` for ``u`` uniform on (-1, 1).

    >>> normal(PRNGKey(0), (2,)).round(6)
    array([-0.205842, -0.784766])
    """
    key = _check_keys("normal", key)
    dtype = _float_dtype("normal", dtype)
    lo = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype))
    u = _uniform(key, _shape("normal", shape), dtype, lo, np.array(1.0, dtype))
    return lax.mul(erf_inv(u), np.array(np.sqrt(2), dtype))


def _clip_integer(x: Any, dtype: np.dtype[Any]) -> Any:
    """``x`` (an integer array) converted to ``dtype``, clipped to its range, not wrapped."""
    src = get_aval(x).dtype
    if src == dtype:
        return x
    s, d = np.iinfo(src), np.iinfo(dtype)
    lo, hi = max(s.min, d.min), min(s.max, d.max)
    return lax.convert_element_type(fnp.clip(x, src.type(lo), src.type(hi)), dtype)


def randint(key: Any, shape: Shape, minval: Any, maxval: Any, dtype: Any = np.int64) -> Any:
    """Integers in ``[minval, maxval)`` (JAX's algorithm: two words of bits, reduced modulo the
    span; bounds broadcast against ``shape``).

    >>> randint(PRNGKey(1), (4,), 0, 100)
    array([28, 45, 15, 61])
    """
    key = _check_keys("randint", key)
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu":
        raise TypeError(f"random.randint: dtype must be an integer type, got {dtype}")
    shape = _shape("randint", shape)
    minval, maxval = asarray(minval), asarray(maxval)
    minval = minval if get_aval(minval).dtype.kind in "iu" else fnp.astype(minval, np.int64)
    maxval = maxval if get_aval(maxval).dtype.kind in "iu" else fnp.astype(maxval, np.int64)
    top = _clip_integer(np.array(np.iinfo(dtype).max, dtype), get_aval(maxval).dtype)
    maxval_out_of_range = fnp.greater(maxval, top)
    lo, hi = _clip_integer(minval, dtype), _clip_integer(maxval, dtype)
    nbits = dtype.itemsize * 8
    k1, k2 = split(key)
    higher, lower = _random_bits(k1, nbits, shape), _random_bits(k2, nbits, shape)
    udtype = np.dtype(f"uint{nbits}")
    span = lax.convert_element_type(fnp.subtract(hi, lo), udtype)
    one = np.array(1, udtype)
    span = fnp.where(fnp.less_equal(hi, lo), one, span)
    span = fnp.where(fnp.logical_and(maxval_out_of_range, fnp.greater(hi, lo)),
                     fnp.add(span, one), span)
    multiplier = _urem(np.array(2 ** (nbits // 2), udtype), span)
    multiplier = _urem(fnp.multiply(multiplier, multiplier), span)
    offset = fnp.add(fnp.multiply(_urem(higher, span), multiplier), _urem(lower, span))
    return fnp.add(lo, lax.convert_element_type(_urem(offset, span), dtype))


def _urem(a: Any, span: Any) -> Any:
    """``a % span`` for unsigned integers, ``a`` where ``span`` is 0 (as XLA's remainder): a span
    that wrapped to 0 covers the whole range, and the bits are used as they are."""
    zero = fnp.equal(span, 0)
    return fnp.where(zero, a, fnp.remainder(a, fnp.where(zero, np.array(1, span.dtype), span)))


def bernoulli(key: Any, p: Any = 0.5, shape: Shape | None = None) -> Any:
    """Booleans that are True with probability ``p``.

    >>> bernoulli(PRNGKey(0), 0.5, (4,))
    array([ True,  True, False, False])
    """
    key = _check_keys("bernoulli", key)
    p = asarray(p)
    if get_aval(p).dtype.kind != "f":
        p = fnp.astype(p, np.float64)
    shape = get_aval(p).shape if shape is None else _shape("bernoulli", shape)
    return fnp.less(_uniform(key, shape, get_aval(p).dtype, 0.0, 1.0), p)


def gumbel(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Standard Gumbel samples: ``-log(-log(u))``.

    >>> gumbel(PRNGKey(0), (2,)).round(6)
    array([ 0.137906, -0.425993])
    """
    key = _check_keys("gumbel", key)
    dtype = _float_dtype("gumbel", dtype)
    u = _uniform(key, _shape("gumbel", shape), dtype, np.finfo(dtype).tiny, 1.0)
    return lax.neg(lax.log(lax.neg(lax.log(u))))


def exponential(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Standard exponential samples: ``-log1p(-u)``.

    >>> exponential(PRNGKey(0), (2,)).round(6)
    array([0.542071, 0.243723])
    """
    key = _check_keys("exponential", key)
    u = _uniform(key, _shape("exponential", shape), _float_dtype("exponential", dtype), 0.0, 1.0)
    return lax.neg(lax.log1p(lax.neg(u)))


def laplace(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Standard Laplace samples."""
    key = _check_keys("laplace", key)
    dtype = _float_dtype("laplace", dtype)
    u = _uniform(key, _shape("laplace", shape), dtype, -1.0 + np.finfo(dtype).epsneg, 1.0)
    return lax.mul(lax.sign(u), lax.log1p(lax.neg(lax.abs(u))))


def logistic(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Standard logistic samples: ``log(u) - log1p(-u)``."""
    key = _check_keys("logistic", key)
    dtype = _float_dtype("logistic", dtype)
    u = _uniform(key, _shape("logistic", shape), dtype, np.finfo(dtype).tiny, 1.0)
    return lax.sub(lax.log(u), lax.log1p(lax.neg(u)))


def cauchy(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Standard Cauchy samples: ``tan(pi (u - 1/2))``."""
    key = _check_keys("cauchy", key)
    dtype = _float_dtype("cauchy", dtype)
    u = _uniform(key, _shape("cauchy", shape), dtype, np.finfo(dtype).eps, 1.0)
    return lax.tan(lax.mul(lax.sub(u, np.array(0.5, dtype)), np.array(np.pi, dtype)))


def rademacher(key: Any, shape: Shape = (), dtype: Any = np.int64) -> Any:
    """-1 or +1 with equal probability."""
    b = fnp.astype(bernoulli(key, 0.5, shape), dtype)
    return fnp.astype(fnp.subtract(fnp.multiply(2, b), 1), dtype)


def lognormal(key: Any, sigma: Any = 1.0, shape: Shape | None = None, dtype: Any = None) -> Any:
    """``exp(sigma * normal)``."""
    dtype = _float_dtype("lognormal", dtype)
    sigma = lax.convert_element_type(asarray(sigma), dtype)
    shape = get_aval(sigma).shape if shape is None else shape
    return fnp.exp(fnp.multiply(normal(key, shape, dtype), sigma))


def truncated_normal(key: Any, lower: Any, upper: Any, shape: Shape | None = None,
                     dtype: Any = None) -> Any:
    """Standard normal samples conditioned on ``lower < x < upper``.

    >>> x = truncated_normal(PRNGKey(0), -1.0, 1.0, (100,))
    >>> bool((x > -1).all() and (x < 1).all())
    True
    """
    key = _check_keys("truncated_normal", key)
    dtype = _float_dtype("truncated_normal", dtype)
    lower = lax.convert_element_type(asarray(lower), dtype)
    upper = lax.convert_element_type(asarray(upper), dtype)
    if shape is None:
        shape = fnp.broadcast_shapes(get_aval(lower).shape, get_aval(upper).shape)
    sqrt2 = np.array(np.sqrt(2), dtype)
    a, b = lax.erf(lax.div(lower, sqrt2)), lax.erf(lax.div(upper, sqrt2))
    out = lax.mul(erf_inv(_uniform(key, _shape("truncated_normal", shape), dtype, a, b)), sqrt2)
    lo = fnp.nextafter(lax.stop_gradient(lower), np.array(np.inf, dtype))
    hi = fnp.nextafter(lax.stop_gradient(upper), np.array(-np.inf, dtype))
    return fnp.clip(out, lo, hi)


# ---------------------------------------------------------------- discrete choices

def _shuffle(key: Any, x: Any, axis: int) -> Any:
    size = math.prod(get_aval(x).shape)
    rounds = int(np.ceil(3 * np.log(max(1, size)) / np.log(np.iinfo(np.uint32).max)))
    for _ in range(rounds):
        key, subkey = split(key)
        sort_keys = _random_bits(subkey, 32, get_aval(x).shape)
        x = lax.sort((sort_keys, x), dimension=axis, num_keys=1)[1]
    return x


def permutation(key: Any, x: Any, axis: int = 0, independent: bool = False) -> Any:
    """A random permutation of ``arange(x)`` (an integer) or of ``x`` along ``axis``.

    >>> permutation(PRNGKey(0), 5)
    array([0, 1, 4, 3, 2])
    """
    key = _check_keys("permutation", key)
    if isinstance(x, (int, np.integer)):
        return _shuffle(key, np.arange(int(x)), 0)
    x = asarray(x)
    a = get_aval(x)
    if not a.shape:
        raise TypeError("random.permutation: x must be an integer or at least 1-dimensional")
    axis = axis % a.ndim
    if independent or a.ndim == 1:
        return _shuffle(key, x, axis)
    order = _shuffle(key, np.arange(a.shape[axis]), 0)
    return fnp.take(x, order, axis=axis)


def choice(key: Any, a: Any, shape: Shape = (), replace: bool = True, p: Any = None,
           axis: int = 0) -> Any:
    """Samples from ``a`` (an array, or ``arange(a)`` for an integer), with or without
    replacement, uniformly or with probabilities ``p``.

    >>> choice(PRNGKey(0), 10, (3,), replace=False)
    array([0, 1, 8])
    """
    key = _check_keys("choice", key)
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"random.choice: shape must be a sequence, got {shape!r}")
    arr = asarray(a)
    arr_aval = get_aval(arr)
    if arr_aval.ndim == 0:
        n = int(a)
    else:
        axis = axis % arr_aval.ndim
        n = arr_aval.shape[axis]
    n_draws = math.prod(shape)
    if n_draws == 0:
        return fnp.zeros(tuple(shape), arr_aval.dtype)
    if n <= 0:
        raise ValueError("random.choice: a must be greater than 0 unless no samples are taken")
    if not replace and n_draws > n:
        raise ValueError(f"random.choice: cannot take a larger sample (size {n_draws}) than the "
                         f"population (size {n}) when replace=False")
    if p is None:
        if replace:
            ind = randint(key, shape, 0, n)
            result = ind if arr_aval.ndim == 0 else fnp.take(arr, ind, axis=axis)
        else:
            perm = permutation(key, n if arr_aval.ndim == 0 else arr, axis)
            result = lax.slice_in_dim(perm, 0, n_draws, axis=0 if arr_aval.ndim == 0 else axis)
    else:
        p = asarray(p)
        if get_aval(p).dtype.kind != "f":
            p = fnp.astype(p, np.float64)
        if get_aval(p).shape != (n,):
            raise ValueError(f"random.choice: p must be None or a 1-D vector of size {n} "
                             f"(a.shape[axis]), got shape {get_aval(p).shape}")
        if replace:
            cdf = fnp.cumsum(p)
            total = lax.slice_in_dim(cdf, n - 1, n)
            u = uniform(key, shape, get_aval(cdf).dtype)
            r = fnp.multiply(lax.reshape(total, ()), fnp.subtract(1, u))
            ind = fnp.astype(fnp.searchsorted(cdf, r), np.int64)
        else:
            g = fnp.add(gumbel(key, (n,), get_aval(p).dtype), fnp.log(p))
            ind = fnp.astype(lax.top_k(g, n_draws)[1], np.int64)
        result = ind if arr_aval.ndim == 0 else fnp.take(arr, ind, axis=axis)
    out_shape = (tuple(shape) if arr_aval.ndim == 0 else
                 arr_aval.shape[:axis] + tuple(shape) + arr_aval.shape[axis + 1:])
    return fnp.reshape(result, out_shape)


def categorical(key: Any, logits: Any, axis: int = -1, shape: Shape | None = None,
                replace: bool = True) -> Any:
    """Category indices drawn with probabilities ``softmax(logits, axis)`` (the Gumbel-max
    trick, as JAX draws them).

    >>> categorical(PRNGKey(0), np.log(np.array([0.1, 0.2, 0.7])), shape=(5,))
    array([2, 2, 2, 1, 1])
    """
    key = _check_keys("categorical", key)
    logits = asarray(logits)
    a = get_aval(logits)
    if a.dtype.kind != "f":
        logits = fnp.astype(logits, np.float64)
        a = get_aval(logits)
    axis = axis % a.ndim if axis >= 0 else axis
    batch_shape = tuple(np.delete(np.array(a.shape, dtype=np.int64), axis).tolist())
    shape = batch_shape if shape is None else _shape("categorical", shape)
    if shape[len(shape) - len(batch_shape):] != batch_shape:
        raise ValueError(f"random.categorical: shape {shape} must end with the batch shape "
                         f"{batch_shape} (logits.shape without the axis)")
    prefix = shape[:len(shape) - len(batch_shape)]
    if replace:
        neg_axis = axis - a.ndim if axis >= 0 else axis
        logits_shape = list(shape[len(shape) - len(batch_shape):])
        logits_shape.insert(neg_axis % a.ndim, a.shape[neg_axis])
        g = gumbel(key, (*prefix, *logits_shape), a.dtype)
        return fnp.argmax(fnp.add(g, lax.expand_dims(logits, tuple(range(len(prefix))))),
                          axis=neg_axis)
    k = math.prod(prefix)
    if k > a.shape[axis]:
        raise ValueError(f"random.categorical: {k} samples without replacement exceed the "
                         f"{a.shape[axis]} categories")
    perturbed = fnp.add(logits, gumbel(key, a.shape, a.dtype))
    idx = lax.top_k(fnp.moveaxis(perturbed, axis, -1), k)[1]
    # int32, as JAX's top_k indices
    return fnp.astype(fnp.reshape(fnp.moveaxis(idx, -1, 0), shape), np.int32)


def multivariate_normal(key: Any, mean: Any, cov: Any, shape: Shape | None = None,
                        dtype: Any = None, method: str = "cholesky") -> Any:
    """Samples of N(mean, cov): ``mean + factor @ z`` with ``factor`` from the Cholesky
    factorization (``method='cholesky'``), or ``eigh``/``svd`` of ``cov``."""
    key = _check_keys("multivariate_normal", key)
    dtype = _float_dtype("multivariate_normal", dtype)
    mean = lax.convert_element_type(asarray(mean), dtype)
    cov = lax.convert_element_type(asarray(cov), dtype)
    ma, ca = get_aval(mean), get_aval(cov)
    if ma.ndim < 1 or ca.ndim < 2 or ca.shape[-2:] != (ma.shape[-1], ma.shape[-1]):
        raise ValueError(f"random.multivariate_normal: mean {ma} and cov {ca} must have shapes "
                         "(..., n) and (..., n, n)")
    if shape is None:
        shape = fnp.broadcast_shapes(ma.shape[:-1], ca.shape[:-2])
    if method == "cholesky":
        factor = fnp.linalg.cholesky(cov)
    elif method == "eigh":
        w, v = fnp.linalg.eigh(cov)
        factor = fnp.multiply(v, fnp.sqrt(w)[..., None, :])
    elif method == "svd":
        u, s, _ = fnp.linalg.svd(cov)
        factor = fnp.multiply(u, fnp.sqrt(s)[..., None, :])
    else:
        raise ValueError(f"random.multivariate_normal: method must be 'cholesky', 'eigh' or "
                         f"'svd', got {method!r}")
    z = normal(key, (*_shape("multivariate_normal", shape), ma.shape[-1]), dtype)
    return fnp.add(mean, fnp.einsum("...ij,...j->...i", factor, z))


# Concrete results are fungrad.Arrays, as JAX's are (tracers pass through).
wrap_namespace(globals())

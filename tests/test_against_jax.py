"""fungrad against JAX: the same programs, run through the same transforms in both libraries.

Each program is written once as ``fn(xp, L, *args)``: ``xp`` is ``fungrad.numpy`` or ``jax.numpy``
and ``L`` the library's namespace (``L.nn``, ``L.lax``, its transforms and the custom-rule functions
built the same way in both). Values, pytree structure, shapes, dtypes and errors must agree.

JAX is not a dependency of fungrad (CI does not install it): without it the module is skipped.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jax.config.update("jax_platforms", "cpu")
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402


def _init_cpu_backend_for_fast_compiles():
    """XLA reads XLA_FLAGS once, when the backend starts: start it now with flags that cut
    compile time ~4x for these small programs (no LLVM optimization, no fusion emitters), then
    put the environment back. Numerics are unaffected (XLA's CPU math is IEEE either way)."""
    saved = os.environ.get("XLA_FLAGS")
    os.environ["XLA_FLAGS"] = ((saved or "") + " --xla_backend_optimization_level=0"
                               " --xla_cpu_use_fusion_emitters=false")
    try:
        jax.devices()
    finally:
        if saved is None:
            del os.environ["XLA_FLAGS"]
        else:
            os.environ["XLA_FLAGS"] = saved


_init_cpu_backend_for_fast_compiles()

import fungrad  # noqa: E402
import fungrad.numpy as fnp  # noqa: E402
from fungrad.errors import NotDifferentiableError  # noqa: E402

RTOL, ATOL = 1e-10, 1e-12
B = 3  # batch size for the vmap cases

# ----------------------------------------------------------------------------- helpers


def _custom_functions(L: SimpleNamespace) -> None:
    """The custom-rule functions, defined by the same code with each library's decorators."""
    xp = L.np

    @L.custom_jvp
    def log1pexp(x):
        return xp.log1p(xp.exp(x))

    @log1pexp.defjvp
    def _log1pexp_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return log1pexp(x), t * L.nn.sigmoid(x)

    @L.custom_jvp
    def scaled_prod(x, y):
        return x * y

    # One linear rule per argument; deliberately not the true derivative (2x in the first),
    # so only a library that uses the rule gets the expected numbers.
    scaled_prod.defjvps(lambda tx, ans, x, y: 2.0 * tx * y, lambda ty, ans, x, y: x * ty)

    @L.custom_vjp
    def clip_gradient(x, y):
        return xp.sin(x) * y

    def _clip_fwd(x, y):
        return clip_gradient(x, y), (xp.cos(x), xp.sin(x), y)

    def _clip_bwd(res, g):
        cos_x, sin_x, y = res
        return xp.clip(g * cos_x * y, -0.3, 0.3), g * sin_x

    clip_gradient.defvjp(_clip_fwd, _clip_bwd)
    L.log1pexp, L.scaled_prod, L.clip_gradient = log1pexp, scaled_prod, clip_gradient


def _jax_hvp(f, primals, tangents):
    # fungrad.hvp is forward-over-reverse; this is its definition in JAX terms.
    grads = jax.grad(f, argnums=tuple(range(len(primals))))
    out = jax.jvp(grads, tuple(primals), tuple(tangents))[1]
    return out[0] if len(primals) == 1 else out


_TRANSFORMS = ("grad", "value_and_grad", "vjp", "jvp", "jacfwd", "jacrev", "hessian", "linearize",
               "linear_transpose", "vmap", "jit", "custom_jvp", "custom_vjp", "checkpoint")
FG = SimpleNamespace(name="fungrad", np=fnp, nn=fungrad.nn, lax=fungrad.lax, hvp=fungrad.hvp,
                     stop_gradient=fungrad.stop_gradient, tree_map=fungrad.tree_util.tree_map,
                     tree_leaves=fungrad.tree_util.tree_leaves,
                     **{t: getattr(fungrad, t) for t in _TRANSFORMS})
JX = SimpleNamespace(name="jax", np=jnp, nn=jax.nn, lax=jax.lax, hvp=_jax_hvp,
                     stop_gradient=jax.lax.stop_gradient, tree_map=jax.tree_util.tree_map,
                     tree_leaves=jax.tree_util.tree_leaves,
                     **{t: getattr(jax, t) for t in _TRANSFORMS})
_custom_functions(FG)
_custom_functions(JX)


def _structure(tree):
    """The pytree skeleton with (shape, dtype) leaves, comparable across the two libraries.

    Named tuples (each library has its own result classes) compare as tuples."""
    if isinstance(tree, dict):
        return {k: _structure(v) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        return (type(tree) is list, tuple(_structure(v) for v in tree))
    return (np.shape(tree), np.asarray(tree).dtype)


def _leaves(tree):
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree) for leaf in _leaves(tree[k])]
    if isinstance(tree, (tuple, list)):
        return [leaf for v in tree for leaf in _leaves(v)]
    return [tree]


def assert_same(fg, jx, rtol=RTOL, atol=ATOL):
    """fungrad's result ``fg`` matches JAX's ``jx`` in structure, shapes, dtypes and values."""
    # README, differences from JAX: fungrad hands back NumPy arrays (NumPy scalars for 0-d).
    for leaf in _leaves(fg):
        assert isinstance(leaf, (np.ndarray, np.generic)), type(leaf)
    for leaf in _leaves(jx):
        assert isinstance(leaf, jax.Array), type(leaf)
    assert _structure(fg) == _structure(jx)
    for a, b in zip(_leaves(fg), _leaves(jx)):
        np.testing.assert_allclose(a, np.asarray(b), rtol=rtol, atol=atol)


def _map(f, *trees):
    """tree_map over NumPy data (plain dicts/tuples/lists), shared by both sides."""
    return jax.tree_util.tree_map(f, *trees)


def _like(rng, tree, scale=1.0):
    return _map(lambda x: (scale * rng.standard_normal(np.shape(x))).astype(np.asarray(x).dtype),
                tree)


@dataclasses.dataclass(frozen=True)
class Program:
    name: str
    fn: Callable[..., Any]          # fn(xp, L, *args) -> array or pytree of arrays
    make_args: Callable[[Any], tuple]  # rng -> args (pytrees of float64 arrays)
    rev: bool = True                # reverse mode applies (not for while_loop, as in JAX)
    fwd: bool = True                # forward mode applies (not for custom_vjp, as in JAX)
    eager: bool = True              # False: uses `.at` on an input (see bind)
    rtol: float = RTOL
    xfail: dict = dataclasses.field(default_factory=dict)  # case name -> reason (strict xfail)

    def __hash__(self):
        return hash(self.name)

    def bind(self, L):
        f = lambda *args: self.fn(L.np, L, *args)  # noqa: E731
        if not self.eager and L is FG:
            # README, differences from JAX: eager fungrad arrays are NumPy arrays without `.at`,
            # so where the program updates an input it may get a concrete one, it runs traced.
            f = fungrad.jit(f)
        return f

    def scalar(self, L):
        """The program reduced to a scalar loss, for grad/hessian/hvp."""
        f = self.bind(L)

        def loss(*args):
            return sum(0.5 * L.np.sum(leaf ** 2) for leaf in L.tree_leaves(f(*args)))
        return loss

    def args(self):
        return self.make_args(np.random.default_rng(zlib.crc32(self.name.encode())))


def _n(*shape, lo=None):
    """Random normal args (or uniform in [lo, lo + 1] for domain-restricted functions)."""
    if lo is None:
        return lambda rng: rng.standard_normal(shape)
    return lambda rng: lo + rng.random(shape)


def _args(*makers):
    return lambda rng: tuple(m(rng) if callable(m) else m for m in makers)


def _mlp_params(rng):
    return {"w1": rng.standard_normal((4, 5)) * 0.5, "b1": rng.standard_normal(5) * 0.1,
            "w2": rng.standard_normal((5, 3)) * 0.5, "b2": rng.standard_normal(3) * 0.1}


def _layers(rng):
    return [(rng.standard_normal((3, 4)) * 0.5, rng.standard_normal(4)),
            (rng.standard_normal((4, 2)) * 0.5, rng.standard_normal(2))]


def _mlp(xp, L, p, x):
    return xp.tanh(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]


def _mlp_loss(xp, L, layers, x, y):
    h = x
    for w, b in layers[:-1]:
        h = xp.tanh(xp.dot(h, w) + b)
    w, b = layers[-1]
    return xp.mean((h @ w + b - y) ** 2)


def _at_updates(xp, L, x, y):
    z = x.at[1].set(y).at[0, 2].add(x[0, 0] ** 2).at[:, 1].multiply(y[:3])
    return z.at[np.array([0, 2, 0])].add(xp.sin(y[:4]))  # duplicate index: contributions add


def _rnn(xp, L, h0, xs, w):
    def step(h, x):
        h = xp.tanh(w @ h + x)
        return h, xp.sum(h ** 2)
    return L.lax.scan(step, h0, xs)


def _fori(xp, L, x, y):
    def body(i, c):
        a, b = c
        # (0.1 * i) has an explicit dtype: README, differences from JAX: fungrad promotes like
        # NumPy 2 (float * int64 array -> float64, which would turn a float32 carry into float64);
        # JAX's weak types keep float32. See test_documented_promotion_difference.
        return a * xp.cos(b) + (0.1 * i).astype(a.dtype), b + 0.3 * xp.sin(a)
    return L.lax.fori_loop(0, 4, body, (x, y))


def _while(xp, L, x):
    def body(c):
        v, i = c
        return 0.9 * xp.sin(v) + v * 0.5, i + 1
    return L.lax.while_loop(lambda c: c[1] < 5, body, (x, 0))[0]


def _spd(xp, a):
    return a @ a.T + 4.0 * xp.eye(a.shape[0])


def _eigh(xp, L, a):
    w, v = xp.linalg.eigh((a + a.T) / 2)
    return xp.concatenate([w, (v ** 2).ravel()])  # v ** 2: the eigenvectors' sign is arbitrary


PROGRAMS = [
    Program("elementwise", lambda xp, L, x: xp.sin(x) * xp.exp(-x ** 2)
            + xp.log1p(x ** 2) / xp.cosh(x) + xp.sqrt(xp.abs(x) + 1.0) ** 1.5
            - xp.arctan(x) * xp.expm1(x / 3), _args(_n(5))),
    Program("broadcast_binary", lambda xp, L, x, y: xp.tanh(x[:, None] * y)
            - xp.arctan2(y, 2.0 + x[:, None]) + x[:, None] / (1.0 + y ** 2), _args(_n(3), _n(4))),
    Program("pow_log", lambda xp, L, x, y: x ** y + xp.power(y, 2) * xp.sqrt(x) - xp.log1p(x) / x,
            _args(_n(4, lo=0.5), _n(4))),
    # Found a bug here once: eager linearization added log's coefficient (x itself) as a second
    # residual when x already was one.
    Program("log_used_twice", lambda xp, L, x: xp.log(x) + xp.log(x) / x, _args(_n(4, lo=0.5))),
    Program("mlp_dict_params", _mlp, _args(_mlp_params, _n(6, 4))),
    Program("mlp_list_of_tuples_loss", _mlp_loss, _args(_layers, _n(5, 3), _n(5, 2))),
    Program("softmax", lambda xp, L, x: L.nn.softmax(x, axis=-1) * x, _args(_n(3, 4))),
    Program("log_softmax", lambda xp, L, x: L.nn.log_softmax(x, axis=0), _args(_n(3, 4))),
    Program("logsumexp", lambda xp, L, x: L.nn.logsumexp(x, axis=1) + L.nn.gelu(x[:, 0]),
            _args(_n(3, 4))),
    Program("reductions", lambda xp, L, x: xp.stack([
        xp.sum(x), xp.mean(x, axis=0).sum(), xp.max(x, axis=1).sum(), xp.prod(x, axis=0).sum(),
        xp.min(x), xp.var(x, axis=1).sum(), xp.std(x), xp.cumsum(x, axis=0)[-1, 1]]),
        _args(_n(3, 4))),
    Program("indexing", lambda xp, L, x: xp.concatenate([
        x[1:, ::2].ravel() * x[0, 1], x[np.array([2, 0, 2])][:, -1], x[..., 1], x[-1]]),
        _args(_n(3, 4))),
    Program("at_set_add", _at_updates, _args(_n(3, 4), _n(4)), eager=False),
    Program("where_select", lambda xp, L, x, y: xp.where(x > 0, xp.sin(x), x ** 2)
            + L.lax.select(y > 0.2, x * y, y) + xp.clip(x, -0.5, 0.5) + xp.maximum(x, y),
            _args(_n(6), _n(6))),
    Program("shapes", lambda xp, L, x, y: xp.concatenate([x, y.T], axis=0).reshape(2, -1).T
            @ xp.stack([x[0], y[:, 1]], axis=1).transpose() + xp.squeeze(x[:1]).sum(),
            _args(_n(2, 3), _n(3, 2))),
    Program("einsum_sort", lambda xp, L, x, y: xp.sort(xp.einsum("ij,jk->ik", x, y).ravel())
            * xp.outer(x[0], y[:, 0]).ravel()[:4].sum(), _args(_n(2, 3), _n(3, 2))),
    Program("linalg_solve", lambda xp, L, a, b: xp.linalg.solve(a + 4.0 * xp.eye(4), b),
            _args(_n(4, 4), _n(4, 2))),
    Program("linalg_cholesky", lambda xp, L, a: xp.linalg.cholesky(_spd(xp, a)), _args(_n(4, 4))),
    Program("linalg_inv", lambda xp, L, a: xp.linalg.inv(a + 4.0 * xp.eye(4)), _args(_n(4, 4))),
    Program("linalg_slogdet", lambda xp, L, a: xp.linalg.slogdet(a + 4.0 * xp.eye(4))[1]
            * xp.linalg.det(_spd(xp, a)), _args(_n(4, 4))),
    Program("linalg_eigh", _eigh, _args(_n(4, 4))),
    Program("linalg_svdvals", lambda xp, L, a: xp.linalg.svd(a, compute_uv=False),
            _args(_n(4, 3))),
    Program("linalg_qr", lambda xp, L, a: tuple(xp.linalg.qr(a)), _args(_n(4, 3))),
    Program("lax_cond", lambda xp, L, x, y: L.lax.cond(
        x[0] > 0, lambda x, y: xp.sin(x) * y, lambda x, y: xp.cos(x) + y ** 2, x, y),
        _args(_n(4), _n(4))),
    Program("lax_scan_rnn", _rnn,
            _args(_n(3), _n(5, 3), lambda rng: 0.5 * rng.standard_normal((3, 3)))),
    Program("lax_fori_loop", _fori, _args(_n(3), _n(3))),
    Program("lax_while_loop", _while, _args(_n(3)), rev=False),
    Program("custom_jvp", lambda xp, L, x, y: L.log1pexp(x * 3.0) * L.scaled_prod(y, x),
            _args(_n(4), _n(4))),
    # JAX refuses forward mode on a custom_vjp function (see test_errors_agree).
    Program("custom_vjp", lambda xp, L, x, y: L.clip_gradient(x, y) * y, _args(_n(4), _n(4)),
            fwd=False),
    Program("stop_gradient_checkpoint", lambda xp, L, x: x * L.stop_gradient(xp.sin(x))
            + L.checkpoint(lambda v: xp.sin(xp.sin(v)) * v)(x), _args(_n(4))),
    Program("dict_output", lambda xp, L, x, y: {"s": xp.sin(x), "p": (x * y, xp.sum(y ** 3))},
            _args(_n(3), _n(3))),
]


# ----------------------------------------------------------------------------- transforms
# Each entry: (needs forward mode, needs reverse mode, run(L, program, args, extras) -> result).
# `extras` holds the random tangents/cotangents/batches, the same NumPy data for both libraries.


def _all(args):
    return tuple(range(len(args)))


def _vjp(L, p, a, e):
    out, pullback = L.vjp(p.bind(L), *a)
    return out, pullback(e["ct"])


def _linear_transpose(L, p, a, e):
    f = p.bind(L)
    return L.linear_transpose(lambda *t: L.jvp(f, a, t)[1], *a)(e["ct"])


def _grad_grad(L, p, a, e):
    # A scalar function of one scalar: the loss along the line a + t * v, differentiated twice.
    loss = p.scalar(L)
    return L.grad(L.grad(lambda t: loss(*L.tree_map(lambda x, v: x + t * v, a, e["v"]))))(0.0)


def _vmap_grad(L, p, a, e):
    # Per-example gradients: the first argument batched, the rest shared.
    in_axes = (0,) + (None,) * (len(a) - 1)
    return L.vmap(L.grad(p.scalar(L)), in_axes=in_axes)(e["batch"][0], *a[1:])


def _vmap_grad_axes(L, p, a, e):
    # Every argument batched: the first on its last axis, gradients stacked on their last axis.
    in_axes = (_map(lambda x: -1 if x.ndim else 0, a[0]),) + (0,) * (len(a) - 1)
    return L.vmap(L.grad(p.scalar(L), argnums=_all(a)), in_axes=in_axes,
                  out_axes=-1)(e["batch_last"], *e["batch"][1:])


def _vmap_jvp(L, p, a, e):
    # A batch of tangents for the same primals (out_axes moves the batch to the end).
    f = p.bind(L)
    return L.vmap(lambda *t: L.jvp(f, a, t)[1], in_axes=0, out_axes=-1)(*e["tangent_batch"])


TRANSFORMS = {
    "grad": (False, True, lambda L, p, a, e: L.grad(p.scalar(L))(*a)),
    "grad_argnums": (False, True, lambda L, p, a, e: L.grad(p.scalar(L), argnums=_all(a))(*a)),
    "grad_last_arg": (False, True, lambda L, p, a, e: L.grad(p.scalar(L),
                                                             argnums=len(a) - 1)(*a)),
    "grad_has_aux": (False, True, lambda L, p, a, e: L.grad(
        lambda *a: (p.scalar(L)(*a), p.bind(L)(*a)), has_aux=True)(*a)),
    "value_and_grad": (False, True, lambda L, p, a, e: _value_and_grad(L, p, a)),
    "vjp": (False, True, _vjp),
    "jvp": (True, False, lambda L, p, a, e: L.jvp(p.bind(L), a, e["v"])),
    "jacfwd": (True, False, lambda L, p, a, e: L.jacfwd(p.bind(L), argnums=_all(a))(*a)),
    "jacrev": (False, True, lambda L, p, a, e: L.jacrev(p.bind(L), argnums=_all(a))(*a)),
    "hessian": (True, True, lambda L, p, a, e: L.hessian(p.scalar(L))(*a)),
    "grad_grad": (False, True, _grad_grad),
    "jacfwd_jacrev": (True, True, lambda L, p, a, e: L.jacfwd(L.jacrev(
        lambda x: p.bind(L)(x, *a[1:])))(a[0])),
    "hvp": (True, True, lambda L, p, a, e: L.hvp(p.scalar(L), a, e["v"])),
    "linearize": (True, False, lambda L, p, a, e: (lambda y, f_jvp: (y, f_jvp(*e["v"])))(
        *L.linearize(p.bind(L), *a))),
    "linear_transpose": (True, True, _linear_transpose),
    "vmap_grad": (False, True, _vmap_grad),
    "vmap_grad_axes": (False, True, _vmap_grad_axes),
    "vmap_jvp": (True, False, _vmap_jvp),
    "jit_grad": (False, True, lambda L, p, a, e: L.jit(L.grad(p.scalar(L),
                                                             argnums=_all(a)))(*a)),
    "jit_jvp": (True, False, lambda L, p, a, e: L.jit(lambda *a: L.jvp(p.bind(L), a,
                                                                       e["v"]))(*a)),
}


def _extras(program, args):
    """Random tangents, cotangents and batches: the same NumPy data for both libraries."""
    rng = np.random.default_rng(1234)
    out = _map(lambda s: np.zeros(s.shape, s.dtype), jax.eval_shape(program.bind(JX), *args))
    batch = tuple(_map(lambda x: x + _like(rng, np.stack([x] * B), 0.05), arg) for arg in args)
    batch_last = _map(lambda x: np.moveaxis(x, 0, -1) if x.ndim > 1 else x, batch[0])
    return {"v": _like(rng, args), "ct": _like(rng, out), "batch": batch, "batch_last": batch_last,
            "tangent_batch": _map(lambda x: _like(rng, np.stack([x] * B)), args)}


def _applicable(program):
    return [name for name, (needs_fwd, needs_rev, _) in TRANSFORMS.items()
            if not (needs_fwd and not program.fwd) and not (needs_rev and not program.rev)]


def _compute_jax_results(program):
    """JAX's answers for every case of ``program``, from ONE jitted function.

    Eager JAX compiles each primitive at each new shape (seconds per program); one jit per
    program keeps the module fast. jit does not change JAX's semantics, only how it runs."""
    args = program.args()
    args32 = _map(lambda x: x.astype(np.float32), args)

    def everything(args, extras, args32):
        out = {name: TRANSFORMS[name][2](JX, program, args, extras)
               for name in _applicable(program)}
        out["value"] = program.bind(JX)(*args)
        if program.rev:
            out["value_and_grad_float32"] = _value_and_grad(JX, program, args32)
        return out
    return jax.block_until_ready(jax.jit(everything)(args, _extras(program, args), args32))


_POOL: list[ThreadPoolExecutor] = []
_FUTURES: dict[str, Future] = {}


def _submit(programs):
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=2))
    for p in programs:
        if p.name not in _FUTURES:
            _FUTURES[p.name] = _POOL[0].submit(_compute_jax_results, p)


def jax_results(program):
    _submit([program])
    return _FUTURES[program.name].result()


@pytest.fixture(scope="module", autouse=True)
def _compile_jax_ahead(request):
    """Start JAX's compiles for the selected tests' programs on two threads (XLA compiles
    without the GIL): the module runs in about 60% of the time it takes one after another."""
    params = (getattr(getattr(item, "callspec", None), "params", {})
              for item in request.session.items)
    _submit([p["program"] for p in params if isinstance(p.get("program"), Program)])
    yield
    if _POOL:
        _POOL.pop().shutdown(cancel_futures=True)
        _FUTURES.clear()


def _value_and_grad(L, program, args):
    return L.value_and_grad(program.scalar(L), argnums=_all(args))(*args)


def _xfail(program, case):
    reason = program.xfail.get(case)
    # Every disagreement found so far is fungrad raising a TypeError where JAX computes.
    return [pytest.mark.xfail(strict=True, raises=TypeError, reason=reason)] if reason else []


def _cases():
    for p in PROGRAMS:
        for name in _applicable(p):
            yield pytest.param(p, name, id=f"{p.name}-{name}", marks=_xfail(p, name))


# ----------------------------------------------------------------------------- tests


@pytest.mark.parametrize("program", [pytest.param(p, id=p.name, marks=_xfail(p, "value"))
                                     for p in PROGRAMS])
def test_value(program):
    assert_same(program.bind(FG)(*program.args()), jax_results(program)["value"],
                rtol=program.rtol)


@pytest.mark.parametrize("program,transform", list(_cases()))
def test_transform(program, transform):
    args = program.args()
    fg = TRANSFORMS[transform][2](FG, program, args, _extras(program, args))
    assert_same(fg, jax_results(program)[transform], rtol=program.rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("program", [
    pytest.param(p, id=p.name, marks=_xfail(p, "value_and_grad")) for p in PROGRAMS if p.rev])
def test_dtypes(program, dtype):
    # float32 stays float32 in both (NumPy 2 promotion in fungrad, JAX's rules with x64 on);
    # assert_same compares every leaf's dtype.
    args = _map(lambda x: x.astype(dtype), program.args())
    fg = _value_and_grad(FG, program, args)
    if dtype == np.float32:
        jx, tol = jax_results(program)["value_and_grad_float32"], 2e-4
    else:
        jx, tol = jax_results(program)["value_and_grad"], program.rtol
    assert_same(fg, jx, rtol=tol, atol=tol)
    for g in _leaves(fg[1]):
        assert g.dtype == dtype


def _int_input(L):
    return L.grad(lambda x: L.np.sum(x * 2.0))(np.arange(3))


def _non_scalar(L):
    return L.grad(lambda x: L.np.sin(x))(np.ones(3))


def _while_reverse(L):
    return L.grad(lambda x: L.np.sum(_while(L.np, L, x)))(np.ones(3))


def _custom_vjp_forward(L):
    return L.jvp(lambda x: L.clip_gradient(x, x), (np.ones(3),), (np.ones(3),))


def _bad_cotangent(L):
    return L.vjp(L.np.sin, np.ones(3))[1](np.ones(4))


def _aux_not_pair(L):
    return L.grad(lambda x: L.np.sum(x), has_aux=True)(np.ones(3))


@pytest.mark.parametrize("program,fungrad_error", [
    (_int_input, NotDifferentiableError),
    (_non_scalar, NotDifferentiableError),
    (_while_reverse, NotDifferentiableError),
    (_custom_vjp_forward, NotDifferentiableError),
    (_bad_cotangent, ValueError),
    (_aux_not_pair, TypeError),
], ids=lambda v: getattr(v, "__name__", ""))
def test_errors_agree(program, fungrad_error):
    # Both reject the misuse; JAX's exception types differ (TypeError, ValueError).
    with pytest.raises(Exception):
        program(JX)
    with pytest.raises(fungrad_error):
        program(FG)


def test_documented_promotion_difference():
    # README, differences from JAX: NumPy 2 promotion. A Python float times an int64 array is a
    # (strong) float64 array in fungrad, a weakly typed float in JAX, so adding it to float32
    # gives float64 in fungrad and float32 in JAX (why _fori casts 0.1 * i explicitly).
    def f(xp, x):
        return x + 0.1 * xp.arange(3)
    x = np.ones(3, np.float32)
    assert f(fnp, x).dtype == np.float64
    assert jnp.asarray(f(jnp, x)).dtype == np.float32


# ----------------------------------------------------------------------------- scipy and typed keys
# Programs on fungrad.scipy (incomplete gamma/beta and the distribution functions built on them,
# the Bessel and entropy functions) and on typed PRNG keys, through every transform above.

import fungrad.scipy  # noqa: E402
import jax.scipy.special  # noqa: E402
import jax.scipy.stats  # noqa: E402

FG.scipy, JX.scipy = fungrad.scipy, jax.scipy
FG.random, JX.random = fungrad.random, jax.random


def _incomplete(xp, L, x):
    sp = L.scipy.special
    return xp.stack([sp.gammainc(2.5, x), sp.gammaincc(0.7, 3.0 * x), sp.betainc(2.0, 3.5, x / 2),
                     sp.gammainc(40.0, 35.0 * x)])


def _distributions_and_small_special(xp, L, x):
    st, sp = L.scipy.stats, L.scipy.special
    return (st.gamma.cdf(x, 2.5, 0.1, 2.0) + st.beta.sf(x / 2, 2.0, 3.0)
            + st.poisson.cdf(3.0, 1.0 + x) + st.gamma.logsf(x, 1.5) + st.beta.logcdf(x / 2, 0.5, 4.0)
            + sp.i0e(x) + sp.i1e(x - 1.0) * x + sp.kl_div(x, 1.2) + sp.rel_entr(x, 0.8)
            + sp.poch(x, 2.5) + sp.loggamma(x + 1.0) + sp.softmax(x) + sp.i1(x))


def _typed_key_program(xp, L, mu):
    keys = L.random.split(L.random.fold_in(L.random.key(3), 7), 2)
    return mu + L.random.normal(keys[1], mu.shape) * mu ** 2 + L.random.uniform(keys[0], mu.shape)


SCIPY_PROGRAMS = [
    Program("scipy_incomplete", _incomplete, _args(_n(4, lo=0.5))),
    Program("scipy_stats_special", _distributions_and_small_special, _args(_n(4, lo=0.5))),
    Program("typed_keys", _typed_key_program, _args(_n(4))),
]


@pytest.mark.parametrize("program,transform", [
    pytest.param(p, name, id=f"{p.name}-{name}") for p in SCIPY_PROGRAMS for name in _applicable(p)])
def test_scipy_and_typed_keys_transform(program, transform):
    args = program.args()
    if transform == "grad":  # the value once per program too
        assert_same(program.bind(FG)(*args), jax_results(program)["value"], rtol=program.rtol)
    fg = TRANSFORMS[transform][2](FG, program, args, _extras(program, args))
    assert_same(fg, jax_results(program)[transform], rtol=program.rtol)

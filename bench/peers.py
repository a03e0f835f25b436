"""Front ends: one object per library giving the JAX-shaped surface the cases use.

A front end has ``name``, ``xp`` (the NumPy-like namespace), ``nn``, ``lax``,
the transforms ``grad``, ``value_and_grad``, ``jit``, ``vmap``, ``hessian`` with
JAX's signatures, and ``put`` (NumPy pytree -> native arrays), ``block`` (wait
for a result) and ``to_numpy`` (native pytree -> NumPy).  Attributes resolve
lazily, so a missing piece of fungrad fails only the cases that use it.
``supports(name)`` says whether a library offers a transform at all (autograd
has no ``jit``); unsupported rows are skipped, not reported as failures.

The peers (JAX, autograd, PyTorch) are optional: each is imported inside
try/except by ``load_peers`` and skipped when absent.  None of them is a
dependency of fungrad.
"""
import importlib
import types

import numpy as np


class Frontend:
    def __init__(self, name, **members):
        self.name = name
        self._members = members          # name -> zero-argument thunk

    def supports(self, key):
        return key in self._members

    def __getattr__(self, key):
        members = self.__dict__.get("_members", {})
        if key not in members:
            raise AttributeError(f"{self.__dict__.get('name', '?')} has no {key!r}")
        return members[key]()


def tree_map(f, tree):
    if isinstance(tree, (list, tuple)):
        return type(tree)(tree_map(f, t) for t in tree)
    if isinstance(tree, dict):
        return {k: tree_map(f, v) for k, v in tree.items()}
    return f(tree)


def leaves(tree):
    if isinstance(tree, (list, tuple)):
        return [leaf for t in tree for leaf in leaves(t)]
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree) for leaf in leaves(tree[k])]
    return [tree]


def _identity(x):
    return x


def _noop(x):
    return x


def _as_numpy(tree):
    return tree_map(np.asarray, tree)


# --------------------------------------------------------------------------- fungrad

def fungrad_frontend():
    """fungrad's front end; raises whatever ``import fungrad`` raises."""
    fg = importlib.import_module("fungrad")

    def mod(name):
        return lambda: importlib.import_module(name)

    def attr(name):
        return lambda: getattr(fg, name)

    return Frontend(
        "fungrad", module=lambda: fg,
        xp=mod("fungrad.numpy"), nn=mod("fungrad.nn"), lax=lambda: getattr(fg, "lax"),
        grad=attr("grad"), value_and_grad=attr("value_and_grad"), jit=attr("jit"),
        vmap=attr("vmap"), hessian=attr("hessian"),
        put=lambda: _identity, block=lambda: _noop, to_numpy=lambda: _as_numpy)


# --------------------------------------------------------------------------- JAX

def jax_frontend():
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def put(tree):
        return tree_map(jax.device_put, tree)

    def block(out):
        return jax.block_until_ready(out)

    return Frontend(
        "jax", module=lambda: jax, xp=lambda: jnp, nn=lambda: jax.nn, lax=lambda: jax.lax,
        grad=lambda: jax.grad, value_and_grad=lambda: jax.value_and_grad, jit=lambda: jax.jit,
        vmap=lambda: jax.vmap, hessian=lambda: jax.hessian,
        put=lambda: put, block=lambda: block, to_numpy=lambda: _as_numpy)


# --------------------------------------------------------------------------- autograd

def autograd_frontend():
    import autograd
    import autograd.numpy as anp
    from autograd.scipy.special import logsumexp

    def log_softmax(x, axis=-1):
        return x - logsumexp(x, axis=axis, keepdims=True)

    def to_numpy(tree):
        return tree_map(lambda a: np.asarray(getattr(a, "_value", a)), tree)

    return Frontend(
        "autograd", module=lambda: autograd, xp=lambda: anp,
        nn=lambda: types.SimpleNamespace(log_softmax=log_softmax),
        grad=lambda: autograd.grad, value_and_grad=lambda: autograd.value_and_grad,
        hessian=lambda: autograd.hessian,
        put=lambda: _identity, block=lambda: _noop, to_numpy=lambda: to_numpy)


# --------------------------------------------------------------------------- PyTorch (CPU)

def torch_frontend():
    import torch
    import torch.func

    def log_softmax(x, axis=-1):
        return torch.log_softmax(x, dim=axis)

    def scan(f, init, xs):                 # eager Python loop: torch has no scan primitive
        carry, ys = init, []
        for x in xs:
            carry, y = f(carry, x)
            ys.append(y)
        return carry, torch.stack(ys)

    def value_and_grad(f, argnums=0):
        g = torch.func.grad_and_value(f, argnums=argnums)

        def wrapped(*args):
            grads, value = g(*args)
            return value, grads
        return wrapped

    def vmap(f, in_axes=0, out_axes=0):
        return torch.func.vmap(f, in_dims=in_axes, out_dims=out_axes)

    def put(tree):
        return tree_map(lambda a: torch.from_numpy(np.ascontiguousarray(a)), tree)

    def to_numpy(tree):
        return tree_map(lambda t: t.detach().numpy() if hasattr(t, "detach") else np.asarray(t), tree)

    return Frontend(
        "torch", module=lambda: torch, xp=lambda: torch,
        nn=lambda: types.SimpleNamespace(log_softmax=log_softmax),
        lax=lambda: types.SimpleNamespace(scan=scan),
        grad=lambda: torch.func.grad, value_and_grad=lambda: value_and_grad,
        vmap=lambda: vmap, hessian=lambda: torch.func.hessian,
        put=lambda: put, block=lambda: _noop, to_numpy=lambda: to_numpy)


def _dist_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return "?"


PEERS = (("jax", jax_frontend), ("autograd", autograd_frontend), ("torch", torch_frontend))


def load_peers(log=print):
    """The peers that import; each absent one is reported and skipped."""
    found = []
    for name, make in PEERS:
        try:
            fe = make()
        except Exception as e:           # ImportError, or a broken install
            log(f"peer {name}: skipped ({type(e).__name__}: {e})")
            continue
        version = getattr(fe.module, "__version__", None) or _dist_version(name)
        log(f"peer {name} {version}")
        found.append(fe)
    return found

"""A thin ``autograd`` shim over fungrad, to run HIPS/autograd's test suite against fungrad.

``autograd.numpy`` is ``fungrad.numpy`` (``autograd.numpy.random`` is NumPy's random, which
autograd only uses to make test data), ``autograd.scipy.X`` is ``fungrad.scipy.X``, and the
differential operators below call fungrad's transforms. A name fungrad lacks is an
``AttributeError`` naming fungrad, so a test that needs it fails and says why.
"""
from __future__ import annotations

import builtins
import importlib
import importlib.abc
import importlib.util
import sys
import types
from typing import Any, Callable

import numpy as onp

import fungrad
import fungrad.numpy as fnp

# autograd's containers (tuple/list/dict) are plain pytrees in fungrad.
tuple, list, dict, isinstance, type = (builtins.tuple, builtins.list, builtins.dict,
                                        builtins.isinstance, builtins.type)


class _Alias(types.ModuleType):
    """A module whose attributes are those of ``target`` (plus ``extra``)."""

    def __init__(self, name: str, target: types.ModuleType, extra: builtins.dict[str, Any]):
        super().__init__(name)
        self.__dict__.update(extra)
        self._target = target

    def __getattr__(self, attr: str) -> Any:
        try:
            return getattr(self._target, attr)
        except AttributeError:
            return _Missing(f"{self._target.__name__}.{attr}")


class _Missing:
    """A name fungrad lacks: using it raises, except ``rvs`` (test data), which SciPy draws."""

    def __init__(self, name: str):
        self._name = name

    def _fail(self) -> AttributeError:
        return AttributeError(f"fungrad lacks {self._name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise self._fail()

    def __getattr__(self, attr: str) -> Any:
        if attr == "rvs" and self._name.startswith("fungrad.scipy.stats."):
            import scipy.stats
            return getattr(scipy.stats, self._name.rsplit(".", 1)[1]).rvs
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _Missing(f"{self._name}.{attr}")


def _target(fullname: str) -> str | None:
    if fullname == "autograd.numpy.random":
        return "numpy.random"
    for prefix in ("autograd.numpy", "autograd.scipy"):
        if fullname == prefix or fullname.startswith(prefix + "."):
            return "fungrad" + fullname[len("autograd"):]
    return None


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if _target(fullname) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self, is_package=True)

    def create_module(self, spec: Any) -> types.ModuleType:
        mapped = _target(spec.name)
        assert mapped is not None
        extra = {"random": importlib.import_module("numpy.random")} if spec.name == "autograd.numpy" else {}
        try:
            target = importlib.import_module(mapped)
        except ModuleNotFoundError:  # fungrad lacks the module: fail where a test uses it
            target = types.ModuleType(mapped)
        return _Alias(spec.name, target, extra)

    def exec_module(self, module: types.ModuleType) -> None:
        pass


sys.meta_path.insert(0, _Finder())


def grad(fun: Callable[..., Any], argnum: Any = 0) -> Callable[..., Any]:
    return fungrad.grad(fun, argnums=argnum)


def value_and_grad(fun: Callable[..., Any], argnum: Any = 0) -> Callable[..., Any]:
    return fungrad.value_and_grad(fun, argnums=argnum)


def grad_and_aux(fun: Callable[..., Any], argnum: Any = 0) -> Callable[..., Any]:
    return fungrad.grad(fun, argnums=argnum, has_aux=True)


def holomorphic_grad(fun: Callable[..., Any], argnum: Any = 0) -> Callable[..., Any]:
    return fungrad.grad(fun, argnums=argnum, holomorphic=True)


def jacobian(fun: Callable[..., Any], argnum: Any = 0) -> Callable[..., Any]:
    return fungrad.jacobian(fun, argnums=argnum)


def hessian(fun: Callable[..., Any], argnum: Any = 0) -> Callable[..., Any]:
    return fungrad.hessian(fun, argnums=argnum)


def _with_arg(args: Any, argnum: int, x: Any) -> Any:
    return args[:argnum] + (x,) + args[argnum + 1:]


def make_vjp(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """``make_vjp(f)(x) -> (vjp, f(x))``, as autograd has it."""
    def at(*args: Any, **kwargs: Any) -> Any:
        ans, pullback = fungrad.vjp(lambda x: fun(*_with_arg(args, argnum, x), **kwargs), args[argnum])
        return (lambda g: pullback(g)[0]), ans
    return at


def make_jvp(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """``make_jvp(f)(x)(v) -> (f(x), J v)``, as autograd has it."""
    def at(*args: Any, **kwargs: Any) -> Any:
        f = lambda x: fun(*_with_arg(args, argnum, x), **kwargs)
        return lambda v: fungrad.jvp(f, (args[argnum],), (v,))
    return at


def elementwise_grad(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """The vjp with a cotangent of ones (the gradient of ``sum(f)``)."""
    def at(*args: Any, **kwargs: Any) -> Any:
        pullback, ans = make_vjp(fun, argnum)(*args, **kwargs)
        return pullback(fnp.ones_like(ans))
    return at


def deriv(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """The jvp with a tangent of ones (the derivative of an elementwise function)."""
    def at(*args: Any, **kwargs: Any) -> Any:
        return make_jvp(fun, argnum)(*args, **kwargs)(onp.ones_like(args[argnum]))[1]
    return at


def vector_jacobian_product(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    def at(*args: Any, **kwargs: Any) -> Any:
        *rest, v = args
        return make_vjp(fun, argnum)(*rest, **kwargs)[0](v)
    return at


def hessian_tensor_product(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """``H v`` as the gradient of ``<grad f, v>``."""
    def vector_dot_grad(*args: Any, **kwargs: Any) -> Any:
        *rest, v = args
        return fnp.tensordot(grad(fun, argnum)(*rest, **kwargs), v, fnp.ndim(v))
    return grad(vector_dot_grad, argnum)


hessian_vector_product = hessian_tensor_product


def tensor_jacobian_product(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """``v`` contracted with the leading axes of the Jacobian (``v`` may be smaller)."""
    def at(*args: Any, **kwargs: Any) -> Any:
        *rest, v = args
        return jacobian(lambda *a: fnp.tensordot(v, fun(*a, **kwargs), fnp.ndim(v)), argnum)(*rest)
    return at


matrix_jacobian_product = tensor_jacobian_product


def make_hvp(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    def at(*args: Any, **kwargs: Any) -> Any:
        return make_vjp(grad(fun, argnum), argnum)(*args, **kwargs)
    return at


def make_ggnvp(f: Callable[..., Any], g: Callable[..., Any] = lambda x: 0.5 * fnp.sum(x ** 2, axis=-1),
               f_argnum: int = 0) -> Callable[..., Any]:
    def at(*args: Any) -> Any:
        f_vjp, f_x = make_vjp(f, f_argnum)(*args)
        f_jvp = lambda v: make_jvp(f, f_argnum)(*args)(v)[1]
        g_hvp, _ = make_hvp(g)(f_x)
        return lambda v: f_vjp(g_hvp(f_jvp(v)))
    return at


def checkpoint(fun: Callable[..., Any]) -> Callable[..., Any]:
    return fungrad.checkpoint(fun)


from autograd.extend import primitive  # noqa: E402  (needs the names above)

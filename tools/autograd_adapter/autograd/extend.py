"""autograd's ``primitive``/``defvjp``/``defjvp`` onto ``fungrad.custom_vjp``.

``primitive(f)`` is a function whose derivative rules are given later: ``defvjp(p, *makers)``
with ``maker(ans, *args, **kwargs) -> (g -> cotangent of that argument)`` for each argument
(``None``: not differentiable there). Forward mode of such a primitive is not supported
(custom_vjp has none), and ``defjvp`` raises saying so.
"""
from __future__ import annotations

from typing import Any, Callable

import fungrad
import fungrad.numpy as fnp


class primitive:
    def __init__(self, fun: Callable[..., Any]):
        self.fun = fun
        self.vjps: dict[int, Any] = {}
        self.__name__ = getattr(fun, "__name__", "primitive")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.vjps:
            return self.fun(*args, **kwargs)
        f = fungrad.custom_vjp(lambda *a: self.fun(*a, **kwargs))

        def fwd(*a: Any) -> Any:
            ans = self.fun(*a, **kwargs)
            return ans, (ans, a)

        def bwd(res: Any, g: Any) -> Any:
            ans, a = res
            return tuple(self.vjps[i](ans, *a, **kwargs)(g) if self.vjps.get(i) is not None
                         else fnp.zeros_like(x) for i, x in enumerate(a))
        f.defvjp(fwd, bwd)
        return f(*args)


def defvjp(prim: primitive, *makers: Any, argnums: Any = None) -> None:
    for i, maker in zip(argnums or range(len(makers)), makers):
        prim.vjps[i] = maker


def defjvp(prim: primitive, *makers: Any, argnums: Any = None) -> None:
    raise NotImplementedError("the autograd adapter maps primitives onto fungrad.custom_vjp, "
                              "which has no forward-mode rule; use fungrad.custom_jvp directly")


notrace_primitive = lambda f: f

"""``unary_to_nary``: an operator on one-argument functions, applied at ``argnum``."""
from functools import wraps
from typing import Any, Callable


def unary_to_nary(unary_operator: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(unary_operator)
    def nary_operator(fun: Callable[..., Any], argnum: Any = 0, *op_args: Any, **op_kwargs: Any) -> Any:
        def nary_f(*args: Any, **kwargs: Any) -> Any:
            def unary_f(x: Any) -> Any:
                if isinstance(argnum, int):
                    subargs = args[:argnum] + (x,) + args[argnum + 1:]
                else:
                    subargs = list(args)
                    for i, xi in zip(argnum, x):
                        subargs[i] = xi
                return fun(*subargs, **kwargs)
            x = args[argnum] if isinstance(argnum, int) else tuple(args[i] for i in argnum)
            return unary_operator(unary_f, x, *op_args, **op_kwargs)
        return nary_f
    return nary_operator

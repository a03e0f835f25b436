"""Donated arguments: once a jitted call has taken an array's buffer, the array is used up.

``jit(f, donate_argnums=...)`` lets the compiled code write its results into a donated
argument's memory. As in JAX, the donated array must not be used again: passing it to a
jitted function afterwards raises, instead of silently overwriting the earlier results that
now live in its buffer. The results are new array objects (views of that buffer), and a result
can itself be donated to the next call, so ``params = step(params)`` keeps reusing one buffer.

Plain NumPy can still read a donated array (there is no way to delete it); its contents are
whatever the call left there.

>>> import fungrad
>>> step = fungrad.jit(lambda a: a * 2.0, donate_argnums=0)
>>> a = np.ones(2)
>>> b = step(a)
>>> step(a)
Traceback (most recent call last):
  ...
fungrad.errors.InvalidArgumentError: argument 0 of jit(<lambda>) was donated to an earlier call ...
>>> step(b)
array([4., 4.])
"""
from __future__ import annotations

import weakref
from typing import Any, Sequence

import numpy as np

from fungrad.errors import InvalidArgumentError

# id -> weak reference of each donated array still alive (removed when it is collected).
_used_up: dict[int, weakref.ref[np.ndarray]] = {}


def any_used_up() -> bool:
    """Has any live array been donated? (a fast pre-check for the call path)"""
    return bool(_used_up)


def is_used_up(x: Any) -> bool:
    ref = _used_up.get(id(x))
    return ref is not None and ref() is x



def check_not_used_up(leaves: Sequence[Any], name: str) -> None:
    """Raise if one of ``leaves`` was donated to an earlier call."""
    for i, x in enumerate(leaves):
        if isinstance(x, np.ndarray) and is_used_up(x):  # (a fungrad.Array too)
            raise InvalidArgumentError(
                f"argument {i} of jit({name}) was donated to an earlier call (donate_argnums), so "
                f"its buffer now holds that call's results and it cannot be used again. Pass the "
                f"result of that call instead, or do not donate the argument")


def can_take(x: Any) -> bool:
    """May the compiled code write into ``x``? It owns its memory, or it is a whole view of a
    used-up array's buffer (a result of an earlier donating call)."""
    if type(x) is not np.ndarray or not x.flags.writeable or not x.flags.c_contiguous:
        return False
    if x.flags.owndata:
        return True
    base = x.base
    return type(base) is np.ndarray and is_used_up(base) and base.nbytes == x.nbytes


def _forget(key: int) -> Any:
    def forget(_: object) -> None:
        _used_up.pop(key, None)
    return forget


def use_up(donated: Sequence[Any], outs: list[Any]) -> list[Any]:
    """Mark ``donated`` used; results that are one of those arrays become new views of it."""
    for x in donated:
        _used_up[id(x)] = weakref.ref(x, _forget(id(x)))
    taken = {id(x) for x in donated}
    return [o.view() if id(o) in taken else o for o in outs]

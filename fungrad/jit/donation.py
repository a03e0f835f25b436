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
from fungrad.interpreters.aliasing import memory_owner


class _Donated(weakref.ref):  # type: ignore[type-arg]
    """A weak reference to a donated array that knows its key in ``_used_up``."""

    __slots__ = ("key",)
    key: int


def _forget(ref: _Donated) -> None:
    _used_up.pop(ref.key, None)


# id -> weak reference of each donated array still alive (removed when it is collected).
_used_up: dict[int, _Donated] = {}


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
    if type(x) is not np.ndarray:
        return False
    flags = x.flags
    if not flags.writeable or not flags.c_contiguous:
        return False
    if flags.owndata:
        return True
    base = x.base
    return type(base) is np.ndarray and is_used_up(base) and base.nbytes == x.nbytes


def donatable(leaves: Sequence[Any], marked: Sequence[bool]) -> tuple[bool, ...]:
    """Per leaf: may the compiled code overwrite it? It is marked for donation, ``can_take`` it,
    and no other leaf shares its memory. Linear in the number of leaves: NumPy points every view
    at the array owning the memory, so leaves share memory only when they share that owner; a
    leaf whose memory belongs to something else (a memoryview, a memory map) is compared with
    each donated leaf by ``np.may_share_memory``.

    >>> a = np.ones(4)
    >>> donatable([a, a[:2], np.ones(2)], [True, False, True])
    (False, False, True)
    """
    owners: list[int] = []
    viewers: dict[int, int] = {}
    foreign = []
    for x in leaves:
        owner = id(x)
        if isinstance(x, np.ndarray) and x.base is not None:
            memory = memory_owner(x)
            if isinstance(memory, np.ndarray):
                owner = id(memory)
            else:
                foreign.append(x)
        owners.append(owner)
        viewers[owner] = viewers.get(owner, 0) + 1
    result = []
    for x, owner, m in zip(leaves, owners, marked):
        ok = bool(m) and viewers[owner] == 1 and can_take(x)
        if ok and foreign:
            ok = not any(y is not x and np.may_share_memory(x, y) for y in foreign)
        result.append(ok)
    return tuple(result)


def use_up(donated: Sequence[Any], outs: list[Any]) -> list[Any]:
    """Mark ``donated`` used; results that are one of those arrays become new views of it."""
    taken = set()
    for x in donated:
        key = id(x)
        ref = _used_up[key] = _Donated(x, _forget)
        ref.key = key
        taken.add(key)
    return [o.view() if id(o) in taken else o for o in outs]

"""The optimizer interface, as in optax: a ``GradientTransformation`` is a pair of pure functions.

``state = opt.init(params)`` builds the optimizer's state (a pytree of arrays) and
``updates, state = opt.update(grads, state, params)`` turns gradients into updates, which
``apply_updates`` adds to the params. Nothing is kept anywhere else, so ``update`` can be
jitted, vmapped and differentiated like any other function.

Numbers: fungrad computes in float64, so optimizer states and updates are float64 for float64
params (states take the params' dtypes). Step counters are int32 scalars, as in optax, and stop at
the largest int32 instead of wrapping. The tests compare every transformation with optax run with
``jax_enable_x64`` on; they agree to rounding (relative 1e-10 over 25 steps), except where optax
itself computes in float32 even then: its schedules divide the int32 count in float32, and
``MultiSteps`` accumulates in float32 unless given ``accumulator_dtype`` (fungrad's accumulates in
the params' dtype). There the agreement is to float32 precision.

    >>> import numpy as np
    >>> opt = chain(identity(), GradientTransformation(init_empty_state, lambda u, s, p=None: (u, s)))
    >>> state = opt.init({'w': np.ones(2)})
    >>> updates, state = opt.update({'w': np.array([0.5, -0.5])}, state)
    >>> apply_updates({'w': np.ones(2)}, updates)
    {'w': array([1.5, 0.5])}

A training step runs fastest jitted as a whole (gradient, ``update`` and ``apply_updates`` in one
function) with the params and the optimizer state donated, ``jit(step, donate_argnums=(0, 1))``,
as in JAX. The compiled code then writes the new params and state into the buffers of the old
ones instead of allocating fresh arrays (for large params, fresh arrays cost page faults on every
step, often more than the update's arithmetic). Donated arrays are used up: a training loop hands
each step's results to the next step, and passing an old array again raises.

    >>> import fungrad, fungrad.numpy as fnp
    >>> from fungrad.optim import sgd
    >>> opt = sgd(0.05, momentum=0.9)
    >>> def step(params, state, x):
    ...     grads = fungrad.grad(lambda p: fnp.sum((p['w'] * x - 1.0) ** 2))(params)
    ...     updates, state = opt.update(grads, state, params)
    ...     return apply_updates(params, updates), state
    >>> step = fungrad.jit(step, donate_argnums=(0, 1))
    >>> params = {'w': np.zeros(3)}
    >>> state = opt.init(params)
    >>> for _ in range(300):
    ...     params, state = step(params, state, np.array([1.0, 2.0, 4.0]))
    >>> np.round(params['w'], 6)
    array([1.  , 0.5 , 0.25])
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, NamedTuple, Union

import fungrad.numpy as fnp
from fungrad.optim.tree import tree_map_same

PyTree = Any
Params = Any
Updates = Any
OptState = Any
Schedule = Callable[[Any], Any]
ScalarOrSchedule = Union[float, Any, Schedule]

__all__ = [
    "EmptyState", "GradientTransformation", "GradientTransformationExtraArgs", "apply_updates", "chain",
    "identity", "init_empty_state", "with_extra_args_support",
]


class GradientTransformation(NamedTuple):
    """An optimizer or one stage of one: ``init(params) -> state`` and
    ``update(updates, state, params=None) -> (updates, state)``, both pure.

        >>> import numpy as np
        >>> double = GradientTransformation(init_empty_state, lambda u, s, p=None: (2 * u, s))
        >>> double.update(np.array(1.5), double.init(np.array(0.0)))
        (3.0, EmptyState())
    """

    init: Callable[..., OptState]
    update: Callable[..., tuple[Updates, OptState]]


class GradientTransformationExtraArgs(GradientTransformation):
    """A ``GradientTransformation`` whose ``update`` also takes keyword arguments
    (``update(updates, state, params=None, **extra_args)``): a line search reads the loss value,
    gradient and ``value_fn`` from them.

        >>> import numpy as np
        >>> t = GradientTransformationExtraArgs(init_empty_state, lambda u, s, p=None, *, factor: (factor * u, s))
        >>> t.update(np.array(2.0), t.init(None), factor=3.0)[0]
        6.0
    """


class EmptyState(NamedTuple):
    """The state of a stateless transformation: an empty pytree.

        >>> EmptyState()
        EmptyState()
    """


def init_empty_state(params: Params) -> EmptyState:
    """The ``init`` of a stateless transformation.

        >>> init_empty_state({'w': 1.0})
        EmptyState()
    """
    del params
    return EmptyState()


def identity() -> GradientTransformation:
    """The transformation that passes updates through unchanged.

        >>> import numpy as np
        >>> identity().update([np.array(1.0)], EmptyState())
        ([array(1.)], EmptyState())
    """
    return GradientTransformation(init_empty_state, lambda updates, state, params=None: (updates, state))


def _accepts_extra_args(update: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(update).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def with_extra_args_support(tx: GradientTransformation) -> GradientTransformationExtraArgs:
    """Wrap ``tx`` so its ``update`` accepts (and, if it takes none, ignores) keyword arguments.

        >>> import numpy as np
        >>> t = with_extra_args_support(identity())
        >>> t.update(np.array(1.0), EmptyState(), None, value=2.0)
        (array(1.), EmptyState())
    """
    if isinstance(tx, GradientTransformationExtraArgs) or _accepts_extra_args(tx.update):
        return GradientTransformationExtraArgs(tx.init, tx.update)
    inner_update = tx.update

    def update(updates: Updates, state: OptState, params: Params | None = None,
               **extra_args: Any) -> tuple[Updates, OptState]:
        del extra_args
        return inner_update(updates, state, params)
    return GradientTransformationExtraArgs(tx.init, update)


def chain(*transforms: GradientTransformation) -> GradientTransformationExtraArgs:
    """Apply ``transforms`` one after the other; the state is the tuple of their states.

    Keyword arguments given to ``update`` reach every stage that takes keyword arguments.

        >>> import numpy as np
        >>> from fungrad.optim import scale
        >>> opt = chain(scale(2.0), scale(-0.5))
        >>> opt.update(np.array([1.0, 4.0]), opt.init(np.zeros(2)))[0]
        array([-1., -4.])
    """
    for position, t in enumerate(transforms):
        if not (callable(getattr(t, "init", None)) and callable(getattr(t, "update", None))):
            raise TypeError(f"chain: argument {position} is a {type(t).__name__}, not a GradientTransformation "
                            "(an object with init and update functions).")
    stages = [with_extra_args_support(t) for t in transforms]

    def init(params: Params) -> tuple[OptState, ...]:
        return tuple(t.init(params) for t in stages)

    def update(updates: Updates, state: OptState, params: Params | None = None,
               **extra_args: Any) -> tuple[Updates, tuple[OptState, ...]]:
        if not isinstance(state, tuple) or len(state) != len(stages):
            raise ValueError(f"chain.update: expected the state of {len(stages)} chained transformations (the "
                             f"tuple opt.init returns), got {type(state).__name__}.")
        new_states = []
        for t, s in zip(stages, state):
            updates, s = t.update(updates, s, params, **extra_args)
            new_states.append(s)
        return updates, tuple(new_states)
    return GradientTransformationExtraArgs(init, update)


def apply_updates(params: Params, updates: Updates) -> Params:
    """``params + updates`` leafwise, each result in its param's dtype.

        >>> import numpy as np
        >>> apply_updates({'w': np.array([1.0, 2.0])}, {'w': np.array([-0.5, 0.5])})
        {'w': array([0.5, 2.5])}
    """
    return tree_map_same(lambda p, u: fnp.asarray(p + u, dtype=fnp.result_type(p)), params, updates,
                         what="apply_updates(params, updates)")

"""Transformations of transformations: ``masked``, ``apply_if_finite``, ``MultiSteps``, ``inject_hyperparams``.

Data-dependent choices (skip a non-finite step, emit every k-th step) are made with ``where`` on both
outcomes, never with Python ``if`` on values, so every wrapper jits and vmaps like the rest.

    >>> import numpy as np
    >>> from fungrad.optim import sgd
    >>> opt = inject_hyperparams(sgd)(learning_rate=0.1)
    >>> state = opt.init(np.zeros(2))
    >>> state.hyperparams['learning_rate'] = np.asarray(0.5)     # change it between steps
    >>> opt.update(np.ones(2), state)[0]
    array([-0.5, -0.5])
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Iterable, NamedTuple

import numpy as np

import fungrad.numpy as fnp
from fungrad.optim.base import (
    GradientTransformation, GradientTransformationExtraArgs, with_extra_args_support,
)
from fungrad.optim.tree import (
    safe_increment, tree_all_finite, tree_map_same, tree_where, tree_zeros_like, zero_count,
)
from fungrad.tree_util import tree_leaves, tree_map, tree_structure

__all__ = [
    "ApplyIfFiniteState", "InjectHyperparamsState", "MaskedNode", "MaskedState", "MultiSteps", "MultiStepsState",
    "apply_if_finite", "inject_hyperparams", "masked",
]


# --------------------------------------------------------------------------- masked

class MaskedNode(NamedTuple):
    """Stands in for a masked-out subtree: a pytree node without leaves.

        >>> MaskedNode()
        MaskedNode()
    """


class MaskedState(NamedTuple):
    """The inner transformation's state, built over the masked-in leaves only.

        >>> import numpy as np
        >>> from fungrad.optim import trace
        >>> masked(trace(0.9), {'a': True, 'b': False}).init({'a': np.ones(1), 'b': np.ones(1)})
        MaskedState(inner_state=TraceState(trace={'a': array([0.]), 'b': MaskedNode()}))
    """

    inner_state: Any


def _is_flag(m: Any) -> bool:
    return isinstance(m, (bool, np.bool_))


def _mask_tree(mask: Any, tree: Any) -> Any:
    if callable(mask):
        mask = mask(tree)
    flags = tree_leaves(mask)
    if not all(_is_flag(m) for m in flags):
        raise TypeError("masked: the mask must be a pytree of Python bools (or a function of the params that "
                        f"returns one), got leaves of types {sorted({type(m).__name__ for m in flags})}.")
    return mask


def _apply_mask(mask: Any, tree: Any) -> Any:
    try:
        return tree_map(lambda m, x: x if m else MaskedNode(), mask, tree)
    except ValueError as error:
        raise ValueError(f"masked: the mask must have the structure of the params (or a prefix of it): {error}") \
            from None


def masked(inner: GradientTransformation, mask: Any, *,
           mask_compatible_extra_args: bool = False) -> GradientTransformationExtraArgs:
    """Apply ``inner`` to the leaves where ``mask`` is True; pass the other updates through unchanged.

    ``mask`` is a pytree of bools with the structure of the params (or a prefix of it), or a function
    from the params (or updates) to one. The inner state covers the masked-in leaves only. With
    ``mask_compatible_extra_args``, extra arguments shaped like the updates are masked too.

        >>> import numpy as np
        >>> from fungrad.optim import scale
        >>> opt = masked(scale(10.0), {'w': True, 'b': False})
        >>> opt.update({'w': np.ones(2), 'b': np.ones(1)}, opt.init({'w': np.ones(2), 'b': np.ones(1)}))[0]
        {'b': array([1.]), 'w': array([10., 10.])}
    """
    inner = with_extra_args_support(inner)

    def init(params: Any) -> MaskedState:
        return MaskedState(inner.init(_apply_mask(_mask_tree(mask, params), params)))

    def update(updates: Any, state: MaskedState, params: Any = None, **extra_args: Any) -> tuple[Any, MaskedState]:
        mask_tree = _mask_tree(mask, updates)
        if mask_compatible_extra_args:
            structure = tree_structure(updates)
            extra_args = {k: _apply_mask(mask_tree, v) if tree_structure(v) == structure else v
                          for k, v in extra_args.items()}
        inner_params = None if params is None else _apply_mask(mask_tree, params)
        new_updates, inner_state = inner.update(_apply_mask(mask_tree, updates), state.inner_state, inner_params,
                                                **extra_args)
        merged = tree_map(lambda m, new, old: new if m else old, mask_tree, new_updates, updates)
        return merged, MaskedState(inner_state)
    return GradientTransformationExtraArgs(init, update)


# --------------------------------------------------------------------------- apply_if_finite

class ApplyIfFiniteState(NamedTuple):
    """Counts of non-finite steps: consecutive, total, and whether the last one was finite.

        >>> from fungrad.optim import identity
        >>> apply_if_finite(identity(), 3).init(None).total_notfinite
        array(0, dtype=int32)
    """

    notfinite_count: Any
    last_finite: Any
    total_notfinite: Any
    inner_state: Any


def apply_if_finite(inner: GradientTransformation, max_consecutive_errors: int) -> GradientTransformationExtraArgs:
    """Apply ``inner`` only when every incoming update is finite; otherwise return zero updates and keep
    the inner state, unless more than ``max_consecutive_errors`` non-finite steps came in a row (then
    the step is applied anyway).

        >>> import numpy as np
        >>> from fungrad.optim import sgd
        >>> opt = apply_if_finite(sgd(0.1), max_consecutive_errors=2)
        >>> state = opt.init(np.zeros(1))
        >>> updates, state = opt.update(np.array([np.nan]), state)
        >>> updates, int(state.notfinite_count), bool(state.last_finite)
        (array([0.]), 1, False)
    """
    inner = with_extra_args_support(inner)

    def init(params: Any) -> ApplyIfFiniteState:
        return ApplyIfFiniteState(zero_count(), np.asarray(True), zero_count(), inner.init(params))

    def update(updates: Any, state: ApplyIfFiniteState, params: Any = None,
               **extra_args: Any) -> tuple[Any, ApplyIfFiniteState]:
        finite = tree_all_finite(updates)
        notfinite_count = fnp.where(finite, zero_count(), safe_increment(state.notfinite_count))
        apply = fnp.logical_or(finite, notfinite_count > max_consecutive_errors)
        new_updates, inner_state = inner.update(updates, state.inner_state, params, **extra_args)
        new_updates = tree_where(apply, new_updates, tree_zeros_like(new_updates))
        inner_state = tree_where(apply, inner_state, state.inner_state)
        total = fnp.where(finite, state.total_notfinite, safe_increment(state.total_notfinite))
        return new_updates, ApplyIfFiniteState(notfinite_count, finite, total, inner_state)
    return GradientTransformationExtraArgs(init, update)


# --------------------------------------------------------------------------- MultiSteps

class MultiStepsState(NamedTuple):
    """Gradient accumulation: position in the current window, steps emitted, the inner state and the
    accumulated gradients (a running mean, or a sum with ``use_grad_mean=False``).

        >>> import numpy as np
        >>> from fungrad.optim import sgd
        >>> MultiSteps(sgd(0.1), 4).init(np.ones(2)).acc_grads
        array([0., 0.])
    """

    mini_step: Any
    gradient_step: Any
    inner_opt_state: Any
    acc_grads: Any
    skip_state: Any = ()


class MultiSteps:
    """Accumulate gradients over ``every_k_schedule`` calls and apply ``opt`` once per window (optax's API).

    Between windows the updates are zero. ``every_k_schedule`` is an int or a function of the number
    of emitted steps. ``should_skip_update_fn(updates, gradient_step, params) -> (bool, skip_state)``
    drops a mini-batch entirely. Accumulators use the params' dtype unless ``accumulator_dtype`` is
    given (optax defaults to float32).

        >>> import numpy as np
        >>> from fungrad.optim import sgd
        >>> opt = MultiSteps(sgd(1.0), every_k_schedule=2)
        >>> state = opt.init(np.zeros(1))
        >>> u1, state = opt.update(np.array([1.0]), state)
        >>> u2, state = opt.update(np.array([3.0]), state)
        >>> u1, u2, bool(opt.has_updated(state))
        (array([0.]), array([-2.]), True)
    """

    def __init__(self, opt: GradientTransformation, every_k_schedule: int | Callable[[Any], Any],
                 use_grad_mean: bool = True, should_skip_update_fn: Callable[..., Any] | None = None,
                 accumulator_dtype: Any = None) -> None:
        self._opt = with_extra_args_support(opt)
        self._every_k = every_k_schedule if callable(every_k_schedule) else (lambda step: every_k_schedule)
        self._use_grad_mean = use_grad_mean
        self._should_skip = should_skip_update_fn
        self._accumulator_dtype = accumulator_dtype

    @property
    def inner_opt(self) -> GradientTransformationExtraArgs:
        """The wrapped transformation."""
        return self._opt

    def init(self, params: Any) -> MultiStepsState:
        """The state for ``params``: counters at 0, zero accumulators, the inner state."""
        skip_state: Any = ()
        if self._should_skip is not None:
            _, skip_state = self._should_skip(tree_zeros_like(params), zero_count(), params)
        return MultiStepsState(zero_count(), zero_count(), self._opt.init(params),
                               tree_zeros_like(params, dtype=self._accumulator_dtype), skip_state)

    def update(self, updates: Any, state: MultiStepsState, params: Any = None,
               **extra_args: Any) -> tuple[Any, MultiStepsState]:
        """Accumulate ``updates``; on the last call of a window return the inner optimizer's updates."""
        k = self._every_k(state.gradient_step)
        n = state.mini_step
        if self._use_grad_mean:
            acc = tree_map_same(lambda g, a: a + (g - a) / (n + 1), updates, state.acc_grads,
                                what="MultiSteps.update: the updates and the accumulated gradients")
        else:
            acc = tree_map_same(lambda g, a: a + g, updates, state.acc_grads,
                                what="MultiSteps.update: the updates and the accumulated gradients")
        acc_in = tree_map_same(lambda a, g: fnp.asarray(a, dtype=fnp.result_type(g)), acc, updates)
        inner_updates, inner_state = self._opt.update(acc_in, state.inner_opt_state, params, **extra_args)
        emit = n == k - 1
        zeros = tree_zeros_like(inner_updates)
        stepped = MultiStepsState(
            mini_step=safe_increment(n) % k,
            gradient_step=fnp.where(emit, safe_increment(state.gradient_step), state.gradient_step),
            inner_opt_state=tree_where(emit, inner_state, state.inner_opt_state),
            acc_grads=tree_where(emit, tree_zeros_like(acc), acc),
            skip_state=state.skip_state)
        new_updates = tree_where(emit, inner_updates, zeros)
        if self._should_skip is None:
            return new_updates, stepped
        skip, skip_state = self._should_skip(updates, state.gradient_step, params)
        kept = state._replace(skip_state=skip_state)
        return tree_where(skip, zeros, new_updates), tree_where(skip, kept, stepped._replace(skip_state=skip_state))

    def has_updated(self, state: MultiStepsState) -> Any:
        """Whether the last ``update`` emitted the inner optimizer's step.

            >>> import numpy as np
            >>> from fungrad.optim import sgd
            >>> opt = MultiSteps(sgd(1.0), 3)
            >>> bool(opt.has_updated(opt.init(np.zeros(1))))
            False
        """
        return fnp.logical_and(state.mini_step == 0, state.gradient_step > 0)

    def gradient_transformation(self) -> GradientTransformationExtraArgs:
        """This as a ``GradientTransformation`` (init, update).

            >>> import numpy as np
            >>> from fungrad.optim import sgd
            >>> MultiSteps(sgd(1.0), 2).gradient_transformation().init(np.zeros(1)).mini_step
            array(0, dtype=int32)
        """
        return GradientTransformationExtraArgs(self.init, self.update)


# --------------------------------------------------------------------------- inject_hyperparams

class InjectHyperparamsState(NamedTuple):
    """The step count, the current hyperparameter values (arrays you may overwrite between steps) and
    the inner state.

        >>> import numpy as np
        >>> from fungrad.optim import sgd
        >>> inject_hyperparams(sgd)(0.1).init(np.ones(1)).hyperparams
        {'learning_rate': array(0.1)}
    """

    count: Any
    hyperparams: dict[str, Any]
    inner_state: Any


def _float_dtype(params: Any) -> Any:
    floats = [np.dtype(fnp.result_type(x)) for x in tree_leaves(params)
              if np.issubdtype(fnp.result_type(x), np.floating)]
    return max(floats, key=lambda d: d.itemsize) if floats else np.dtype(np.float64)


def _as_hyperparam(value: Any, dtype: Any) -> Any:
    if np.issubdtype(fnp.result_type(value), np.floating):
        return fnp.asarray(value, dtype=dtype)
    return fnp.asarray(value)


def inject_hyperparams(inner_factory: Callable[..., GradientTransformation], static_args: str | Iterable[str] = (),
                       hyperparam_dtype: Any = None) -> Callable[..., GradientTransformationExtraArgs]:
    """Make the numeric arguments of ``inner_factory`` live in the optimizer state.

    The returned function takes ``inner_factory``'s arguments; numbers become arrays in
    ``state.hyperparams`` (change them between steps: a jitted step does not retrace), and callables
    are schedules evaluated at the step count each update (``static_args`` names callables that are
    not schedules). Floats take the params' float dtype unless ``hyperparam_dtype`` is given.

        >>> import numpy as np
        >>> from fungrad.optim import adam, linear_schedule
        >>> opt = inject_hyperparams(adam)(learning_rate=linear_schedule(1.0, 0.0, 4), b1=0.5)
        >>> state = opt.init(np.zeros(1))
        >>> for _ in range(2):
        ...     _, state = opt.update(np.ones(1), state)
        >>> float(state.hyperparams['learning_rate']), float(state.hyperparams['b1'])
        (0.75, 0.5)
    """
    static = {static_args} if isinstance(static_args, str) else set(static_args)
    signature = inspect.signature(inner_factory)
    if not static <= set(signature.parameters):
        raise ValueError(f"inject_hyperparams: static_args {sorted(static)} must name parameters of "
                         f"{getattr(inner_factory, '__name__', inner_factory)}, which are {list(signature.parameters)}.")

    def wrapped(*args: Any, **kwargs: Any) -> GradientTransformationExtraArgs:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        schedules: dict[str, Callable[[Any], Any]] = {}
        numeric: dict[str, Any] = {}
        other: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            if name in static or isinstance(value, bool) or value is None:
                other[name] = value
            elif callable(value):
                schedules[name] = value
            elif isinstance(value, (int, float, np.ndarray, np.generic)) or hasattr(value, "aval"):
                numeric[name] = value
            else:
                other[name] = value

        def values(hyperparams: dict[str, Any], count: Any, params: Any) -> dict[str, Any]:
            dtype = hyperparam_dtype or _float_dtype(params)
            current = dict(hyperparams, **{k: f(count) for k, f in schedules.items()})
            return {k: _as_hyperparam(v, dtype) for k, v in current.items()}

        def init(params: Any) -> InjectHyperparamsState:
            count = zero_count()
            hyperparams = values(numeric, count, params)
            return InjectHyperparamsState(count, hyperparams, inner_factory(**other, **hyperparams).init(params))

        def update(updates: Any, state: InjectHyperparamsState, params: Any = None,
                   **extra_args: Any) -> tuple[Any, InjectHyperparamsState]:
            hyperparams = values(state.hyperparams, state.count, updates if params is None else params)
            inner = with_extra_args_support(inner_factory(**other, **hyperparams))
            updates, inner_state = inner.update(updates, state.inner_state, params, **extra_args)
            return updates, InjectHyperparamsState(safe_increment(state.count), hyperparams, inner_state)
        return GradientTransformationExtraArgs(init, update)
    return wrapped

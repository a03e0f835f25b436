"""Ready-made optimizers (optax's aliases): each is a ``chain`` of building blocks.

Every ``learning_rate`` is a number or a schedule. The updates are to be added to the params
(``apply_updates``): the sign for descent is already in them.

    >>> import numpy as np
    >>> import fungrad
    >>> from fungrad.optim import apply_updates
    >>> loss = lambda w: fungrad.numpy.sum((w - 3.0) ** 2)
    >>> opt = adam(0.1)
    >>> w = np.zeros(2)
    >>> state = opt.init(w)
    >>> for _ in range(200):
    ...     updates, state = opt.update(fungrad.grad(loss)(w), state, w)
    ...     w = apply_updates(w, updates)
    >>> np.round(w, 2)
    array([3., 3.])
"""
from __future__ import annotations

from typing import Any

from fungrad.optim.base import GradientTransformationExtraArgs, ScalarOrSchedule, chain, identity
from fungrad.optim.lbfgs import scale_by_lbfgs
from fungrad.optim.linesearch import scale_by_zoom_linesearch
from fungrad.optim.transforms import (
    add_decayed_weights, scale, scale_by_adam, scale_by_learning_rate, scale_by_lion, scale_by_rms, scale_by_rss,
    scale_by_stddev, trace,
)

__all__ = ["adagrad", "adam", "adamw", "lbfgs", "lion", "rmsprop", "sgd"]


def sgd(learning_rate: ScalarOrSchedule, momentum: Any = None, nesterov: bool = False,
        accumulator_dtype: Any = None) -> GradientTransformationExtraArgs:
    """Stochastic gradient descent: ``-learning_rate * g``, with heavy-ball or Nesterov momentum
    (``trace``) when ``momentum`` is given.

        >>> import numpy as np
        >>> opt = sgd(0.1, momentum=0.9)
        >>> state = opt.init(np.zeros(1))
        >>> _, state = opt.update(np.ones(1), state)
        >>> opt.update(np.ones(1), state)[0]
        array([-0.19])
    """
    momentum_stage = identity() if momentum is None else trace(momentum, nesterov, accumulator_dtype)
    return chain(momentum_stage, scale_by_learning_rate(learning_rate))


def adam(learning_rate: ScalarOrSchedule, b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8, eps_root: Any = 0.0,
         mu_dtype: Any = None, *, nesterov: bool = False) -> GradientTransformationExtraArgs:
    """Adam (``scale_by_adam`` then ``-learning_rate``); NAdam with ``nesterov=True``.

        >>> import numpy as np
        >>> adam(0.01).update(np.array([5.0, -0.1]), adam(0.01).init(np.zeros(2)))[0]
        array([-0.01,  0.01])
    """
    return chain(scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
                 scale_by_learning_rate(learning_rate))


def adamw(learning_rate: ScalarOrSchedule, b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8, eps_root: Any = 0.0,
          mu_dtype: Any = None, weight_decay: Any = 1e-4, mask: Any = None, *,
          nesterov: bool = False) -> GradientTransformationExtraArgs:
    """Adam with decoupled weight decay: ``-learning_rate * (adam_direction + weight_decay * params)``.

        >>> import numpy as np
        >>> opt = adamw(0.1, weight_decay=0.5)
        >>> opt.update(np.array([1.0]), opt.init(np.ones(1)), np.array([2.0]))[0]
        array([-0.2])
    """
    return chain(scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
                 add_decayed_weights(weight_decay, mask), scale_by_learning_rate(learning_rate))


def rmsprop(learning_rate: ScalarOrSchedule, decay: Any = 0.9, eps: Any = 1e-8, initial_scale: Any = 0.0,
            eps_in_sqrt: bool = True, centered: bool = False, momentum: Any = None, nesterov: bool = False,
            bias_correction: bool = False) -> GradientTransformationExtraArgs:
    """RMSProp: ``scale_by_rms`` (``scale_by_stddev`` when ``centered``), ``-learning_rate``, then
    optional momentum.

        >>> import numpy as np
        >>> opt = rmsprop(0.1, decay=0.75, eps=0.0)
        >>> opt.update(np.array([2.0]), opt.init(np.zeros(1)))[0]
        array([-0.2])
    """
    if centered:
        if not eps_in_sqrt or bias_correction:
            raise ValueError("rmsprop(centered=True) supports neither eps_in_sqrt=False nor bias_correction=True "
                             "(as in optax).")
        scaling = scale_by_stddev(decay, eps, initial_scale)
    else:
        scaling = scale_by_rms(decay, eps, initial_scale, eps_in_sqrt, bias_correction)
    momentum_stage = identity() if momentum is None else trace(momentum, nesterov)
    return chain(scaling, scale_by_learning_rate(learning_rate), momentum_stage)


def adagrad(learning_rate: ScalarOrSchedule, initial_accumulator_value: Any = 0.1,
            eps: Any = 1e-7) -> GradientTransformationExtraArgs:
    """Adagrad: ``-learning_rate * g / sqrt(sum of past g**2 + eps)``.

        >>> import numpy as np
        >>> opt = adagrad(1.0, initial_accumulator_value=0.0, eps=0.0)
        >>> opt.update(np.array([-4.0]), opt.init(np.zeros(1)))[0]
        array([1.])
    """
    return chain(scale_by_rss(initial_accumulator_value, eps), scale_by_learning_rate(learning_rate))


def lion(learning_rate: ScalarOrSchedule, b1: Any = 0.9, b2: Any = 0.99, mu_dtype: Any = None,
         weight_decay: Any = 1e-3, mask: Any = None) -> GradientTransformationExtraArgs:
    """Lion: ``-learning_rate * (sign(b1 m + (1 - b1) g) + weight_decay * params)``.

        >>> import numpy as np
        >>> opt = lion(0.1, weight_decay=0.0)
        >>> opt.update(np.array([2.0, -0.5]), opt.init(np.zeros(2)), np.zeros(2))[0]
        array([-0.1,  0.1])
    """
    return chain(scale_by_lion(b1, b2, mu_dtype), add_decayed_weights(weight_decay, mask),
                 scale_by_learning_rate(learning_rate))


def lbfgs(learning_rate: ScalarOrSchedule | None = None, memory_size: int = 10, scale_init_precond: bool = True,
          linesearch: Any = "zoom") -> GradientTransformationExtraArgs:
    """L-BFGS: the ``scale_by_lbfgs`` direction, a sign flip (or ``-learning_rate``), then a step size
    from the zoom line search (``scale_by_zoom_linesearch(max_linesearch_steps=20,
    initial_guess_strategy="one")`` by default; ``linesearch=None`` for none).

    ``update`` needs the loss value and gradient at ``params`` and the loss function itself:
    ``opt.update(grad, state, params, value=value, grad=grad, value_fn=f)``. The line search
    already evaluated both at the accepted point; ``value_and_grad_from_state(f)`` reuses them.

        >>> import numpy as np
        >>> import fungrad.numpy as fnp
        >>> from fungrad.optim import apply_updates, value_and_grad_from_state
        >>> f = lambda w: fnp.sum((w - np.array([1.0, 2.0])) ** 2 * np.array([1.0, 10.0]))
        >>> opt, w = lbfgs(), np.zeros(2)
        >>> state = opt.init(w)
        >>> value_and_grad = value_and_grad_from_state(f)
        >>> for _ in range(5):
        ...     value, grad = value_and_grad(w, state=state)
        ...     updates, state = opt.update(grad, state, w, value=value, grad=grad, value_fn=f)
        ...     w = apply_updates(w, updates)
        >>> np.round(w, 4)
        array([1., 2.])
    """
    if linesearch == "zoom":
        linesearch = scale_by_zoom_linesearch(max_linesearch_steps=20, initial_guess_strategy="one")
    step = scale(-1.0) if learning_rate is None else scale_by_learning_rate(learning_rate)
    return chain(scale_by_lbfgs(memory_size, scale_init_precond), step,
                 identity() if linesearch is None else linesearch)

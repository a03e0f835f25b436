"""The zoom line search (optax's ``scale_by_zoom_linesearch``) and ``value_and_grad_from_state``.

Along the direction ``u`` the search looks for a step size ``eta`` meeting both strong Wolfe
conditions for ``phi(eta) = f(params + eta u)``: sufficient decrease
``phi(eta) <= phi(0) + slope_rtol * eta * phi'(0)`` (or, with ``approx_dec_rtol``, Hager and Zhang's
approximate version), and small curvature ``|phi'(eta)| <= curv_rtol |phi'(0)|``. It first grows
the step by ``increase_factor`` until an interval holds an acceptable step, then zooms into it with
cubic, quadratic or bisection steps (Nocedal and Wright, algorithms 3.5 and 3.6). Each iteration
evaluates ``f`` and its gradient once; the whole search is one ``lax.while_loop``.

    >>> import numpy as np
    >>> import fungrad
    >>> import fungrad.numpy as fnp
    >>> f = lambda w: fnp.sum(w ** 2)
    >>> search = scale_by_zoom_linesearch(max_linesearch_steps=10)
    >>> w = np.array([1.0, -2.0])
    >>> value, grad = fungrad.value_and_grad(f)(w)
    >>> updates, state = search.update(-grad, search.init(w), w, value=value, grad=grad, value_fn=f)
    >>> updates, float(state.learning_rate)          # the exact minimizer along -grad: eta = 1/2
    (array([-1.,  2.]), 0.5)
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, NamedTuple

import numpy as np

import fungrad.numpy as fnp
from fungrad import lax
from fungrad.api import value_and_grad
from fungrad.optim.base import GradientTransformationExtraArgs
from fungrad.optim.tree import tree_add_scale, tree_scale, tree_vdot, tree_where, tree_zeros_like, zero_count
from fungrad.tree_util import tree_flatten

__all__ = ["ScaleByZoomLinesearchState", "ZoomLinesearchInfo", "scale_by_zoom_linesearch",
           "value_and_grad_from_state"]


class ZoomLinesearchInfo(NamedTuple):
    """What the last search did: its number of function evaluations and final errors.

        >>> import numpy as np
        >>> scale_by_zoom_linesearch(10).init(np.ones(1)).info.num_linesearch_steps
        array(0, dtype=int32)
    """

    num_linesearch_steps: Any
    decrease_error: Any
    curvature_error: Any


class ScaleByZoomLinesearchState(NamedTuple):
    """The accepted step size, the value and gradient at the accepted point, and ``info``.

        >>> import numpy as np
        >>> float(scale_by_zoom_linesearch(10).init(np.ones(1)).value)
        inf
    """

    learning_rate: Any
    value: Any
    grad: Any
    info: ZoomLinesearchInfo


class _Search(NamedTuple):
    """The loop state of one search: the last trial, the bracket and the best safe step so far."""

    count: Any
    stepsize: Any
    value: Any
    grad: Any
    slope: Any
    decrease_error: Any
    curvature_error: Any
    interval_found: Any
    done: Any
    failed: Any
    low: Any
    value_low: Any
    slope_low: Any
    high: Any
    value_high: Any
    slope_high: Any
    cubic_ref: Any
    value_cubic_ref: Any
    safe_stepsize: Any
    safe_value: Any
    safe_grad: Any


def _safe_div(num: Any, den: Any) -> Any:
    """``num / den``, NaN where ``den == 0`` (so that an interpolation there is rejected)."""
    ok = den != 0
    return fnp.where(ok, num / fnp.where(ok, den, 1.0), fnp.nan)


def _cubic_minimizer(a: Any, fa: Any, fpa: Any, b: Any, fb: Any, c: Any, fc: Any) -> Any:
    """The minimizer of the cubic through ``(a, fa)`` with slope ``fpa`` there, ``(b, fb)`` and ``(c, fc)``."""
    db, dc = b - a, c - a
    rb, rc = fb - fa - fpa * db, fc - fa - fpa * dc
    denom = (db * dc) ** 2 * (db - dc)
    A = _safe_div(dc ** 2 * rb - db ** 2 * rc, denom)
    B = _safe_div(db ** 3 * rc - dc ** 3 * rb, denom)
    radical = B * B - 3.0 * A * fpa
    root = fnp.where(radical >= 0, fnp.sqrt(fnp.where(radical >= 0, radical, 0.0)), fnp.nan)
    return a + _safe_div(root - B, 3.0 * A)


def _quadratic_minimizer(a: Any, fa: Any, fpa: Any, b: Any, fb: Any) -> Any:
    """The minimizer of the parabola through ``(a, fa)`` with slope ``fpa`` there and ``(b, fb)``."""
    db = b - a
    curvature = _safe_div(fb - fa - fpa * db, db * db)
    return a - _safe_div(fpa, 2.0 * curvature)


def _inside(x: Any, left: Any, right: Any, margin: Any) -> Any:
    """Whether ``x`` lies in ``[left, right]`` at least ``margin`` away from both ends."""
    return (x > left + margin) & (x < right - margin)


def _inf_if_nan(x: Any) -> Any:
    return fnp.where(fnp.isnan(x), fnp.inf, x)


def _pick(condition: Any, on_true: tuple[Any, ...], on_false: tuple[Any, ...]) -> Any:
    return tree_where(condition, on_true, on_false)


def scale_by_zoom_linesearch(max_linesearch_steps: int, max_learning_rate: Any = None, tol: Any = 0.0,
                             increase_factor: Any = 2.0, slope_rtol: Any = 1e-4, curv_rtol: Any = 0.9,
                             approx_dec_rtol: Any = 1e-6, stepsize_precision: Any = 1e-5,
                             initial_guess_strategy: str = "keep",
                             verbose: bool = False) -> GradientTransformationExtraArgs:
    """Scale the updates by a step size meeting the strong Wolfe conditions (see the module docstring).

    ``update(updates, state, params, *, value, grad, value_fn, **extra_args)``: ``value`` and ``grad``
    are ``value_fn`` and its gradient at ``params``; ``extra_args`` are passed on to ``value_fn`` as
    keyword arguments. The first trial step is 1 (``initial_guess_strategy="one"``) or the last
    accepted one (``"keep"``), capped at ``max_learning_rate``. After ``max_linesearch_steps``
    evaluations (or once the bracket is shorter than ``stepsize_precision``) the search takes the best
    step that decreased ``f`` enough, if any. ``verbose`` is accepted for optax's signature and ignored.

        >>> import numpy as np
        >>> import fungrad
        >>> import fungrad.numpy as fnp
        >>> f = lambda w, scale: scale * fnp.sum(w ** 4)
        >>> search = scale_by_zoom_linesearch(max_linesearch_steps=30, initial_guess_strategy="one")
        >>> w = np.array([1.0])
        >>> value, grad = fungrad.value_and_grad(f)(w, 2.0)
        >>> updates, state = search.update(-grad, search.init(w), w, value=value, grad=grad, value_fn=f, scale=2.0)
        >>> bool(state.value < value), int(state.info.num_linesearch_steps) <= 30
        (True, True)
    """
    if initial_guess_strategy not in ("one", "keep"):
        raise ValueError(f"scale_by_zoom_linesearch: initial_guess_strategy must be 'one' or 'keep', "
                         f"got {initial_guess_strategy!r}.")
    del verbose

    def errors(stepsize: Any, value: Any, slope: Any, value0: Any, slope0: Any) -> tuple[Any, Any]:
        decrease = value - value0 - slope_rtol * stepsize * slope0
        if approx_dec_rtol is not None:
            approximate = fnp.maximum(slope - (2 * slope_rtol - 1.0) * slope0,
                                      value - value0 - approx_dec_rtol * fnp.abs(value0))
            decrease = fnp.minimum(approximate, decrease)
        curvature = fnp.abs(slope) - curv_rtol * fnp.abs(slope0)
        return _inf_if_nan(fnp.maximum(decrease, 0.0)), _inf_if_nan(fnp.maximum(curvature, 0.0))

    def trial_stepsize(s: _Search, guess: Any) -> Any:
        grown = fnp.where(s.count == 0, guess, increase_factor * s.stepsize)
        if max_learning_rate is not None:
            grown = fnp.minimum(grown, max_learning_rate)
        delta = fnp.abs(s.high - s.low)
        left, right = fnp.minimum(s.low, s.high), fnp.maximum(s.low, s.high)
        cubic = _cubic_minimizer(s.low, s.value_low, s.slope_low, s.high, s.value_high, s.cubic_ref,
                                 s.value_cubic_ref)
        quadratic = _quadratic_minimizer(s.low, s.value_low, s.slope_low, s.high, s.value_high)
        middle = fnp.where(_inside(cubic, left, right, 0.2 * delta), cubic,
                           fnp.where(_inside(quadratic, left, right, 0.1 * delta), quadratic, (s.low + s.high) / 2.0))
        return fnp.where(s.interval_found, middle, grown)

    def search_step(s: _Search, t: Any, value: Any, slope: Any, dec: Any, err: Any) -> _Search:
        """Algorithm 3.5: grow the step until ``[low, high]`` brackets an acceptable one."""
        reached_max = (t >= max_learning_rate) if max_learning_rate is not None else fnp.asarray(False)
        high_is_new = (dec > 0.0) | ((value >= s.value) & (s.count > 0))
        low_is_new = (slope >= 0.0) & ~high_is_new
        low, value_low, slope_low, high, value_high, slope_high = _pick(
            low_is_new, (t, value, slope, s.stepsize, s.value, s.slope), (s.stepsize, s.value, s.slope, t, value, slope))
        found = high_is_new | low_is_new | (err <= tol)
        done = (err <= tol) | (reached_max & ~found)
        return s._replace(interval_found=found, done=done, low=low, value_low=value_low, slope_low=slope_low,
                          high=high, value_high=value_high, slope_high=slope_high, cubic_ref=low,
                          value_cubic_ref=value_low)

    def zoom_step(s: _Search, t: Any, value: Any, slope: Any, dec: Any, err: Any) -> _Search:
        """Algorithm 3.6: shrink the bracket around the trial ``t``."""
        high_is_t = (dec > 0.0) | (value >= s.value_low)
        high_is_low = (slope * (s.high - s.low) >= 0.0) & ~high_is_t
        high, value_high, slope_high = _pick(high_is_t, (t, value, slope), (s.high, s.value_high, s.slope_high))
        high, value_high, slope_high = _pick(high_is_low, (s.low, s.value_low, s.slope_low),
                                             (high, value_high, slope_high))
        low, value_low, slope_low = _pick(high_is_t, (s.low, s.value_low, s.slope_low), (t, value, slope))
        cubic_ref, value_cubic_ref = _pick(high_is_t | high_is_low, (s.high, s.value_high), (s.low, s.value_low))
        return s._replace(done=err <= tol, low=low, value_low=value_low, slope_low=slope_low, high=high,
                          value_high=value_high, slope_high=slope_high, cubic_ref=cubic_ref,
                          value_cubic_ref=value_cubic_ref)

    def init(params: Any) -> ScaleByZoomLinesearchState:
        return ScaleByZoomLinesearchState(np.asarray(1.0), np.asarray(np.inf), tree_zeros_like(params),
                                          ZoomLinesearchInfo(zero_count(), np.asarray(np.inf),
                                                             np.asarray(np.inf)))

    def update(updates: Any, state: ScaleByZoomLinesearchState, params: Any = None, *, value: Any, grad: Any,
               value_fn: Callable[..., Any], **extra_args: Any) -> tuple[Any, ScaleByZoomLinesearchState]:
        if params is None:
            raise ValueError("scale_by_zoom_linesearch.update needs the params: call "
                             "opt.update(grads, state, params, value=..., grad=..., value_fn=...).")
        fn_kwargs = _kwargs_for(value_fn, extra_args)
        value_and_grad_fn = value_and_grad(value_fn)
        value0 = fnp.asarray(value, dtype=np.float64)
        slope0 = tree_vdot(updates, grad)
        guess = fnp.asarray(1.0) if initial_guess_strategy == "one" else fnp.asarray(state.learning_rate)

        def body(s: _Search) -> _Search:
            t = trial_stepsize(s, guess)
            v, g = value_and_grad_fn(tree_add_scale(params, t, updates), **fn_kwargs)
            v = fnp.asarray(v, dtype=np.float64)
            slope = tree_vdot(g, updates)
            dec, curv = errors(t, v, slope, value0, slope0)
            err = fnp.maximum(dec, curv)
            better_safe = (dec <= tol) & (fnp.logical_not(s.interval_found) | (v < s.safe_value))
            safe = _pick(better_safe, (t, v, g), (s.safe_stepsize, s.safe_value, s.safe_grad))
            # A bracket already shorter than stepsize_precision ends the zoom once some step is safe.
            too_short = s.interval_found & (fnp.abs(s.high - s.low) <= stepsize_precision) & (safe[0] > 0.0)
            searched = search_step(s, t, v, slope, dec, err)
            zoomed = zoom_step(s, t, v, slope, dec, err)
            s = tree_where(s.interval_found, zoomed, searched)
            failed = ((s.count + 1 >= max_linesearch_steps) | too_short) & ~s.done
            # On failure fall back to the best sufficient-decrease step (or to 0 outside f's domain).
            fallback = failed & ((safe[0] > 0.0) | fnp.isinf(dec))
            t, v, g = _pick(fallback, safe, (t, v, g))
            return s._replace(count=s.count + 1, stepsize=t, value=v, grad=g, slope=slope, decrease_error=dec,
                              curvature_error=curv, failed=failed, safe_stepsize=safe[0], safe_value=safe[1],
                              safe_grad=safe[2])

        inf, zero, no = fnp.asarray(np.inf), fnp.asarray(0.0), fnp.asarray(False)
        start = _Search(zero_count(), zero, value0, grad, slope0, inf, inf, no, no, no, zero, value0,
                        slope0, zero, value0, slope0, zero, value0, zero, value0, grad)
        final = lax.while_loop(lambda s: fnp.logical_not(s.done | s.failed), body, start)
        info = ZoomLinesearchInfo(final.count, final.decrease_error, final.curvature_error)
        return (tree_scale(final.stepsize, updates),
                ScaleByZoomLinesearchState(final.stepsize, final.value, final.grad, info))
    return GradientTransformationExtraArgs(init, update)


def _kwargs_for(value_fn: Callable[..., Any], extra_args: dict[str, Any]) -> dict[str, Any]:
    """The extra arguments ``value_fn`` takes by name; any other is an error."""
    try:
        parameters = inspect.signature(value_fn).parameters
    except (TypeError, ValueError):
        return dict(extra_args)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return dict(extra_args)
    unknown = sorted(set(extra_args) - set(parameters))
    if unknown:
        raise TypeError(f"scale_by_zoom_linesearch.update: value_fn does not take the extra arguments {unknown}; "
                        "pass only the keyword arguments value_fn accepts.")
    return dict(extra_args)


def _find_value_and_grad(state: Any) -> list[Any]:
    """Every (value, grad) pair stored in a state (in NamedTuples with fields ``value`` and ``grad``)."""
    found = []
    stack = [state]
    while stack:
        node = stack.pop()
        fields = getattr(type(node), "_fields", None)
        if fields is not None and "value" in fields and "grad" in fields:
            found.append((node.value, node.grad))
        elif isinstance(node, (tuple, list)):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
    return found


def value_and_grad_from_state(value_fn: Callable[..., Any]) -> Callable[..., tuple[Any, Any]]:
    """Like ``value_and_grad(value_fn)``, but reuse the value and gradient a line search stored in the
    optimizer state (passed as ``state=``) when that value is finite.

        >>> import numpy as np
        >>> import fungrad.numpy as fnp
        >>> from fungrad.optim import lbfgs
        >>> f = lambda w: fnp.sum(w ** 2)
        >>> opt = lbfgs()
        >>> value_and_grad = value_and_grad_from_state(f)
        >>> value_and_grad(np.array([1.0, 2.0]), state=opt.init(np.zeros(2)))   # nothing stored yet
        (5.0, array([2., 4.]))
    """
    compute = value_and_grad(value_fn)

    def fetch(params: Any, *args: Any, state: Any, **kwargs: Any) -> tuple[Any, Any]:
        stored = _find_value_and_grad(state)
        if len(stored) != 1:
            raise ValueError(f"value_and_grad_from_state: the state must hold exactly one value and gradient "
                             f"(a line search's state), found {len(stored)}.")
        value, grad = stored[0]
        if tree_flatten(grad)[1] != tree_flatten(params)[1]:
            raise ValueError("value_and_grad_from_state: the gradient in the state does not have the structure "
                             "of params.")
        stored_pair = lambda p, a, k: (fnp.asarray(value, dtype=np.float64), grad)  # noqa: E731
        fresh_pair = lambda p, a, k: compute(p, *a, **k)  # noqa: E731
        result: tuple[Any, Any] = lax.cond(fnp.isfinite(value), stored_pair, fresh_pair, params, args, kwargs)
        return result
    return fetch

"""``curve_fit``: SciPy's curve fitting on top of :func:`fungrad.optim.least_squares`.

The model ``f(xdata, *params)`` is written with ``fungrad.numpy``; its Jacobian comes from fungrad.
The covariance of the fitted parameters is SciPy's: ``(JᵀJ)⁻¹`` of the weighted residuals, scaled by
the residual variance ``sum(r²) / (m - n)`` unless ``absolute_sigma=True``.

>>> import fungrad.numpy as fnp
>>> x = np.linspace(0.0, 4.0, 50)
>>> y = 2.5 * np.exp(-1.3 * x) + 0.5 + 0.01 * np.sin(7.0 * x)      # a decay with a ripple
>>> popt, pcov = curve_fit(lambda x, a, k, c: a * fnp.exp(-k * x) + c, x, y, p0=[1.0, 1.0, 0.0])
>>> np.round(popt, 2), pcov.shape
(array([2.5 , 1.31, 0.5 ]), (3, 3))
"""
from __future__ import annotations

import inspect
import warnings
import weakref
from typing import Any, Callable

import numpy as np

import fungrad.numpy as fnp
from fungrad.optim.levenberg_marquardt import LeastSquaresResult, least_squares

__all__ = ["curve_fit", "OptimizeWarning"]

Array = np.ndarray[Any, np.dtype[np.float64]]


class OptimizeWarning(UserWarning):
    """The fit ran but a derived quantity (the covariance) could not be estimated, as in SciPy."""


def curve_fit(f: Callable[..., Any], xdata: Any, ydata: Any, p0: Any = None, sigma: Any = None,
              absolute_sigma: bool = False, check_finite: bool = True, method: str = "lm",
              full_output: bool = False, **options: Any) -> Any:
    """Fit ``f(xdata, *params)`` to ``ydata`` by least squares; returns ``(popt, pcov)``.

    As SciPy's ``curve_fit`` with ``method="lm"``: ``p0`` is the start (default ones, one per
    argument of ``f`` after ``xdata``); ``sigma`` is a scalar or a vector of standard deviations of
    ``ydata`` (residuals are divided by it) or their covariance matrix (residuals are multiplied by
    the inverse of its Cholesky factor); ``absolute_sigma=True`` takes ``sigma`` as absolute, else
    ``pcov`` is scaled by the residual variance ``sum(r²) / (m - n)``. Other keyword options go to
    :func:`least_squares` (``ftol``, ``xtol``, ``gtol``, ``max_nfev``, ``x_scale``, ...).
    ``full_output=True`` also returns the :class:`~fungrad.optim.LeastSquaresResult`.

    A fit that does not converge raises ``RuntimeError`` (as SciPy does). When ``JᵀJ`` is singular
    or there are no degrees of freedom, ``pcov`` is filled with ``inf`` and an
    :class:`OptimizeWarning` is issued.

    >>> import fungrad.numpy as fnp
    >>> x = np.arange(5.0)
    >>> popt, pcov = curve_fit(lambda x, a, b: a * x + b, x, 2.0 * x + 1.0 + [0.1, -0.1, 0, 0.1, -0.1])
    >>> np.round(popt, 3), np.round(np.sqrt(np.diag(pcov)), 3)
    (array([1.98, 1.04]), array([0.035, 0.085]))
    """
    if method != "lm":
        raise ValueError(f"curve_fit: method {method!r} is not available; use method='lm'")
    ydata = np.asarray(ydata, dtype=np.float64)
    if isinstance(xdata, (list, tuple, np.ndarray)):
        xdata = np.asarray(xdata, dtype=np.float64)
    if check_finite:
        for name, data in (("ydata", ydata), ("xdata", xdata)):
            if isinstance(data, np.ndarray) and not np.all(np.isfinite(data)):
                raise ValueError(f"curve_fit: {name} contains NaN or inf; remove those points "
                                 "or pass check_finite=False")
    if ydata.size == 0:
        raise ValueError("curve_fit: ydata must not be empty")
    p0 = _initial_params(f, p0)
    whiten = _whitening(sigma, ydata.size)

    res = least_squares(_residuals_of(f), p0, xdata, ydata.ravel(), whiten, **options)
    if not res.success:
        raise RuntimeError("curve_fit: optimal parameters not found: " + res.message)
    pcov = _covariance(res, ydata.size, absolute_sigma)
    popt = np.asarray(res.params)
    return (popt, pcov, res) if full_output else (popt, pcov)


class _WeightedResiduals:
    """``w (f(x, *p) - y)`` for the model ``f``, held weakly (see :func:`_residuals_of`)."""

    def __init__(self, f: Callable[..., Any]) -> None:
        self._model = weakref.ref(f)

    @property
    def __wrapped__(self) -> Callable[..., Any] | None:
        """The model: ``least_squares`` checks the data it reads before reusing a program."""
        return self._model()

    def __call__(self, p: Any, x: Any, y: Any, w: Any) -> Any:
        f = self._model()
        assert f is not None, "curve_fit: the model function was freed"
        r = fnp.ravel(f(x, *[p[i] for i in range(p.shape[0])])) - y
        return w * r if w.ndim < 2 else w @ r


_residual_functions: weakref.WeakKeyDictionary[Callable[..., Any], _WeightedResiduals] = \
    weakref.WeakKeyDictionary()


def _residuals_of(f: Callable[..., Any]) -> Callable[..., Any]:
    """The residual function of the model ``f``: the same object for the same ``f``, so that
    ``least_squares`` reuses what an earlier fit of ``f`` compiled (a model that cannot be held
    weakly gets a new one every fit)."""
    try:
        return _residual_functions.setdefault(f, _WeightedResiduals(f))
    except TypeError:
        return _WeightedResiduals(f)


def _initial_params(f: Callable[..., Any], p0: Any) -> Array:
    if p0 is None:
        params = list(inspect.signature(f).parameters.values())
        if len(params) < 2 or any(p.kind is p.VAR_POSITIONAL for p in params):
            raise ValueError("curve_fit: cannot tell how many parameters f takes; pass p0")
        return np.ones(len(params) - 1)
    p0 = np.atleast_1d(np.asarray(p0))
    if p0.ndim != 1:
        raise ValueError(f"curve_fit: p0 must be a 1-D sequence of numbers, got shape {p0.shape}")
    if p0.dtype.kind not in "iuf":
        raise TypeError(f"curve_fit: p0 must be real numbers, got dtype {p0.dtype}")
    start: Array = p0.astype(np.float64)
    return start


def _whitening(sigma: Any, m: int) -> Array:
    """What the residuals are multiplied by: ``1/sigma`` or the inverse Cholesky factor."""
    if sigma is None:
        return np.ones(())
    sigma = np.asarray(sigma, dtype=np.float64)
    if sigma.size == 1 or sigma.shape == (m,):
        if not np.all(sigma > 0):
            raise ValueError("curve_fit: sigma must be positive")
        weights: Array = 1.0 / sigma.reshape(sigma.shape if sigma.size > 1 else ())
        return weights
    if sigma.shape == (m, m):
        try:
            chol = np.linalg.cholesky(sigma)
        except np.linalg.LinAlgError as e:
            raise ValueError("curve_fit: sigma must be positive definite") from e
        inverse: Array = np.linalg.solve(chol, np.eye(m)).astype(np.float64)
        return inverse
    raise ValueError(f"curve_fit: sigma must be a scalar, shape ({m},) or ({m}, {m}); "
                     f"got shape {sigma.shape}")


def _covariance(res: LeastSquaresResult, m: int, absolute_sigma: bool) -> Array:
    """``(JᵀJ)⁻¹`` by SVD (SciPy's threshold for a zero singular value), scaled as SciPy does."""
    n = res.jac.shape[1]
    _, s, vt = np.linalg.svd(res.jac, full_matrices=False)
    keep = s > np.finfo(np.float64).eps * max(res.jac.shape) * s[0]
    pcov: Array = (vt[keep].T / s[keep] ** 2) @ vt[keep]
    singular = not np.all(keep)
    if not absolute_sigma:
        if m > n:
            pcov = pcov * (2.0 * res.cost / (m - n))
        else:
            singular = True
    if singular:
        warnings.warn("curve_fit: covariance of the parameters could not be estimated",
                      OptimizeWarning, stacklevel=3)
        return np.full((n, n), np.inf)
    return pcov

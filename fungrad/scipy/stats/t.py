"""Student's t distribution with ``df`` degrees of freedom.

>>> round(float(pdf(0.0, 1.0)), 12)   # Cauchy: 1 / pi
0.318309886184

``cdf`` and ``sf`` are SciPy's (``jax.scipy.stats.t`` has only the densities); they are the
incomplete beta function, so they are differentiable in ``x``, ``loc`` and ``scale`` but not in
``df``.
"""
from __future__ import annotations

import math
from typing import Any

import fungrad.numpy as fnp
from fungrad import lax
from fungrad.numpy.promotion import promote_inexact
from fungrad.scipy.special import betainc, gammaln
from fungrad.numpy.array_methods import wrap_namespace


def logpdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Log density."""
    x, df, loc, scale = promote_inexact(x, df, loc, scale)
    y = (x - loc) / scale
    return (gammaln(0.5 * (df + 1.0)) - gammaln(0.5 * df) - 0.5 * lax.log(df * math.pi)
            - lax.log(scale) - 0.5 * (df + 1.0) * lax.log1p(y * y / df))


def pdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Density."""
    return lax.exp(logpdf(x, df, loc, scale))


def _lower_tail(y: Any, df: Any) -> Any:
    """``P(T <= -|y|) = I_{df / (df + y^2)}(df / 2, 1 / 2) / 2``."""
    return 0.5 * betainc(0.5 * df, fnp.full_like(df, 0.5), df / (df + y * y))


def cdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Distribution function (as ``scipy.stats.t.cdf``).

    >>> round(float(cdf(1.0, 1.0)), 12)   # Cauchy: 3 / 4
    0.75
    """
    x, df, loc, scale = promote_inexact(x, df, loc, scale)
    y = (x - loc) / scale
    tail = _lower_tail(y, df)
    return fnp.where(lax.gt(y, 0.0), 1.0 - tail, tail)


def sf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Survival function ``1 - cdf``, accurate where it is tiny (as ``scipy.stats.t.sf``).

    >>> round(float(sf(1.0, 1.0)), 12)
    0.25
    """
    x, df, loc, scale = promote_inexact(x, df, loc, scale)
    y = (x - loc) / scale
    tail = _lower_tail(y, df)
    return fnp.where(lax.gt(y, 0.0), tail, 1.0 - tail)


# Concrete results are fungrad.Arrays, as JAX's are (tracers pass through).
wrap_namespace(globals())

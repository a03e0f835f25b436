"""The Bernoulli distribution: 1 with probability ``p``, else 0.

>>> float(pmf(1, 0.3)), float(cdf(0, 0.3))
(0.3, 0.7)
"""
from __future__ import annotations

from typing import Any

import fungrad.numpy as fnp
from fungrad import lax
from fungrad.numpy.promotion import promote_inexact
from fungrad.scipy.special import xlog1py, xlogy
from fungrad.numpy.array_methods import wrap_namespace


def logpmf(k: Any, p: Any, loc: Any = 0) -> Any:
    """Log probability of ``k`` (``-inf`` outside {0, 1})."""
    k, p, loc = promote_inexact(k, p, loc)
    k = k - loc
    inside = fnp.logical_or(lax.eq(k, 0.0), lax.eq(k, 1.0))
    return fnp.where(inside, xlogy(k, p) + xlog1py(1.0 - k, -p), -fnp.inf)


def pmf(k: Any, p: Any, loc: Any = 0) -> Any:
    """Probability of ``k``."""
    return lax.exp(logpmf(k, p, loc))


def cdf(k: Any, p: Any) -> Any:
    """``P(X <= k)``."""
    k, p = promote_inexact(k, p)
    return fnp.where(lax.lt(k, 0.0), 0.0, fnp.where(lax.lt(k, 1.0), 1.0 - p, 1.0))


def ppf(q: Any, p: Any) -> Any:
    """The smallest ``k`` with ``cdf(k) >= q`` (NaN for ``q`` outside [0, 1])."""
    q, p = promote_inexact(q, p)
    bad = fnp.logical_or(fnp.logical_or(lax.lt(q, 0.0), lax.gt(q, 1.0)), fnp.isnan(q))
    return fnp.where(bad, fnp.nan, fnp.where(lax.le(q, 1.0 - p), 0.0, 1.0))


# Concrete results are fungrad.Arrays, as JAX's are (tracers pass through).
wrap_namespace(globals())

"""The normal distribution N(loc, scale**2).

>>> round(float(cdf(1.0)), 12), round(float(ppf(0.975)), 9)
(0.841344746069, 1.959963985)
"""
from __future__ import annotations

import math
from typing import Any

from fungrad import lax
from fungrad.numpy.promotion import promote_inexact
from fungrad.scipy.special import log_ndtr, ndtr, ndtri
from fungrad.numpy.array_methods import wrap_namespace


def _z(x: Any, loc: Any, scale: Any) -> Any:
    x, loc, scale = promote_inexact(x, loc, scale)
    return (x - loc) / scale


def logpdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Log density."""
    x, loc, scale = promote_inexact(x, loc, scale)
    z = (x - loc) / scale
    return -0.5 * z * z - lax.log(scale) - 0.5 * math.log(2 * math.pi)


def pdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Density."""
    return lax.exp(logpdf(x, loc, scale))


def cdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Distribution function."""
    return ndtr(_z(x, loc, scale))


def logcdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Log of the distribution function (accurate far in the lower tail)."""
    return log_ndtr(_z(x, loc, scale))


def sf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Survival function ``1 - cdf``."""
    return ndtr(-_z(x, loc, scale))


def logsf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Log of the survival function."""
    return log_ndtr(-_z(x, loc, scale))


def ppf(q: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Quantile function, the inverse of ``cdf``."""
    q, loc, scale = promote_inexact(q, loc, scale)
    return ndtri(q) * scale + loc


def isf(q: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Inverse survival function."""
    q, loc, scale = promote_inexact(q, loc, scale)
    return ppf(1.0 - q, loc, scale)


# Concrete results are fungrad.Arrays, as JAX's are (tracers pass through).
wrap_namespace(globals())

"""The gamma distribution with shape ``a``, location ``loc`` and scale ``scale``.

>>> round(float(pdf(1.0, 2.0)), 12), round(float(cdf(1.0, 2.0)), 12)
(0.367879441171, 0.264241117657)
"""
from __future__ import annotations

from typing import Any

import numpy as np

import fungrad.numpy as fnp
from fungrad import lax
from fungrad.numpy.promotion import promote_inexact
from fungrad.scipy.special import gammainc, gammaincc, gammaln, xlogy
from fungrad.numpy.array_methods import wrap_namespace


def logpdf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Log density (``-inf`` below ``loc``)."""
    x, a, loc, scale = promote_inexact(x, a, loc, scale)
    y = (x - loc) / scale
    inside = lax.ge(y, 0.0)
    y = fnp.where(inside, y, fnp.ones_like(y))
    return fnp.where(inside, xlogy(a - 1.0, y) - y - gammaln(a) - lax.log(scale), -fnp.inf)


def pdf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Density."""
    return lax.exp(logpdf(x, a, loc, scale))


def cdf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Distribution function ``P(a, (x - loc) / scale)`` (0 below ``loc``).

    >>> round(float(cdf(2.0, 1.0)), 12)   # 1 - exp(-2)
    0.864664716763
    """
    x, a, loc, scale = promote_inexact(x, a, loc, scale)
    return gammainc(a, lax.clamp(0.0, (x - loc) / scale, np.inf))


def logcdf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``log(cdf)``."""
    return lax.log(cdf(x, a, loc, scale))


def sf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Survival function ``Q(a, (x - loc) / scale)``, accurate where it is tiny (1 below ``loc``).

    >>> round(float(sf(2.0, 1.0)), 12)   # exp(-2)
    0.135335283237
    """
    x, a, loc, scale = promote_inexact(x, a, loc, scale)
    y = (x - loc) / scale
    return fnp.where(lax.lt(y, 0.0), 1.0, gammaincc(a, y))


def logsf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``log(sf)``."""
    return lax.log(sf(x, a, loc, scale))


# Concrete results are fungrad.Arrays, as JAX's are (tracers pass through).
wrap_namespace(globals())

"""Student's t distribution with ``df`` degrees of freedom.

>>> round(float(pdf(0.0, 1.0)), 12)   # Cauchy: 1 / pi
0.318309886184
"""
from __future__ import annotations

import math
from typing import Any

from fungrad import lax
from fungrad.numpy.promotion import promote_inexact
from fungrad.scipy.special import gammaln


def logpdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Log density."""
    x, df, loc, scale = promote_inexact(x, df, loc, scale)
    y = (x - loc) / scale
    return (gammaln(0.5 * (df + 1.0)) - gammaln(0.5 * df) - 0.5 * lax.log(df * math.pi)
            - lax.log(scale) - 0.5 * (df + 1.0) * lax.log1p(y * y / df))


def pdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Density."""
    return lax.exp(logpdf(x, df, loc, scale))

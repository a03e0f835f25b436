"""``fungrad.scipy``: parts of SciPy's API on fungrad values, like ``jax.scipy``."""
from fungrad.scipy import linalg as linalg
from fungrad.scipy import special as special
from fungrad.scipy import stats as stats

__all__ = ["linalg", "special", "stats"]

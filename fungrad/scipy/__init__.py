"""``fungrad.scipy``: parts of SciPy's API on fungrad values, like ``jax.scipy``."""
from fungrad.scipy import linalg as linalg

__all__ = ["linalg"]

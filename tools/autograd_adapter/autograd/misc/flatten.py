from fungrad.flatten_util import ravel_pytree as flatten  # noqa: F401

"""``autograd.misc.flatten`` is fungrad's ``ravel_pytree``; ``const_graph`` has no fungrad peer."""
from fungrad.flatten_util import ravel_pytree as flatten  # noqa: F401


def const_graph(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise NotImplementedError("autograd internals: const_graph (a cached autograd trace) has no fungrad peer")

"""``pmap``: run a function on every process, its collectives across the processes.

>>> import fungrad, numpy as np
>>> from fungrad import lax
>>> total = pmap(lambda x: lax.psum(x, "dp"), axis_name="dp")
>>> total(np.array([1.0, 2.0]))     # one process here: the sum over one member
array([1., 2.])
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from fungrad.distributed.mpi_axis import MPIAxis
from fungrad.distributed.runtime import communicator, initialize
from fungrad.interpreters.named_axes import env_key, extend_axis_env
from fungrad.lax.collectives import process_axes


def process_axis(axis_name: Any, comm: Any = None, check_shapes: bool = True) -> MPIAxis:
    """The axis of processes called ``axis_name`` over ``comm`` (the initialized communicator by
    default); collectives over that name, run eagerly or by jit's code, use it from now on."""
    initialize()
    comm = communicator() if comm is None else comm
    axis = process_axes.get(axis_name)
    if isinstance(axis, MPIAxis) and axis.comm is comm and axis.asked == check_shapes:
        return axis
    new = MPIAxis(comm, check_shapes)
    process_axes[axis_name] = new
    return new


def pmap(fun: Callable[..., Any], axis_name: Any = None, *, comm: Any = None,
         check_shapes: bool = True) -> Callable[..., Any]:
    """Run ``fun`` on this process's own arguments, with ``axis_name`` bound to the processes.

    Every process calls the mapped function with its local shard (no extra leading axis); each
    collective over ``axis_name`` inside ``fun`` (``lax.psum``, ``pmean``, ``all_gather``...)
    runs as an MPI collective across the processes of ``comm`` (default: the world). The result
    is what ``vmap(fun, axis_name=axis_name)`` gives for this process's member of the stacked
    data, gradients included. Composes with ``jit`` (either side), ``grad`` and named ``vmap``
    axes inside. ``check_shapes`` verifies before each collective that all processes exchange
    arrays of one shape and dtype.

    >>> import fungrad, numpy as np
    >>> from fungrad import lax
    >>> pmap(fungrad.grad(lambda w: lax.pmean(w * w, "dp")), "dp")(3.0)
    array(6.)
    """
    @functools.wraps(fun)
    def mapped(*args: Any, **kwargs: Any) -> Any:
        if any(frame.kind == "process" for frame in env_key()):
            raise NotImplementedError("distributed.pmap inside another distributed.pmap: one axis "
                                      "of processes at a time (use a named vmap inside)")
        if axis_name is None:
            return fun(*args, **kwargs)
        axis = process_axis(axis_name, comm, check_shapes)
        with extend_axis_env(axis_name, axis.size, "process"):
            return fun(*args, **kwargs)
    return mapped

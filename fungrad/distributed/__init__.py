"""``fungrad.distributed``: data parallelism across processes over MPI (through mpi4py).

Run a program as ``mpiexec -n 4 python train.py``. Inside, ``pmap(f, axis_name="dp")`` runs
``f`` on each process's own data with every collective over ``"dp"`` (``lax.psum``, ``pmean``,
``all_gather``...) an MPI collective across the processes: the semantics of
``vmap(f, axis_name="dp")`` over the stacked data, with the members in different processes.
mpi4py is optional (``pip install -e ".[mpi]"``); without it these functions raise an
ImportError saying how to install it.
"""
from fungrad.distributed.runtime import initialize, process_count, process_index
from fungrad.distributed.pmap import pmap, process_axis
from fungrad.distributed.data_parallel import (
    broadcast_one_to_all, global_norm, global_norm_clip, restore_checkpoint, save_checkpoint,
    shard,
)

__all__ = ["initialize", "process_count", "process_index", "pmap", "process_axis",
           "broadcast_one_to_all", "global_norm", "global_norm_clip", "restore_checkpoint",
           "save_checkpoint", "shard"]

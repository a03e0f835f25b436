"""An axis of processes over an MPI communicator: the collectives as MPI calls on NumPy buffers.

``fungrad.lax`` collectives evaluated over an axis bound by ``distributed.pmap`` call these
methods. Each first checks that every process brings the same operation on the same shape and
dtype (one small Allgather), so a mismatch is a clear error on every process instead of a hang
or garbage; then one MPI collective runs on contiguous buffers (no copy when the operand is
contiguous already).

>>> from fungrad.distributed.runtime import communicator
>>> axis = MPIAxis(communicator())
>>> axis.allreduce(np.array([1.0, 2.0]), "sum")
array([1., 2.])
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fungrad.errors import ShapeError
from fungrad.ir import ShapedArray
from fungrad.distributed.runtime import mpi

_MAX_RANK = 8
_OPS = ("psum", "pmax", "pmin", "all_gather", "psum_scatter", "ppermute", "all_to_all")


class MPIAxis:
    """The ``ProcessAxis`` of ``fungrad.lax.collectives`` over communicator ``comm``."""

    def __init__(self, comm: Any, check_shapes: bool = True) -> None:
        self.comm = comm
        self.size = int(comm.Get_size())
        self.index = int(comm.Get_rank())
        self.asked = check_shapes
        self.check_shapes = check_shapes and self.size > 1
        self._signatures = np.empty((self.size, 3 + _MAX_RANK), np.int64)

    def _agree(self, op: str, x: np.ndarray) -> np.ndarray:
        """``x`` as a contiguous buffer, once every process has shown the same op, shape, dtype."""
        x = np.asarray(x, order="C")   # (ascontiguousarray would make a 0-d array 1-d)
        if self.check_shapes:
            mine = np.full(3 + _MAX_RANK, -1, np.int64)
            mine[:3] = _OPS.index(op), x.dtype.num, x.ndim
            mine[3:3 + min(x.ndim, _MAX_RANK)] = x.shape[:_MAX_RANK]
            self.comm.Allgather(mine, self._signatures)
            if (self._signatures != mine).any():
                raise ShapeError(f"{op} across processes: the processes disagree on what to "
                                 f"exchange: {', '.join(map(self._describe, range(self.size)))}. "
                                 "Every process must call the same collectives on arrays of "
                                 "the same shape and dtype")
        return x

    def _describe(self, rank: int) -> str:
        sig = self._signatures[rank]
        shape = tuple(int(n) for n in sig[3:3 + sig[2]])
        dtype = next(t for t in np.sctypeDict.values() if np.dtype(t).num == sig[1])
        return f"process {rank} has {_OPS[sig[0]]} of {ShapedArray(shape, np.dtype(dtype))}"

    def allreduce(self, x: np.ndarray, op: str) -> np.ndarray:
        x = self._agree("p" + op, x)
        out = np.empty_like(x)
        MPI = mpi()
        self.comm.Allreduce(x, out, op={"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op])
        return out

    def allgather(self, x: np.ndarray) -> np.ndarray:
        x = self._agree("all_gather", x)
        out = np.empty((self.size,) + x.shape, x.dtype)
        self.comm.Allgather(x, out)
        return out

    def reduce_scatter(self, x: np.ndarray) -> np.ndarray:
        x = self._agree("psum_scatter", x)
        out = np.empty(x.shape[1:], x.dtype)
        self.comm.Reduce_scatter_block(x, out, op=mpi().SUM)
        return out

    def permute(self, x: np.ndarray, perm: tuple[tuple[int, int], ...]) -> np.ndarray:
        x = self._agree("ppermute", x)
        out = np.zeros_like(x)
        sends = [self.comm.Isend(x, dest=d, tag=77) for s, d in perm if s == self.index]
        for s, d in perm:
            if d == self.index:
                self.comm.Recv(out, source=s, tag=77)
        mpi().Request.Waitall(sends)
        return out

    def alltoall(self, x: np.ndarray) -> np.ndarray:
        x = self._agree("all_to_all", x)
        out = np.empty_like(x)
        self.comm.Alltoall(x, out)
        return out

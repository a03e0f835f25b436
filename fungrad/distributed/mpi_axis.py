"""An axis of processes over an MPI communicator: the collectives as MPI calls on NumPy buffers.

``fungrad.lax`` collectives evaluated over an axis bound by ``distributed.pmap`` call these
methods. Each first checks that every process brings the same operation on the same shapes and
dtypes (one Allgather of a checksum, for all the leaves of a pytree at once), so a mismatch is a
clear error on every process instead of a hang or garbage; then MPI runs on the arrays' own
buffers (a copy only for an operand that is neither C- nor, for reductions, Fortran-contiguous).

>>> from fungrad.distributed.runtime import communicator
>>> axis = MPIAxis(communicator())
>>> axis.allreduce([np.array([1.0, 2.0])], "sum")
[array([1., 2.])]
"""
from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from fungrad.errors import ShapeError
from fungrad.ir import ShapedArray
from fungrad.distributed.runtime import mpi

class MPIAxis:
    """The ``ProcessAxis`` of ``fungrad.lax.collectives`` over communicator ``comm``."""

    def __init__(self, comm: Any, check_shapes: bool = True) -> None:
        self.comm = comm
        self.size = int(comm.Get_size())
        self.index = int(comm.Get_rank())
        self.asked = check_shapes
        self.check_shapes = check_shapes and self.size > 1
        self._signatures = np.empty(self.size, np.int64)

    def _agree(self, op: str, xs: list[np.ndarray], keep_layout: bool = False
               ) -> list[tuple[np.ndarray, bool]]:
        """A C-contiguous buffer for each of ``xs`` (and whether it is the transpose), once every
        process has shown the same operation on the same shapes, dtypes and layouts.

        With ``keep_layout`` (elementwise reductions), a Fortran-ordered array (a gradient of a
        weight often is) goes as its transpose, without a copy, if every process has it so.
        """
        bufs = [_buffer(np.asarray(x), keep_layout) for x in xs]
        if self.check_shapes:
            mine = _describe(op, bufs)
            self.comm.Allgather(np.array([zlib.crc32(mine.encode())], np.int64), self._signatures)
            if (self._signatures != self._signatures[0]).any():
                if keep_layout:   # every process saw the mismatch: all retry in C order
                    return self._agree(op, xs)
                every = self.comm.allgather(mine)
                raise ShapeError(
                    f"{op} across processes: the processes disagree on what to exchange: "
                    f"{', '.join(f'process {r} has {d}' for r, d in enumerate(every))}. Every "
                    "process must call the same collectives on arrays of the same shapes and dtypes")
        return bufs

    def allreduce(self, xs: list[np.ndarray], op: str) -> list[np.ndarray]:
        bufs = self._agree("p" + op, xs, keep_layout=self.check_shapes)
        mpi_op = {"sum": mpi().SUM, "max": mpi().MAX, "min": mpi().MIN}[op]
        outs = []
        for buf, transposed in bufs:
            out = np.empty_like(buf)
            self.comm.Allreduce(buf, out, op=mpi_op)
            outs.append(out.T if transposed else out)
        return outs

    def allgather(self, x: np.ndarray) -> np.ndarray:
        ((x, _),) = self._agree("all_gather", [x])
        out = np.empty((self.size,) + x.shape, x.dtype)
        self.comm.Allgather(x, out)
        return out

    def reduce_scatter(self, x: np.ndarray) -> np.ndarray:
        ((x, _),) = self._agree("psum_scatter", [x])
        out = np.empty(x.shape[1:], x.dtype)
        self.comm.Reduce_scatter_block(x, out, op=mpi().SUM)
        return out

    def permute(self, x: np.ndarray, perm: tuple[tuple[int, int], ...]) -> np.ndarray:
        ((x, _),) = self._agree("ppermute", [x])
        out = np.zeros_like(x)
        sends = [self.comm.Isend(x, dest=d, tag=77) for s, d in perm if s == self.index]
        for s, d in perm:
            if d == self.index:
                self.comm.Recv(out, source=s, tag=77)
        mpi().Request.Waitall(sends)
        return out

    def alltoall(self, x: np.ndarray) -> np.ndarray:
        ((x, _),) = self._agree("all_to_all", [x])
        out = np.empty_like(x)
        self.comm.Alltoall(x, out)
        return out


def _buffer(x: np.ndarray, keep_layout: bool) -> tuple[np.ndarray, bool]:
    if x.flags.c_contiguous:
        return x, False
    if keep_layout and x.flags.f_contiguous:
        return x.T, True
    return np.ascontiguousarray(x), False


def _describe(op: str, bufs: list[tuple[np.ndarray, bool]]) -> str:
    shown = [str(ShapedArray(b.T.shape if t else b.shape, b.dtype)) + (" (Fortran order)" if t else "")
             for b, t in bufs]
    return f"{op} of {', '.join(shown)}"

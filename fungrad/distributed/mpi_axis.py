"""An axis of processes over an MPI communicator: the collectives as MPI calls on NumPy buffers.

``fungrad.lax`` collectives evaluated over an axis bound by ``distributed.pmap`` call these
methods. Each first checks that every process brings the same operation on the same shapes and
dtypes (one Allgather of a checksum, for all the leaves of a pytree at once), so a mismatch is a
clear error on every process instead of a hang or garbage; then MPI runs on NumPy buffers.

A reduction packs all its operands of one dtype into one fresh buffer (scaled by ``1 / size``
for a mean as they are copied), reduces it in place with one ``Allreduce`` and returns views of
it: the copy is the one MPI would make from a separate send buffer, and one message replaces one
per leaf. The other collectives run on the operands' own buffers (a copy only for an operand
that is not C-contiguous).

>>> from fungrad.distributed.runtime import communicator
>>> axis = MPIAxis(communicator())
>>> axis.allreduce([np.array([1.0, 2.0]), np.float64(3.0)], "sum")
[array([1., 2.]), array(3.)]
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
        self._mine = np.empty(1, np.int64)
        MPI = mpi()
        self._ops = {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}
        self._in_place = MPI.IN_PLACE
        # A mean scales by 1 / size while packing: a multiplication, exact for a power of two.
        self._exact_inverse = self.size & (self.size - 1) == 0

    def _agree(self, op: str, xs: list[np.ndarray], flipped: list[bool] | None = None
               ) -> list[bool]:
        """Per operand, does it travel as its transpose? Answered once every process has shown
        the same operation on the same shapes, dtypes and layouts.

        Elementwise reductions offer ``flipped``: a Fortran-ordered array (a gradient of a weight
        often is) goes as its transpose, without a transposing copy, if every process has it so;
        on a mismatch, which every process sees, all retry in C order.
        """
        if self.check_shapes:
            layouts = flipped or [False] * len(xs)
            signature = repr((op, [(x.shape, x.dtype.str, t) for x, t in zip(xs, layouts)]))
            self._mine[0] = zlib.crc32(signature.encode())
            self.comm.Allgather(self._mine, self._signatures)
            if (self._signatures != self._signatures[0]).any():
                if flipped is not None:
                    return self._agree(op, xs)
                every = self.comm.allgather(_describe(op, xs, layouts))
                raise ShapeError(
                    f"{op} across processes: the processes disagree on what to exchange: "
                    f"{', '.join(f'process {r} has {d}' for r, d in enumerate(every))}. Every "
                    "process must call the same collectives on arrays of the same shapes and dtypes")
        return flipped or [False] * len(xs)

    def _contiguous(self, op: str, x: np.ndarray) -> np.ndarray:
        """``x`` as a C-contiguous buffer, once the processes agree on it."""
        self._agree(op, [x])
        return x if x.flags.c_contiguous else np.ascontiguousarray(x)

    def allreduce(self, xs: list[np.ndarray], op: str) -> list[np.ndarray]:
        """The elementwise ``op`` ("sum", "mean", "max" or "min") of every operand over the
        processes, as fresh arrays (views of one buffer per dtype).

        The operands are packed before the agreement check, so that the check, which waits for
        every process, leads straight into the Allreduce, which must have them all running.
        """
        xs = [np.asarray(x) for x in xs]
        flipped = [self.check_shapes and x.ndim > 1 and x.flags.f_contiguous
                   and not x.flags.c_contiguous for x in xs]
        outs, packs = self._pack(xs, flipped, op)
        if self._agree("p" + op, xs, flipped) != flipped:   # the layouts differ: C order
            outs, packs = self._pack(xs, [False] * len(xs), op)
        for packed in packs:
            self.comm.Allreduce(self._in_place, packed, op=self._ops[op])
        return outs

    def _pack(self, xs: list[np.ndarray], flipped: list[bool], op: str
              ) -> tuple[list[Any], list[np.ndarray]]:
        """One fresh buffer per dtype holding the operands (their transposes where ``flipped``),
        scaled by ``1 / size`` for a mean; and the views of it shaped as the operands."""
        outs: list[Any] = [None] * len(xs)
        packs = []
        for dtype in dict.fromkeys(x.dtype for x in xs):
            mine = [i for i, x in enumerate(xs) if x.dtype == dtype]
            packed = np.empty(sum(xs[i].size for i in mine), dtype)
            start = 0
            for i in mine:
                x = xs[i].T if flipped[i] else xs[i]
                view = packed[start:start + x.size].reshape(x.shape)
                start += x.size
                if op != "mean":
                    np.copyto(view, x)
                elif self._exact_inverse:
                    np.multiply(x, 1 / self.size, out=view)
                else:
                    np.divide(x, self.size, out=view)
                outs[i] = view.T if flipped[i] else view
            packs.append(packed)
        return outs, packs

    def allgather(self, x: np.ndarray) -> np.ndarray:
        x = self._contiguous("all_gather", x)
        out = np.empty((self.size,) + x.shape, x.dtype)
        self.comm.Allgather(x, out)
        return out

    def reduce_scatter(self, x: np.ndarray) -> np.ndarray:
        x = self._contiguous("psum_scatter", x)
        out = np.empty(x.shape[1:], x.dtype)
        self.comm.Reduce_scatter_block(x, out, op=mpi().SUM)
        return out

    def permute(self, x: np.ndarray, perm: tuple[tuple[int, int], ...]) -> np.ndarray:
        x = self._contiguous("ppermute", x)
        out = np.zeros_like(x)
        sends = [self.comm.Isend(x, dest=d, tag=77) for s, d in perm if s == self.index]
        for s, d in perm:
            if d == self.index:
                self.comm.Recv(out, source=s, tag=77)
        mpi().Request.Waitall(sends)
        return out

    def alltoall(self, x: np.ndarray) -> np.ndarray:
        x = self._contiguous("all_to_all", x)
        out = np.empty_like(x)
        self.comm.Alltoall(x, out)
        return out


def _describe(op: str, xs: list[np.ndarray], flipped: list[bool]) -> str:
    shown = [str(ShapedArray(x.shape, x.dtype)) + (" (Fortran order)" if t else "")
             for x, t in zip(xs, flipped)]
    return f"{op} of {', '.join(shown)}"

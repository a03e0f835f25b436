"""An axis of processes over an MPI communicator: the collectives as MPI calls on NumPy buffers.

``fungrad.lax`` collectives evaluated over an axis bound by ``distributed.pmap`` call these
methods. Each first checks that every process brings the same operation on the same shapes and
dtypes (one Allgather of a checksum, for all the leaves of a pytree at once), so a mismatch is a
clear error on every process instead of a hang or garbage; then MPI runs on NumPy buffers.

A reduction packs its operands of one dtype into one fresh buffer, reduces it in place with one
``Allreduce`` and returns views of it: the copy is the one MPI would make from a separate send
buffer, and one message replaces one per leaf. An operand the caller gives up (``writable``: jit
passes the buffers that die at the reduction, such as a step's gradients) is reduced in its own
buffer instead when it is large and contiguous: no copy at all. A mean is the sum divided by the
number of processes, as ``vmap``'s ``pmean`` computes it. The other collectives run
on the operands' own buffers (a copy only for an operand that is not C-contiguous).

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


# An operand given up to a reduction is reduced in its own buffer from this size up; a smaller one
# is packed with the others, where one message for all costs less than one message each.
OWN_BUFFER_BYTES = 1 << 16


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
        # A mean's division by the size is a multiplication where the inverse is exact.
        self._exact_inverse = self.size & (self.size - 1) == 0

    def _agree(self, op: str, xs: list[np.ndarray], layouts: list[str] | None = None
               ) -> list[str]:
        """How each operand travels, answered once every process has shown the same operation on
        the same shapes, dtypes and layouts.

        Elementwise reductions offer ``layouts``: per operand "C" (packed in C order), "T" (a
        Fortran-ordered array, often a weight's gradient, packed as its transpose without a
        transposing copy), or "own C" / "own F" (reduced in its own buffer). These hold only if
        every process has them so; on a mismatch, which every process sees, all retry packing
        in C order.
        """
        if self.check_shapes:
            mine = layouts or ["C"] * len(xs)
            signature = repr((op, [(x.shape, x.dtype.str, t) for x, t in zip(xs, mine)]))
            self._mine[0] = zlib.crc32(signature.encode())
            self.comm.Allgather(self._mine, self._signatures)
            if (self._signatures != self._signatures[0]).any():
                if layouts is not None:
                    return self._agree(op, xs)
                every = self.comm.allgather(_describe(op, xs))
                raise ShapeError(
                    f"{op} across processes: the processes disagree on what to exchange: "
                    f"{', '.join(f'process {r} has {d}' for r, d in enumerate(every))}. Every "
                    "process must call the same collectives on arrays of the same shapes and dtypes")
        return layouts or ["C"] * len(xs)

    def _contiguous(self, op: str, x: np.ndarray) -> np.ndarray:
        """``x`` as a C-contiguous buffer, once the processes agree on it."""
        self._agree(op, [x])
        return x if x.flags.c_contiguous else np.ascontiguousarray(x)

    def allreduce(self, xs: list[np.ndarray], op: str,
                  writable: tuple[bool, ...] = ()) -> list[np.ndarray]:
        """The elementwise ``op`` ("sum", "mean", "max" or "min") of every operand over the
        processes, as fresh arrays (views of one buffer per dtype), or, for an operand marked in
        ``writable`` (which the caller gives up), possibly in that operand's own buffer.

        The operands are packed before the agreement check, so that the check, which waits for
        every process, leads straight into the Allreduce, which must have them all running.
        """
        xs = [np.asarray(x) for x in xs]
        layouts = [self._layout(x, i < len(writable) and writable[i]) for i, x in enumerate(xs)]
        mean = op == "mean"
        outs, own, packed = self._pack(xs, layouts, mean)
        if self._agree("p" + op, xs, layouts) != layouts:   # the layouts differ: C order
            outs, own, packed = self._pack(xs, ["C"] * len(xs), mean)
        mpi_op = self._ops[op]
        for buffer in own + packed:
            self.comm.Allreduce(self._in_place, buffer, op=mpi_op)
        if mean:   # packed operands were scaled as they were copied, if by an exact inverse
            for buffer in own if self._exact_inverse else own + packed:
                self._scale(buffer, buffer)
        return outs

    def _scale(self, x: np.ndarray, out: np.ndarray) -> None:
        """``out = x / size``: a multiplication by the exact inverse where there is one."""
        if self._exact_inverse:
            np.multiply(x, 1 / self.size, out=out)
        else:
            np.divide(x, self.size, out=out)

    def _layout(self, x: np.ndarray, writable: bool) -> str:
        """How ``x`` travels (see ``_agree``): its own buffer if given up, large and contiguous
        (an agreed Fortran order only where the agreement check runs)."""
        flags = x.flags
        if writable and x.nbytes >= OWN_BUFFER_BYTES and flags.writeable and type(x) is np.ndarray:
            if flags.c_contiguous:
                return "own C"
            if flags.f_contiguous and self.check_shapes:
                return "own F"
        return "T" if self.check_shapes and x.ndim > 1 and flags.f_contiguous else "C"

    def _pack(self, xs: list[np.ndarray], layouts: list[str], mean: bool
              ) -> tuple[list[Any], list[np.ndarray], list[np.ndarray]]:
        """The outputs (the operands' own buffers, or views of the packed ones); the flat own
        buffers; and one fresh buffer per dtype holding the other operands (their transposes
        where "T"), scaled by ``1 / size`` as they are copied for a mean over a power-of-two
        number of processes (the sum scaled afterwards has the same bits, unless it overflows or
        is subnormal)."""
        outs: list[Any] = [None] * len(xs)
        own = []
        for i, (x, layout) in enumerate(zip(xs, layouts)):
            if layout.startswith("own"):
                outs[i] = x
                own.append(x.reshape(-1, order="A"))
        packs = []
        scaled = mean and self._exact_inverse
        for dtype in dict.fromkeys(x.dtype for x, t in zip(xs, layouts) if not t.startswith("own")):
            mine = [i for i, (x, t) in enumerate(zip(xs, layouts))
                    if x.dtype == dtype and not t.startswith("own")]
            packed = np.empty(sum(xs[i].size for i in mine), dtype)
            start = 0
            for i in mine:
                x = xs[i].T if layouts[i] == "T" else xs[i]
                view = packed[start:start + x.size].reshape(x.shape)
                start += x.size
                if scaled:
                    self._scale(x, view)
                else:
                    np.copyto(view, x)
                outs[i] = view.T if layouts[i] == "T" else view
            packs.append(packed)
        return outs, own, packs

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


def _describe(op: str, xs: list[np.ndarray]) -> str:
    return f"{op} of {', '.join(str(ShapedArray(x.shape, x.dtype)) for x in xs)}"

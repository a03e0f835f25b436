"""The MPI runtime: start-up, who we are, and ending every process when one fails.

mpi4py is an optional dependency (``pip install -e ".[mpi]"`` brings it and MPICH): it is imported
the first time a distributed function needs it, with a clear error when it is missing.

>>> initialize()
>>> process_index(), process_count()
(0, 1)
"""
from __future__ import annotations

import ctypes
import importlib
import sys
import traceback
from types import TracebackType
from typing import Any

_INSTALL = ('fungrad.distributed needs mpi4py and an MPI library: pip install -e ".[mpi]" '
            '(mpi4py plus the mpich wheel), then run with mpiexec -n 4 python script.py')


class _State:
    MPI: Any = None      # the mpi4py.MPI module
    comm: Any = None     # the communicator given to initialize (the world by default)


def mpi() -> Any:
    """The ``mpi4py.MPI`` module (importing it starts MPI), or an ImportError saying what to do."""
    if _State.MPI is None:
        try:
            _State.MPI = importlib.import_module("mpi4py.MPI")
        except ImportError as e:
            raise ImportError(f"{_INSTALL} ({e})") from None
    return _State.MPI


def initialize(comm: Any = None) -> None:
    """Start MPI (once) over ``comm`` (default: ``MPI.COMM_WORLD``).

    With more than one process, an exception nobody catches on any process prints its traceback
    (prefixed by the process index) and aborts every process through MPI, so a failure on one
    process never leaves the others waiting in a collective.

    >>> initialize()
    >>> process_count()
    1
    """
    MPI = mpi()
    if comm is None and _State.comm is not None:
        return
    _keep_freed_memory()
    _State.comm = MPI.COMM_WORLD if comm is None else comm
    if _State.comm.Get_size() > 1 and sys.excepthook is not _abort_all:
        sys.excepthook = _abort_all


def _keep_freed_memory() -> None:
    """Ask glibc to serve large arrays from memory freed earlier instead of fresh mmaps.

    Collectives return fresh arrays every step; fresh pages fault in when MPI writes them, which
    doubles the time of an Allreduce of a few megabytes. Raising the mmap and trim thresholds
    (what ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` would do) keeps them warm.
    Nothing happens on other C libraries.
    """
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_TRIM_THRESHOLD, 1 << 30)
    mallopt(_M_MMAP_THRESHOLD, 1 << 25)   # 32 MB, glibc's largest


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def communicator() -> Any:
    """The communicator of ``initialize`` (initializing over the world if needed)."""
    if _State.comm is None:
        initialize()
    return _State.comm


def process_index() -> int:
    """This process's rank, 0 to ``process_count() - 1``.

    >>> process_index()
    0
    """
    return int(communicator().Get_rank())


def process_count() -> int:
    """How many processes run this program together.

    >>> process_count()
    1
    """
    return int(communicator().Get_size())


def _abort_all(kind: type[BaseException], exc: BaseException,
               tb: TracebackType | None) -> None:
    """``sys.excepthook``: show the error, then end every process (not just this one)."""
    comm = _State.comm
    sys.stdout.flush()
    lines = traceback.format_exception(kind, exc, tb)
    sys.stderr.write(f"fungrad.distributed: process {comm.Get_rank()} of {comm.Get_size()} "
                     f"failed; aborting all processes\n" + "".join(lines))
    sys.stderr.flush()
    mpi().COMM_WORLD.Abort(1)

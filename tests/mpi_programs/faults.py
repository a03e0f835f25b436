"""Run under mpiexec with one argument: how this program goes wrong.

- ``exception``: the last process raises before a collective the others are waiting in.
- ``shape``: the processes bring arrays of different shapes to the same psum.
- ``dtype``: ... of different dtypes, under jit.
Every process must end (MPI abort), showing the error, instead of hanging.
"""
import sys

import numpy as np

from fungrad import distributed, jit, lax

distributed.initialize()
n, me = distributed.process_count(), distributed.process_index()
case = sys.argv[1]
f = distributed.pmap(lambda x: lax.psum(x, "dp"), axis_name="dp")
f(np.ones(2))                   # a collective that works first
if case == "exception":
    if me == n - 1:
        raise RuntimeError(f"boom on process {me}")
    f(np.ones(2))
elif case == "shape":
    f(np.ones(3 + me))
elif case == "dtype":
    jit(f)(np.ones(3, np.float32 if me else np.float64))
print(f"process {me} finished without an error")

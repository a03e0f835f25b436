"""Run under mpiexec: the data-parallel helpers across processes."""
import os
import sys
import tempfile

import numpy as np

from fungrad import distributed, grad, jit, vmap
from fungrad.tree_util import tree_leaves

distributed.initialize()
n, me = distributed.process_count(), distributed.process_index()
rng = np.random.default_rng(0)
trees = [{"w": rng.normal(size=(3, 2)), "b": rng.normal(size=4)} for _ in range(n)]
mine = trees[me]
everything = np.concatenate([x.ravel() for t in trees for x in tree_leaves(t)])

# global_norm over the processes: the norm of every process's tree together, eager and jitted.
norm = distributed.pmap(lambda t: distributed.global_norm(t, "dp"), axis_name="dp")
np.testing.assert_allclose(norm(mine), np.linalg.norm(everything), rtol=1e-13)
np.testing.assert_allclose(jit(norm)(mine), np.linalg.norm(everything), rtol=1e-13)
clipped = distributed.pmap(lambda t: distributed.global_norm_clip(t, 1.0, "dp"), axis_name="dp")(mine)
np.testing.assert_allclose(clipped["w"], mine["w"] / np.linalg.norm(everything), rtol=1e-13)
# Its gradient inside the axis follows JAX's convention: every process's copy of the norm counts,
# so it is n times the derivative of one norm (as vmap(grad) gives on the stacked trees).
g = distributed.pmap(grad(lambda t: distributed.global_norm(t, "dp")), axis_name="dp")(mine)
np.testing.assert_allclose(g["b"], n * mine["b"] / np.linalg.norm(everything), rtol=1e-12)
stacked = {k: np.stack([t[k] for t in trees]) for k in mine}
on_axis = vmap(grad(lambda t: distributed.global_norm(t, "dp")), axis_name="dp")(stacked)
np.testing.assert_allclose(g["w"], on_axis["w"][me], rtol=1e-12)

# broadcast_one_to_all from the default source (process 0) and from the last process.
np.testing.assert_array_equal(distributed.broadcast_one_to_all(mine)["w"], trees[0]["w"])
last = distributed.broadcast_one_to_all(mine, is_source=me == n - 1)
np.testing.assert_array_equal(last["b"], trees[-1]["b"])

# shard: process i gets block i.
data = np.arange(6 * n).reshape(3 * n, 2)
np.testing.assert_array_equal(distributed.shard(data), data[3 * me:3 * me + 3])

# A checkpoint written by process 0 is read back by everyone; a different structure is an error.
path = distributed.broadcast_one_to_all(
    {"p": np.array(os.path.join(tempfile.mkdtemp(), "ckpt.npz"))})["p"].item()
assert distributed.restore_checkpoint(path, mine) is None
distributed.save_checkpoint(path, trees[0], step=3)
back, step = distributed.restore_checkpoint(path, mine)
assert step == 3 and np.array_equal(back["w"], trees[0]["w"])
try:
    distributed.restore_checkpoint(path, {"w": np.zeros((3, 2))})
except ValueError as e:
    assert "restore_checkpoint" in str(e), e
else:
    raise AssertionError("a checkpoint of another structure was accepted")

if me == 0:
    print(f"helpers OK on {n} processes")
sys.stdout.flush()

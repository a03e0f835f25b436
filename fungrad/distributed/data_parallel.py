"""What a data-parallel training loop needs beyond ``pmap``: shards of the data, parameters that
start equal everywhere, a global-norm clip across processes, and checkpoints that resume a run.

>>> import numpy as np
>>> shard(np.arange(6), index=1, count=3)
array([2, 3])
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

import fungrad.numpy as fnp
from fungrad.distributed.runtime import communicator, process_count, process_index
from fungrad.lax.collectives import psum
from fungrad.tree_util import tree_flatten, tree_leaves, tree_map, tree_structure, tree_unflatten


def shard(tree: Any, index: int | None = None, count: int | None = None) -> Any:
    """Block ``index`` of ``count`` equal, contiguous blocks of the leading axis of every leaf
    (default: this process's block of ``process_count()``).

    The blocks must be equal so that the mean of the per-process means is the full-batch mean:
    a leading axis that ``count`` does not divide is an error.

    >>> shard({"x": np.arange(8).reshape(4, 2)}, index=0, count=2)
    {'x': array([[0, 1],
           [2, 3]])}
    """
    index = process_index() if index is None else index
    count = process_count() if count is None else count

    def block(x: Any) -> Any:
        n = np.shape(x)[0]
        if n % count:
            raise ValueError(f"shard: a leading axis of {n} does not split into {count} equal "
                             f"blocks; drop or pad the data to a multiple of {count}")
        size = n // count
        return x[index * size:(index + 1) * size]
    return tree_map(block, tree)


def broadcast_one_to_all(tree: Any, is_source: bool | None = None) -> Any:
    """Every process gets the source's ``tree`` (default source: process 0), e.g. to start from
    the same parameters. The tree structures must agree.

    >>> broadcast_one_to_all({"w": np.ones(2)})
    {'w': array([1., 1.])}
    """
    comm = communicator()
    source = comm.Get_rank() == 0 if is_source is None else is_source
    roots = comm.allgather(bool(source))
    if roots.count(True) != 1:
        raise ValueError(f"broadcast_one_to_all: exactly one process must be the source, got "
                         f"{roots.count(True)}")
    leaves, treedef = tree_flatten(tree)
    sent = comm.bcast((str(treedef), [np.asarray(x) for x in leaves]) if source else None,
                      root=roots.index(True))
    if sent[0] != str(treedef):
        raise ValueError(f"broadcast_one_to_all: this process's tree {treedef} differs from the "
                         f"source's {sent[0]}")
    return tree_unflatten(treedef, sent[1])


def global_norm(tree: Any, axis_name: Any = None) -> Any:
    """The 2-norm of all leaves together; with ``axis_name``, of every member's tree together
    (each process holds a part, as before a ``psum``).

    >>> float(global_norm({"a": np.array([3.0]), "b": np.array([4.0])}))
    5.0
    """
    total = sum(fnp.sum(fnp.real(x * fnp.conj(x))) for x in tree_leaves(tree))
    return fnp.sqrt(total if axis_name is None else psum(total, axis_name))


def global_norm_clip(tree: Any, max_norm: float, axis_name: Any = None) -> Any:
    """``tree`` scaled so its global norm (``global_norm(tree, axis_name)``) is at most
    ``max_norm``; unchanged when it already is (optax's ``clip_by_global_norm`` rule).

    >>> global_norm_clip({"a": np.array([3.0]), "b": np.array([4.0])}, 1.0)
    {'a': array([0.6]), 'b': array([0.8])}
    """
    norm = global_norm(tree, axis_name)
    scale = fnp.where(norm < max_norm, 1.0, max_norm / fnp.maximum(norm, max_norm))
    return tree_map(lambda x: x * scale.astype(fnp.result_type(x)), tree)


def save_checkpoint(path: str, tree: Any, step: int) -> None:
    """Write ``tree`` (params, optimizer state...) and ``step`` to the ``.npz`` file ``path``
    from process 0, atomically (a crash never leaves half a file); every process waits for it.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
    >>> save_checkpoint(path, {"w": np.ones(2)}, step=7)
    >>> restore_checkpoint(path, {"w": np.zeros(2)})
    ({'w': array([1., 1.])}, 7)
    """
    comm = communicator()
    if comm.Get_rank() == 0:
        leaves, treedef = tree_flatten(tree)
        arrays: dict[str, Any] = {f"leaf_{i}": np.asarray(x) for i, x in enumerate(leaves)}
        arrays.update(__step__=np.int64(step), __tree__=np.array(str(treedef)))
        tmp = f"{path}.tmp{os.getpid()}.npz"
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    comm.Barrier()


def restore_checkpoint(path: str, like: Any) -> tuple[Any, int] | None:
    """``(tree, step)`` saved by ``save_checkpoint`` at ``path``, or None if there is none yet.
    Process 0 reads it and sends it to all; ``like`` is a tree of the same structure and shapes.
    """
    comm = communicator()
    loaded = None
    if comm.Get_rank() == 0 and os.path.exists(path):
        with np.load(path) as f:
            loaded = (str(f["__tree__"]), int(f["__step__"]),
                      [f[f"leaf_{i}"] for i in range(len(f.files) - 2)])
    loaded = comm.bcast(loaded, root=0)
    if loaded is None:
        return None
    tree_text, step, leaves = loaded
    treedef = tree_structure(like)
    want = [np.shape(x) for x in tree_leaves(like)]
    if tree_text != str(treedef) or want != [x.shape for x in leaves]:
        raise ValueError(f"restore_checkpoint: {path} holds {tree_text} with shapes "
                         f"{[x.shape for x in leaves]}, not {treedef} with shapes {want}")
    return tree_unflatten(treedef, leaves), step

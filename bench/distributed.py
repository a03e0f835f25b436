"""Data-parallel benchmarks over MPI (fungrad.distributed); see bench/README.md, "Distributed".

    python bench/distributed.py                 # all three, about two minutes
    python bench/distributed.py --only scaling  # or: collective, weak

The driver launches ``mpiexec -n N python bench/distributed.py --worker CASE`` with one BLAS thread per
process. Within one launch, the compared variants run in alternating blocks, and the figures are medians
over blocks, so a load that changes during the run hits both sides alike.

- scaling: the training step (jit of pmap of value_and_grad, pmean of the gradients, SGD) of the
  784-256-256-10 MLP at a global batch of 512, on 1 process (the other waits asleep) and on 2 processes
  (256 examples each), alternating; throughput ratio 2 vs 1. A third variant, every process stepping on
  its shard at the same time with no exchange, measures the machine's ceiling for that ratio (what
  running two processes at once costs each of them: shared caches and memory bandwidth).
- collective: the 6 gradient buffers of that MLP, the same C-ordered arrays for every variant, on 2
  processes: the baseline is a bare mpi4py ``Allreduce`` per buffer into outputs allocated once (a sum
  only: no division, no allocation); beside it a mean by hand (fresh outputs, ``/= n``), the floor (one
  in-place Allreduce of one prepacked buffer), and ``lax.pmean`` under pmap, eager and jit (the target),
  without the shape check, and on the Fortran-ordered gradients ``grad`` returns.
- weak: 64 examples per process at 1, 2, 4 and 8 processes (oversubscribed on 2 cores: the times only say
  that it runs), each checking its data-parallel gradients against one process on the whole batch.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

SIZES, BATCH, BLOCKS, STEPS = (784, 256, 256, 10), 512, 9, 10


def mlp(sizes, batch, seed=0):
    rng = np.random.default_rng(seed)
    params = [(rng.standard_normal((m, n)) / np.sqrt(m), 0.1 * rng.standard_normal(n))
              for m, n in zip(sizes[:-1], sizes[1:])]
    x = rng.standard_normal((batch, sizes[0]))
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], size=batch)]
    return params, x, y


def loss(params, x, y):
    import fungrad.numpy as fnp
    from fungrad import nn
    h = x
    for w, b in params[:-1]:
        h = fnp.tanh(h @ w + b)
    w, b = params[-1]
    return -fnp.mean(fnp.sum(y * nn.log_softmax(h @ w + b, axis=-1), axis=-1))


def make_step(axis_name):
    import fungrad
    from fungrad import lax
    from fungrad.tree_util import tree_map

    def step(params, x, y):
        value, grads = fungrad.value_and_grad(loss)(params, x, y)
        if axis_name:
            grads = lax.pmean(grads, axis_name)
        return tree_map(lambda p, g: p - 0.1 * g, params, grads), value
    return step


def timed_block(fn, comm, steps=STEPS):
    """Seconds per call of ``fn`` over ``steps`` calls, the processes of ``comm`` starting together:
    (wall time, the largest CPU time of any process). MPI's waits busy-poll, so CPU time counts
    waiting for a partner as work, but not the time a process is descheduled by the load. One
    call before the clock starts warms what the other variants' blocks left cold (caches, the
    allocator's free lists, a process that slept): the steady state a training loop runs in."""
    fn()
    comm.Barrier()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return wall / steps, comm.allreduce(cpu, op=max_op()) / steps


def max_op():
    from mpi4py import MPI
    return MPI.MAX


def idle_until_released(comm):
    """Wait for rank 0's message without spinning a core (MPI's own waits busy-poll)."""
    while not comm.Iprobe(source=0, tag=5):
        time.sleep(0.0005)
    comm.recv(source=0, tag=5)


def medians(blocks):
    return [statistics.median(b[k] for b in blocks) for k in (0, 1)]


def worker_scaling(comm):
    import fungrad
    from fungrad import distributed
    me, n = comm.Get_rank(), comm.Get_size()
    params, x, y = mlp(SIZES, BATCH)
    alone = fungrad.jit(make_step(None))
    parallel = fungrad.jit(distributed.pmap(make_step("dp"), axis_name="dp"))
    xs, ys = distributed.shard((x, y))
    check = parallel(params, xs, ys)[0]
    if me == 0:
        ref = alone(params, x, y)[0]
        err = max(float(np.max(np.abs(a - b))) for a, b in zip(
            fungrad.tree_util.tree_leaves(check), fungrad.tree_util.tree_leaves(ref)))
        print(f"check: max |params difference| 1 vs {n} processes: {err:.2g}")
    alone(params, xs, ys)
    times = {1: [], n: [], "apart": []}
    for _ in range(BLOCKS):
        if me == 0:
            times[1].append(timed_block(lambda: alone(params, x, y), comm.Split(0, 0)))
            for r in range(1, n):
                comm.send(None, dest=r, tag=5)
        else:
            comm.Split(1, 0)
            idle_until_released(comm)
        times[n].append(timed_block(lambda: parallel(params, xs, ys), comm))
        # The ceiling: every process steps on its shard at once, exchanging nothing.
        times["apart"].append(timed_block(lambda: alone(params, xs, ys), comm))
    if me == 0:
        (t1, c1), (tn, cn) = medians(times[1]), medians(times[n])
        walls = {k: [w for w, _ in v] for k, v in times.items()}
        print(f"step, 1 process, batch {BATCH}: median {t1 * 1e3:.2f} ms, CPU {c1 * 1e3:.2f} ms "
              f"(blocks {min(walls[1]) * 1e3:.2f}-{max(walls[1]) * 1e3:.2f})")
        print(f"step, {n} processes, {BATCH // n} each: median {tn * 1e3:.2f} ms, CPU {cn * 1e3:.2f} ms "
              f"(blocks {min(walls[n]) * 1e3:.2f}-{max(walls[n]) * 1e3:.2f})")
        print(f"TARGET strong scaling, throughput {n} vs 1 processes (at least 1.7x): "
              f"{t1 / tn:.2f}x by wall time (best blocks {min(walls[1]) / min(walls[n]):.2f}x), "
              f"{c1 / cn:.2f}x by CPU time")
        ta, _ = medians(times["apart"])
        print(f"step, {n} processes, {BATCH // n} each, at once but exchanging nothing: median "
              f"{ta * 1e3:.2f} ms: this machine's ceiling for the throughput ratio is "
              f"{t1 / ta:.2f}x; the exchange (pmean) adds {(tn - ta) * 1e3:.2f} ms, and the "
              f"data-parallel step reaches {ta / tn:.0%} of the ceiling")
        small = fungrad.jit(make_step(None))
        p8, x8, y8 = mlp(SIZES, 8)
        t8 = statistics.median(timed_block(lambda: small(p8, x8, y8), comm.Split(0, 0))[0]
                               for _ in range(5))
        print(f"step, 1 process, batch 8: median {t8 * 1e3:.2f} ms")
    elif me:
        for _ in range(5):
            comm.Split(1, 0)


def worker_collective(comm):
    import fungrad
    from fungrad import distributed, lax
    from fungrad.tree_util import tree_leaves
    from mpi4py import MPI
    params, x, y = mlp(SIZES, BATCH, seed=comm.Get_rank())
    as_returned = tree_leaves(fungrad.grad(loss)(params, x, y))   # weights Fortran-ordered
    leaves = [np.ascontiguousarray(g) for g in as_returned]
    outs = [np.empty_like(g) for g in leaves]
    packed = np.concatenate([g.ravel() for g in leaves])
    n = comm.Get_size()
    mean = distributed.pmap(lambda g: lax.pmean(g, "dp"), axis_name="dp")
    mean_jit = fungrad.jit(mean)
    unchecked = fungrad.jit(distributed.pmap(lambda g: lax.pmean(g, "dp"), axis_name="dp",
                                             check_shapes=False))

    def bare():      # the baseline: the same buffers, summed into preallocated outputs
        for g, o in zip(leaves, outs):
            comm.Allreduce(g, o)

    def by_hand():   # a mean as a user writes it: fresh outputs, divided by n
        fresh = [np.empty_like(g) for g in leaves]
        for g, o in zip(leaves, fresh):
            comm.Allreduce(g, o)
            o /= n
        return fresh

    def floor():     # one message, in place, of data already packed: no pytree comes so
        comm.Allreduce(MPI.IN_PLACE, packed)

    bare()
    for a, b in zip(mean(leaves), outs):
        np.testing.assert_allclose(a, b / n, rtol=1e-14)
    for a, b in zip(mean_jit(as_returned), outs):
        np.testing.assert_allclose(a, b / n, rtol=1e-14)
    variants = {"bare Allreduce per buffer": bare, "by hand: fresh out, / n": by_hand,
                "one Allreduce, prepacked": floor,
                "pmean (pmap, eager)": lambda: mean(leaves),
                "pmean (jit of pmap)": lambda: mean_jit(leaves),
                "pmean, jit, no shape check": lambda: unchecked(leaves),
                "pmean, jit, Fortran-ordered": lambda: mean_jit(as_returned)}
    times = {k: [] for k in variants}
    for _ in range(BLOCKS * 2):
        for name, fn in variants.items():
            times[name].append(timed_block(fn, comm, 20))
    if comm.Get_rank() == 0:
        nbytes = sum(g.nbytes for g in leaves)
        med = {k: medians(ts) for k, ts in times.items()}
        (base, base_cpu), base_best = med["bare Allreduce per buffer"], min(
            w for w, _ in times["bare Allreduce per buffer"])
        print(f"gradients: {len(leaves)} buffers, {nbytes / 1e6:.2f} MB, {n} processes")
        for name, (t, c) in med.items():
            best = min(w for w, _ in times[name])
            print(f"{name:28s} median {t * 1e6:8.1f} us  ratio {t / base:.3f}   "
                  f"best block ratio {best / base_best:.3f}   CPU ratio {c / base_cpu:.3f}")
        ratio = {k: med[k][0] / base for k in ("pmean (jit of pmap)", "pmean (pmap, eager)")}
        cpu = {k: med[k][1] / base_cpu for k in ratio}
        print(f"TARGET pmean against a bare Allreduce of the same buffers (at most 1.1x): "
              f"{ratio['pmean (jit of pmap)']:.2f}x under jit, {ratio['pmean (pmap, eager)']:.2f}x "
              f"eager (by CPU time {cpu['pmean (jit of pmap)']:.2f}x, {cpu['pmean (pmap, eager)']:.2f}x)")


def worker_weak(comm):
    import fungrad
    from fungrad import distributed
    from fungrad.tree_util import tree_leaves
    me, n = comm.Get_rank(), comm.Get_size()
    params, x, y = mlp(SIZES, 64 * n)
    parallel = fungrad.jit(distributed.pmap(make_step("dp"), axis_name="dp"))
    xs, ys = distributed.shard((x, y))
    out = parallel(params, xs, ys)[0]
    ts = [timed_block(lambda: parallel(params, xs, ys), comm, 5)[0] for _ in range(3)]
    if me == 0:
        ref = fungrad.jit(make_step(None))(params, x, y)[0]
        err = max(float(np.max(np.abs(a - b))) for a, b in zip(tree_leaves(out), tree_leaves(ref)))
        print(f"weak {n} processes x 64: max |difference| from 1 process on {64 * n}: {err:.2g}; "
              f"step {statistics.median(ts) * 1e3:.1f} ms (oversubscribed: not a timing)")


def launch(n, case):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=ROOT)
    out = subprocess.run(["mpiexec", "-n", str(n), sys.executable, os.path.abspath(__file__),
                          "--worker", case], env=env, capture_output=True, text=True, timeout=1800)
    print(out.stdout, end="")
    if out.returncode:
        print(out.stderr)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker")
    parser.add_argument("--only", default="scaling,collective,weak")
    args = parser.parse_args()
    if args.worker:
        from fungrad import distributed
        distributed.initialize()
        globals()[f"worker_{args.worker}"](distributed.runtime.communicator())
        return
    with open("/proc/loadavg") as f:
        print(f"load average before: {f.read().split()[:3]}, cores: {os.cpu_count()}")
    for case in args.only.split(","):
        print(f"== {case}")
        if case == "weak":
            for n in (1, 2, 4, 8):
                launch(n, "weak")
        else:
            launch(2, case)


if __name__ == "__main__":
    main()

"""Trace state is per thread and per asyncio task; jit's cache is safe under concurrent calls.

Each test runs many threads with a tiny switch interval, so that the interpreter switches
threads in the middle of tracing; every result is checked against NumPy's closed form.
"""
import asyncio
import sys
import threading

import numpy as np
import pytest

import fungrad
import fungrad.numpy as fnp
from fungrad import core

THREADS = 8
ROUNDS = 6


@pytest.fixture(autouse=True)
def tiny_switch_interval():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def loss(w, x):
    return fnp.sum(fnp.tanh(x @ w) ** 2)


def loss_grad_closed_form(w, x):
    t = np.tanh(x @ w)
    return x.T @ (2 * t * (1 - t ** 2))


def run_threads(work):
    """Run ``work(i)`` in THREADS threads started together; re-raise the first failure."""
    errors = []
    barrier = threading.Barrier(THREADS)

    def target(i):
        try:
            barrier.wait()
            for r in range(ROUNDS):
                work(i, r)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    assert core.current_trace() is core.EVAL_TRACE


def data(i, r):
    rng = np.random.default_rng(100 * i + r)
    return rng.normal(size=(3 + i % 3, 2)), rng.normal(size=(4, 3 + i % 3))


def test_eager_grad_in_many_threads():
    def work(i, r):
        w, x = data(i, r)
        g = fungrad.grad(loss)(w, x)
        assert type(g) is fungrad.Array
        np.testing.assert_allclose(g, loss_grad_closed_form(w, x), rtol=1e-12)
    run_threads(work)


def test_jit_first_calls_in_many_threads():
    # One jitted function, first called from every thread at once with new shapes.
    f = fungrad.jit(fungrad.value_and_grad(loss))

    def work(i, r):
        w, x = data(i, r)
        v, g = f(w, x)
        assert type(g) is fungrad.Array and type(v) is fungrad.Array
        np.testing.assert_allclose(v, np.sum(np.tanh(x @ w) ** 2), rtol=1e-12)
        np.testing.assert_allclose(g, loss_grad_closed_form(w, x), rtol=1e-12)
    run_threads(work)
    info = f.cache_info()
    assert info.size == 3 and info.hits + info.misses == THREADS * ROUNDS


def test_vmap_and_make_jaxpr_in_many_threads():
    per_example = fungrad.vmap(fungrad.grad(loss), in_axes=(None, 0))

    def work(i, r):
        w, x = data(i, r)
        g = per_example(w, x[:, None, :])
        want = np.stack([loss_grad_closed_form(w, row[None]) for row in x])
        np.testing.assert_allclose(g, want, rtol=1e-12)
        jaxpr = fungrad.make_jaxpr(loss)(w, x)
        assert [e.primitive.name for e in jaxpr.eqns][-1] == "reduce_sum"
    run_threads(work)


def test_asyncio_tasks_and_worker_threads():
    # Tasks run fungrad in worker threads that inherit the task's context (to_thread copies
    # it) while the event loop's own thread differentiates too.
    async def one(i):
        w, x = data(i, 0)
        g_thread = await asyncio.to_thread(fungrad.grad(loss), w, x)
        await asyncio.sleep(0)
        g_here = fungrad.grad(loss)(w, x)
        np.testing.assert_allclose(g_thread, loss_grad_closed_form(w, x), rtol=1e-12)
        np.testing.assert_allclose(g_here, g_thread, rtol=1e-12)
        return core.current_trace()

    async def main():
        return await asyncio.gather(*[one(i) for i in range(THREADS)])

    assert all(t is core.EVAL_TRACE for t in asyncio.run(main()))


def test_trace_state_does_not_leak_between_threads():
    # While one thread sits inside a transform, another sees the base trace.
    inside, release = threading.Event(), threading.Event()
    seen = []

    def slow(x):
        inside.set()
        release.wait(5)
        return fnp.sin(x)

    t = threading.Thread(target=lambda: seen.append(fungrad.grad(slow)(0.5)))
    t.start()
    assert inside.wait(5)
    assert core.current_trace() is core.EVAL_TRACE
    assert type(fungrad.jit(fnp.cos)(np.zeros(2))) is fungrad.Array
    release.set()
    t.join()
    np.testing.assert_allclose(seen[0], np.cos(0.5))

"""fungrad.distributed under ``mpiexec -n 2`` and ``-n 3``: every program ends within a timeout
(faults included). Skipped when mpi4py or mpiexec is missing."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = os.path.join(ROOT, "tests", "mpi_programs")
MPIEXEC = shutil.which("mpiexec")


def have_mpi4py() -> bool:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


needs_mpi = pytest.mark.skipif(MPIEXEC is None or not have_mpi4py(),
                               reason="needs mpi4py and mpiexec (pip install -e '.[mpi]')")


def run_mpi(n: int, script: str, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """``mpiexec -n n python script args`` from the repository root, one BLAS thread each."""
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return subprocess.run([MPIEXEC or "mpiexec", "-n", str(n), sys.executable, script, *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_collectives_across_processes_equal_named_vmap(n: int) -> None:
    out = run_mpi(n, os.path.join(PROGRAMS, "collectives.py"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"collectives OK on {n} processes" in out.stdout


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_data_parallel_helpers_across_processes(n: int) -> None:
    out = run_mpi(n, os.path.join(PROGRAMS, "helpers.py"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"helpers OK on {n} processes" in out.stdout


def test_shard_needs_equal_blocks() -> None:
    from fungrad.distributed import shard
    np.testing.assert_array_equal(shard(np.arange(6), index=2, count=3), [4, 5])
    with pytest.raises(ValueError, match="does not split into 4 equal blocks"):
        shard(np.arange(6), index=0, count=4)


@needs_mpi
@pytest.mark.parametrize("case, message", [
    ("exception", r"RuntimeError: boom on process 2"),
    ("shape", r"process 0 has psum of f64\[3\], process 1 has psum of f64\[4\], "
              r"process 2 has psum of f64\[5\]"),
    ("dtype", r"process 0 has psum of f64\[3\], process 1 has psum of f32\[3\]"),
])
def test_faults_end_every_process_with_the_error(case: str, message: str) -> None:
    out = run_mpi(3, os.path.join(PROGRAMS, "faults.py"), case, timeout=120)
    assert out.returncode != 0
    assert re.search(message, out.stderr), out.stderr
    assert "aborting all processes" in out.stderr
    assert "finished without an error" not in out.stdout


@needs_mpi
def test_a_mean_of_a_pytree_is_one_collective_called_by_the_generated_code() -> None:
    import fungrad
    from fungrad import distributed, lax
    grads = {"w": np.ones((3, 2)), "b": np.arange(2.0), "n": np.int32(4)}
    mean = fungrad.jit(distributed.pmap(lambda g: lax.pmean(g, "dp"), axis_name="dp"))
    jaxpr = fungrad.make_jaxpr(distributed.pmap(lambda g: lax.pmean(g, "dp"), axis_name="dp"))(grads)
    assert [e.primitive.name for e in jaxpr.eqns] == ["convert_element_type", "pmean"]
    source = mean.lower(grads).source
    assert ".allreduce([" in source and "partial" not in source, source
    out = mean(grads)
    assert out["n"].dtype == np.float64 and float(out["n"]) == 4.0
    np.testing.assert_array_equal(out["w"], grads["w"])


def test_clear_error_without_mpi4py() -> None:
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "import fungrad.distributed as d\n"
            "try:\n    d.initialize()\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
    assert 'pip install -e ".[mpi]"' in out.stdout, out.stdout + out.stderr


EXAMPLE = os.path.join(ROOT, "examples", "data_parallel.py")


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_data_parallel_example_equals_single_process_training(n: int) -> None:
    out = run_mpi(n, EXAMPLE, "--steps", "40", "--compare")
    assert out.returncode == 0, out.stdout + out.stderr
    diff = float(re.search(r"single-process full-batch training: (\S+)", out.stdout).group(1))
    assert diff < 1e-12, out.stdout
    assert float(re.search(r"test accuracy after 40 steps: (\S+)", out.stdout).group(1)) > 0.8


@needs_mpi
def test_checkpoint_restart_resumes_the_same_run(tmp_path: Any) -> None:
    straight, resumed, ckpt = (str(tmp_path / f) for f in ("a.npz", "b.npz", "ckpt.npz"))
    assert run_mpi(2, EXAMPLE, "--steps", "20", "--out", straight).returncode == 0
    first = run_mpi(2, EXAMPLE, "--steps", "10", "--checkpoint", ckpt, "--save-every", "5")
    assert first.returncode == 0 and "resumed" not in first.stdout, first.stdout + first.stderr
    second = run_mpi(2, EXAMPLE, "--steps", "20", "--checkpoint", ckpt, "--out", resumed)
    assert "resumed from" in second.stdout and "at step 10" in second.stdout, second.stdout
    with np.load(straight) as a, np.load(resumed) as b:
        assert a.files == b.files
        for k in a.files:
            np.testing.assert_array_equal(a[k], b[k])


@needs_mpi
def test_sharded_ggn_lanczos_equals_one_process() -> None:
    out = run_mpi(3, os.path.join(ROOT, "examples", "sharded_curvature.py"))
    assert out.returncode == 0, out.stdout + out.stderr
    diff = float(re.search(r"max relative difference: (\S+)", out.stdout).group(1))
    assert diff < 1e-9, out.stdout

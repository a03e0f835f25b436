"""The benchmark's hand-written baselines are verified (closed forms, finite differences), so a
wrong baseline cannot make fungrad look fast: ``bench/run.py --check`` runs here as in CI."""
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_bench_baselines_check():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--check"], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "all passed: 0 failure(s)" in r.stdout

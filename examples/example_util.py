"""What every example shares: the command line (``--fast``, ``--out``), the bundled digits, saving plots.

Plots go to ``--out`` (default: a fresh temporary directory, printed), never into the repository.
matplotlib and tqdm are optional: without them the examples still run and print their results.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Any, Callable

import numpy as np

import fungrad.numpy as fnp

DIGITS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "digits.npz")


def parse_args(doc: str | None, argv: list[str] | None = None) -> argparse.Namespace:
    """``--fast`` (the small run the tests and the docs build use) and ``--out DIR`` for plots."""
    return make_parser(doc).parse_args(argv)


def make_parser(doc: str | None) -> argparse.ArgumentParser:
    """The shared command line, for examples that add options of their own."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fast", action="store_true", help="a small, quick run (used by the tests)")
    parser.add_argument("--out", default=None, help="folder for plots (default: a temporary folder)")
    return parser


def output_dir(out: str | None, name: str) -> str:
    """``out``, created if needed, or a new temporary folder named after the example."""
    if out is None:
        return tempfile.mkdtemp(prefix=f"fungrad_{name}_")
    os.makedirs(out, exist_ok=True)
    return out


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend, or None when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        print("(matplotlib is not installed: no plots; pip install matplotlib)")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save(fig: Any, out: str, filename: str) -> None:
    """Write ``fig`` to ``out/filename`` and say where."""
    path = os.path.join(out, filename)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    fig.clf()
    print(f"plot: {path}")


def init_mlp(rng: np.random.Generator, sizes: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """An MLP's parameters: a (W, b) pair per layer, W scaled by 1/sqrt(fan-in), b zero."""
    return [(rng.standard_normal((m, n)) / np.sqrt(m), np.zeros(n)) for m, n in zip(sizes[:-1], sizes[1:])]


def mlp_logits(params: Any, x: Any) -> Any:
    """The MLP's outputs: tanh hidden layers, a linear last layer. Traceable (uses fungrad.numpy)."""
    for w, b in params[:-1]:
        x = fnp.tanh(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def load_digits(n_train: int = 1400, seed: int = 0) -> tuple[np.ndarray, ...]:
    """The 1,797 bundled 8x8 digits as (x_train, y_train, x_test, y_test): pixels in [0, 1], integer labels."""
    data = np.load(DIGITS)
    x = data["images"].reshape(len(data["images"]), -1).astype(np.float64) / 16.0
    labels = data["target"].astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    train, test = order[:n_train], order[n_train:]
    return x[train], labels[train], x[test], labels[test]


def median_seconds(fn: Callable[..., Any], args: tuple[Any, ...], repeats: int) -> float:
    """The median wall time of ``fn(*args)`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return float(np.median(times))

"""``optim.curve_fit`` on NIST's certified nonlinear regression problems, with error bars.

NIST's Statistical Reference Datasets publish, for each problem, the data, a model, starting
values and *certified* parameters with their standard deviations, computed in 128-bit precision.
A least-squares solver is judged by how many digits of the certified values it reproduces (the
log relative error, LRE, capped at 11; 4 or more counts as solved).

``curve_fit(f, x, y, p0)`` fits ``f(x, *params)`` by Levenberg-Marquardt with the Jacobian from
fungrad's autodiff, and returns the parameters and their covariance; the standard errors are the
square roots of its diagonal. They should match NIST's standard deviations too.

Run: python examples/curve_fit.py [--fast] [--out DIR]
"""
from __future__ import annotations

import os
import re
import time

import numpy as np

import fungrad.numpy as fnp
from fungrad import optim

from example_util import output_dir, parse_args, pyplot, save

NIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests", "data", "nist")

# Each model as its NIST file states it, written as f(x, b1, b2, ...) for curve_fit.
MODELS = {
    "Misra1a": lambda x, b1, b2: b1 * (1 - fnp.exp(-b2 * x)),
    "Gauss3": lambda x, b1, b2, b3, b4, b5, b6, b7, b8: (
        b1 * fnp.exp(-b2 * x) + b3 * fnp.exp(-(x - b4) ** 2 / b5 ** 2)
        + b6 * fnp.exp(-(x - b7) ** 2 / b8 ** 2)),
    "Thurber": lambda x, b1, b2, b3, b4, b5, b6, b7: (
        (b1 + b2 * x + b3 * x ** 2 + b4 * x ** 3) / (1 + b5 * x + b6 * x ** 2 + b7 * x ** 3)),
    "MGH09": lambda x, b1, b2, b3, b4: b1 * (x ** 2 + x * b2) / (x ** 2 + x * b3 + b4),
}
DIFFICULTY = {"Misra1a": "lower", "Gauss3": "average", "Thurber": "higher", "MGH09": "higher"}


def read_nist(name):
    """(x, y, start 1, certified values, certified standard deviations) from a NIST StRD file."""
    with open(os.path.join(NIST, f"{name}.dat")) as f:
        text = f.read()
    rows = re.findall(r"^\s*b\d+\s*=\s*(\S+)\s+\S+\s+(\S+)\s+(\S+)", text, re.M)
    start, certified, std = np.array(rows, dtype=float).T
    data = np.loadtxt(text.split("Data:")[-1].splitlines()[1:])   # after the last "Data:" line
    return data[:, 1], data[:, 0], start, certified, std


def log_relative_error(estimate, certified):
    with np.errstate(divide="ignore"):
        return np.minimum(-np.log10(np.abs(estimate - certified) / np.abs(certified)), 11.0)


def fit(name):
    x, y, start, certified, std = read_nist(name)
    t0 = time.perf_counter()
    popt, pcov, result = optim.curve_fit(MODELS[name], x, y, p0=start, full_output=True)
    seconds = time.perf_counter() - t0
    errors = np.sqrt(np.diag(pcov))
    print(f"\n{name} ({DIFFICULTY[name]} difficulty, {len(x)} points, from NIST's first start): "
          f"{result.nfev} residual evaluations, {seconds * 1e3:.0f} ms")
    print("       fitted              std error   |  certified           certified std   LRE  LRE(std)")
    for i, (p, e, c, s) in enumerate(zip(popt, errors, certified, std)):
        print(f"  b{i + 1}  {p:18.10e} {e:11.4e}   | {c:18.10e} {s:11.4e}   "
              f"{log_relative_error(p, c):4.1f}  {log_relative_error(e, s):4.1f}")
    return {"name": name, "x": x, "y": y, "popt": popt, "errors": errors, "certified": certified,
            "std": std, "min_lre": float(np.min(log_relative_error(popt, certified))),
            "seconds": seconds}


def plot(fits, out, plt):
    fig, axes = plt.subplots(2, len(fits), figsize=(4 * len(fits), 5.5),
                             gridspec_kw={"height_ratios": [3, 1]}, squeeze=False)
    for k, f in enumerate(fits):
        order = np.argsort(f["x"])
        x, y = f["x"][order], f["y"][order]
        fitted = np.asarray(MODELS[f["name"]](x, *f["popt"]))
        grid = np.linspace(x.min(), x.max(), 400)
        top, bottom = axes[0, k], axes[1, k]
        top.plot(x, y, ".", ms=4, label="NIST data")
        top.plot(grid, MODELS[f["name"]](grid, *f["popt"]), "-", label="curve_fit")
        top.set_title(f"{f['name']} (min LRE {f['min_lre']:.1f})")
        top.legend(fontsize=8)
        bottom.axhline(0.0, color="gray", lw=0.8)
        bottom.plot(x, y - fitted, ".", ms=4, color="C2")
        bottom.set(xlabel="x", ylabel="residual")
    fig.tight_layout()
    save(fig, out, "curve_fit.png")


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    args = parse_args(__doc__, argv)
    names = ["Misra1a", "Thurber"] if args.fast else list(MODELS)
    fits = [fit(name) for name in names]
    print("\nLRE: digits of NIST's certified value reproduced (11 = all that are certified).")
    plt = pyplot()
    if plt is not None:
        plot(fits, output_dir(args.out, "curve_fit"), plt)
    return fits


if __name__ == "__main__":
    main()

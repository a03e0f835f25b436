"""The NIST StRD nonlinear regression problems in ``tests/data/nist/``: parser and models.

Each model is written from the formula in its file's header (``fungrad.numpy``); the parser reads
the starts, certified values and standard deviations, the certified residual sum of squares and the
observations by pattern (see ``tests/data/nist/README.md``).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

import fungrad.numpy as fnp

DATA = os.path.join(os.path.dirname(__file__), "data", "nist")


def _exp3(xp: Any, b: Any, x: Any) -> Any:
    return b[0] * xp.exp(-b[1] * x) + b[2] * xp.exp(-b[3] * x) + b[4] * xp.exp(-b[5] * x)


def _gauss(xp: Any, b: Any, x: Any) -> Any:
    return (b[0] * xp.exp(-b[1] * x) + b[2] * xp.exp(-(x - b[3]) ** 2 / b[4] ** 2)
            + b[5] * xp.exp(-(x - b[6]) ** 2 / b[7] ** 2))


def _chwirut(xp: Any, b: Any, x: Any) -> Any:
    return xp.exp(-b[0] * x) / (b[1] + b[2] * x)


def _enso(xp: Any, b: Any, x: Any) -> Any:
    w = 2.0 * np.pi * x
    return (b[0] + b[1] * xp.cos(w / 12.0) + b[2] * xp.sin(w / 12.0)
            + b[4] * xp.cos(w / b[3]) + b[5] * xp.sin(w / b[3])
            + b[7] * xp.cos(w / b[6]) + b[8] * xp.sin(w / b[6]))


def _rational(num: int) -> Callable[[Any, Any, Any], Any]:
    """``(b1 + b2 x + ...) / (1 + b_{num+1} x + ...)`` with ``num`` numerator coefficients."""
    def model(xp: Any, b: Any, x: Any) -> Any:
        top = sum(b[k] * x ** k for k in range(num))
        bottom = 1.0 + sum(b[num + k - 1] * x ** k for k in range(1, b.shape[0] - num + 1))
        return top / bottom
    return model


MODELS: dict[str, Callable[[Any, Any, Any], Any]] = {
    "Misra1a": lambda xp, b, x: b[0] * (1.0 - xp.exp(-b[1] * x)),
    "Chwirut2": _chwirut,
    "Chwirut1": _chwirut,
    "Lanczos3": _exp3,
    "Gauss1": _gauss,
    "Gauss2": _gauss,
    "DanWood": lambda xp, b, x: b[0] * x ** b[1],
    "Misra1b": lambda xp, b, x: b[0] * (1.0 - (1.0 + b[1] * x / 2.0) ** -2.0),
    "Kirby2": _rational(3),
    "Nelson": lambda xp, b, x: b[0] - b[1] * x[:, 0] * xp.exp(-b[2] * x[:, 1]),
    "Lanczos2": _exp3,
    "Gauss3": _gauss,
    "Misra1c": lambda xp, b, x: b[0] * (1.0 - (1.0 + 2.0 * b[1] * x) ** -0.5),
    "ENSO": _enso,
    "MGH09": lambda xp, b, x: b[0] * (x ** 2 + x * b[1]) / (x ** 2 + x * b[2] + b[3]),
    "Thurber": _rational(4),
}

NAMES = list(MODELS)


@dataclass(frozen=True)
class Problem:
    name: str
    starts: tuple[np.ndarray, np.ndarray]
    certified: np.ndarray
    std_dev: np.ndarray
    rss: float
    x: np.ndarray
    y: np.ndarray

    def model(self, b: Any, x: Any, xp: Any = fnp) -> Any:
        return MODELS[self.name](xp, b, x)

    def residual(self, b: Any, x: Any, y: Any, xp: Any = fnp) -> Any:
        return self.model(b, x, xp) - y


def load(name: str) -> Problem:
    with open(os.path.join(DATA, name + ".dat")) as fh:
        lines = fh.read().splitlines()
    params = [line.split("=")[1].split() for line in lines if re.match(r"\s*b\d+\s*=", line)]
    table = np.array(params, dtype=float)
    rss = next(float(line.split()[-1]) for line in lines if line.startswith("Residual Sum of Squares"))
    last_data = max(i for i, line in enumerate(lines) if line.startswith("Data:"))
    data = np.array([line.split() for line in lines[last_data + 1:] if line.strip()], dtype=float)
    y, x = data[:, 0], data[:, 1:]
    if name == "Nelson":
        y = np.log(y)
    else:
        x = x[:, 0]
    return Problem(name, (table[:, 0], table[:, 1]), table[:, 2], table[:, 3], rss, x, y)


def lre(estimate: np.ndarray, certified: np.ndarray) -> np.ndarray:
    """NIST's log relative error per parameter, capped at 11."""
    rel = np.abs(estimate - certified) / np.abs(certified)
    with np.errstate(divide="ignore"):
        return np.minimum(-np.log10(rel), 11.0)
